// The streaming server's runtime side over berth's tasks: exec starts a process in the container
// under its own shim and pipes it to the client (frames split into stdout and stderr, or raw
// bytes with a terminal, resized as the client asks); attach joins the container's own stdio
// through its shim; port-forward connects inside the pod's network namespace.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { precondition } from '../common/errors.js';
import { frameSplitter } from '../supervisor/tasks/output-frames.js';
import type { ContainerService } from './containers.js';
import type { CriContext } from './context.js';
import type { SandboxService } from './sandboxes.js';
import { forwardInNetns } from './streaming/netns-forward.js';
import type { StreamingIo, StreamingRuntime } from './streaming/runtime.js';

/** Pipes an attach connection to the client's streams until the output ends or the client leaves. */
function pump(sock: Socket, io: StreamingIo, closeStdin: () => Promise<unknown>, resize: (w: number, h: number) => Promise<unknown>): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      sock.destroy();
      resolve();
    };
    if (io.tty) sock.on('data', (d: Buffer) => io.stdout?.write(d));
    else {
      const split = frameSplitter((stream, data) => (stream === 'stderr' ? io.stderr : io.stdout)?.write(Buffer.from(data)));
      sock.on('data', split);
    }
    sock.once('close', done);
    sock.once('error', done);
    io.signal.addEventListener('abort', done, { once: true });
    if (io.stdin) {
      io.stdin.on('data', (d: Buffer) => sock.write(d));
      io.stdin.once('end', () => void closeStdin().catch(() => {}));
    }
    if (io.resize) {
      void (async () => {
        try {
          for await (const size of io.resize!) await resize(size.width, size.height).catch(() => {});
        } catch {
          // the client left
        }
      })();
    }
    sock.resume();
  });
}

export class TaskStreamingRuntime implements StreamingRuntime {
  constructor(private readonly ctx: CriContext, private readonly containers: ContainerService, private readonly sandboxes: SandboxService) {}

  private async running(containerId: string): Promise<string> {
    const rec = this.containers.get(containerId);
    if ((await this.containers.view(rec)).state !== 'CONTAINER_RUNNING') throw precondition(`container ${rec.id} is not running`);
    return rec.id;
  }

  async exec(containerId: string, cmd: string[], io: StreamingIo): Promise<{ exitCode: number }> {
    const { ctx } = this;
    const id = await this.running(containerId);
    const tasks = ctx.supervisor.tasks;
    const execId = randomBytes(8).toString('hex');
    await tasks.exec(ctx.ns, id, execId, this.containers.execProcess(id, cmd, io.tty), { terminal: io.tty, stdin: !!io.stdin, holdOutputMs: 30_000 });
    try {
      const streams: Array<'stdin' | 'stdout' | 'stderr'> = [...(io.stdin ? ['stdin' as const] : []), 'stdout', ...(io.tty ? [] : ['stderr' as const])];
      const sock = await tasks.attach(ctx.ns, id, streams, execId);
      const shim = tasks.shim(ctx.ns, id, execId);
      const exited = tasks.wait(ctx.ns, id, execId);
      await pump(sock, io, () => shim.closeStdin(), (w, h) => shim.resize(h, w));
      if (io.signal.aborted) return { exitCode: 0 };
      return { exitCode: (await exited).status };
    } finally {
      try {
        tasks.deleteExec(ctx.ns, id, execId);
      } catch {
        // still running: the client left (containerd leaves it too); it goes with the task
      }
    }
  }

  async attach(containerId: string, io: StreamingIo): Promise<void> {
    const { ctx } = this;
    const id = await this.running(containerId);
    const tasks = ctx.supervisor.tasks;
    const streams: Array<'stdin' | 'stdout' | 'stderr'> = [...(io.stdin ? ['stdin' as const] : []), ...(io.stdout ? ['stdout' as const] : []), ...(io.stderr ? ['stderr' as const] : [])];
    const sock = await tasks.attach(ctx.ns, id, streams);
    const shim = tasks.shim(ctx.ns, id);
    await pump(sock, io, () => shim.closeStdin(), (w, h) => shim.resize(h, w));
  }

  async portForward(podSandboxId: string, port: number, stream: Duplex): Promise<void> {
    const rec = this.sandboxes.get(podSandboxId);
    // A pod on the host's network has no namespace file of its own: the pause process's is the host's.
    const netns = rec.netnsPath ?? (rec.pid ? `/proc/${rec.pid}/ns/net` : undefined);
    if (!netns) throw precondition(`pod sandbox ${rec.id} is not running`);
    await forwardInNetns(netns, port, stream, { label: rec.id });
  }
}
