// Test harness for the berth CLI: a private dockerd (the real Docker Engine API) with a busybox
// image imported offline as busybox:latest, `berth` and the real `docker` CLI run as child processes
// against it, a pseudo-terminal session through util-linux `script`, and a cleanup that removes
// every container, the daemon and the temp directory even when a test failed.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBusyboxRootfs } from './busybox.js';
import { startDockerd, type TestDockerd } from './dockerd.js';
import { runCommand, type Result } from './runtime.js';

export const BERTH_BIN = fileURLToPath(new URL('../../../bin/berth.mjs', import.meta.url));

export interface RunOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** Runs a command with stdout/stderr in files (a detached container keeps no pipe open). */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<Result> {
  return runCommand(cmd, args, opts);
}

export interface CliHarness {
  dockerd: TestDockerd;
  /** A temp directory of the test file's own (removed by cleanup). */
  dir: string;
  /** The environment berth and docker run with: HOME and DOCKER_CONFIG inside `dir`. */
  env: NodeJS.ProcessEnv;
  host: string;
  berth(args: string[], opts?: RunOptions): Promise<Result>;
  docker(args: string[], opts?: RunOptions): Promise<Result>;
  /** berth, which must exit 0; its stdout. */
  ok(args: string[], opts?: RunOptions): Promise<string>;
  /** A session on a pseudo-terminal (berth -it), through `script`. */
  pty(args: string[], opts?: { rows?: number; cols?: number }): PtySession;
  cleanup(): Promise<void>;
}

export async function startCliHarness(): Promise<CliHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-cli-'));
  const home = join(dir, 'home');
  mkdirSync(home);
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, DOCKER_CONFIG: join(home, '.docker'), BERTH_NO_START_DAEMON: '1' };
  delete env.DOCKER_HOST;
  delete env.BERTH_HOST;
  let dockerd: TestDockerd | undefined;
  try {
    dockerd = await startDockerd();
    const host = `unix://${dockerd.socket}`;
    const rootfs = join(dir, 'rootfs');
    makeBusyboxRootfs(rootfs);
    execFileSync('tar', ['-C', rootfs, '-cf', join(dir, 'rootfs.tar'), '.']);
    rmSync(rootfs, { recursive: true, force: true });
    const imported = await run('docker', ['-H', host, 'import', '-c', 'CMD ["sh"]', join(dir, 'rootfs.tar'), 'busybox:latest'], { env });
    if (imported.code !== 0) throw new Error(`docker import: ${imported.stderr}`);
    const d = dockerd;
    const harness: CliHarness = {
      dockerd: d,
      dir,
      env,
      host,
      berth: (args, opts = {}) => run(process.execPath, [BERTH_BIN, '-H', host, ...args], { ...opts, env: opts.env ?? env }),
      docker: (args, opts = {}) => run('docker', ['-H', host, ...args], { ...opts, env: opts.env ?? env }),
      ok: async (args, opts) => {
        const r = await harness.berth(args, opts);
        if (r.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
        return r.stdout;
      },
      pty: (args, opts) => new PtySession([process.execPath, BERTH_BIN, '-H', host, ...args], env, opts),
      cleanup: async () => {
        const ids = await run('docker', ['-H', host, 'ps', '-aq'], { env });
        if (ids.stdout.trim()) await run('docker', ['-H', host, 'rm', '-f', ...ids.stdout.trim().split('\n')], { env });
        await d.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
    return harness;
  } catch (err) {
    await dockerd?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

const shellQuote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/**
 * A command on a pseudo-terminal: `script -qfec CMD /dev/null` gives it a pty whose size is set
 * first with stty; the test types with write() and waits for output with expect().
 */
export class PtySession {
  readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<number>;
  private waiters: (() => void)[] = [];

  constructor(argv: string[], env: NodeJS.ProcessEnv, opts: { rows?: number; cols?: number } = {}) {
    const cmd = `stty rows ${opts.rows ?? 24} cols ${opts.cols ?? 80}; exec ${argv.map(shellQuote).join(' ')}`;
    this.child = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env });
    const onData = (d: Buffer) => {
      this.output += d.toString('utf8');
      for (const w of this.waiters.splice(0)) w();
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    this.child.stdin!.on('error', () => {});
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => {
      for (const w of this.waiters.splice(0)) w();
      resolve(code ?? 128 + (signal ? osConstants.signals[signal] : 0));
    }));
  }

  write(keys: string): void {
    this.child.stdin!.write(keys);
  }

  /** Waits until the output (from `from` on) matches. */
  async expect(pattern: RegExp | string, timeoutMs = 10_000, from = 0): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const matches = () => (typeof pattern === 'string' ? this.output.indexOf(pattern, from) >= 0 : pattern.test(this.output.slice(from)));
    while (!matches()) {
      if (this.child.exitCode !== null || this.child.signalCode !== null || Date.now() > deadline) {
        throw new Error(`pty: ${JSON.stringify(pattern.toString())} not seen; output so far: ${JSON.stringify(this.output)}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(0, Math.min(200, deadline - Date.now())));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The exit status, killing the session if it has not ended within the time. */
  async exit(timeoutMs = 10_000): Promise<number> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
      this.child.stdin!.end();
    }
  }
}
