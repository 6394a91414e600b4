// A StreamingRuntime for the streaming server's tests: exec runs a real host process (under
// script(1) when a tty is asked for, so the process sees a terminal), attach echoes stdin to
// stdout like a container running `cat`, and port-forward goes into a real network namespace
// through forwardInNetns. It records what it saw and which processes are still running.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { forwardInNetns } from '../../src/cri/streaming/netns-forward.js';
import type { StreamingIo, StreamingRuntime, TerminalSize } from '../../src/cri/streaming/runtime.js';

export class ProcessRuntime implements StreamingRuntime {
  readonly resizes: TerminalSize[] = [];
  readonly running = new Set<ChildProcess>();
  readonly sandboxes = new Map<string, string>();
  /** Sessions that have not settled yet (exec, attach, port-forward). */
  active = 0;

  async exec(containerId: string, cmd: string[], io: StreamingIo): Promise<{ exitCode: number }> {
    if (containerId === 'missing') throw new Error(`container "${containerId}" not found`);
    this.active++;
    try {
      const argv = io.tty ? ['script', '-qfec', cmd.map(shellQuote).join(' '), '/dev/null'] : cmd;
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      this.running.add(child);
      const exited = new Promise<number>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (code, signal) => resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15)));
      });
      child.stdin.on('error', () => undefined);
      if (io.stdin) io.stdin.pipe(child.stdin);
      else child.stdin.end();
      if (io.stdout) child.stdout.pipe(io.stdout, { end: false });
      else child.stdout.resume();
      if (io.stderr) child.stderr.pipe(io.stderr, { end: false });
      else child.stderr.resume();
      const onAbort = (): void => void child.kill('SIGKILL');
      io.signal.addEventListener('abort', onAbort);
      if (io.resize) void this.collectResizes(io.resize);
      try {
        return { exitCode: await exited };
      } finally {
        io.signal.removeEventListener('abort', onAbort);
        this.running.delete(child);
      }
    } finally {
      this.active--;
    }
  }

  async attach(containerId: string, io: StreamingIo): Promise<void> {
    if (containerId === 'missing') throw new Error(`container "${containerId}" not found`);
    this.active++;
    try {
      if (io.resize) void this.collectResizes(io.resize);
      if (!io.stdin) return;
      for await (const chunk of io.stdin) {
        if (io.signal.aborted) break;
        io.stdout?.write(chunk);
      }
    } finally {
      this.active--;
    }
  }

  async portForward(podSandboxId: string, port: number, stream: Duplex): Promise<void> {
    const netns = this.sandboxes.get(podSandboxId);
    if (!netns) throw new Error(`sandbox "${podSandboxId}" not found`);
    this.active++;
    try {
      await forwardInNetns(netns, port, stream, { label: podSandboxId });
    } finally {
      this.active--;
    }
  }

  private async collectResizes(sizes: AsyncIterable<TerminalSize>): Promise<void> {
    for await (const size of sizes) this.resizes.push(size);
  }
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
