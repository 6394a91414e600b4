// Test harness for the runtime: a private state root per test file, the CLI as a child process,
// and a cleanup that deletes every container (and so its cgroups and processes) even on failure.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StateStore } from '../../src/runtime/state-store.js';
import { mountPoints, unmountAll } from '../../src/sys/mount.js';
import type { RuntimeContext } from '../../src/runtime/container/context.js';
import { deleteContainer } from '../../src/runtime/container/delete.js';

export const RUNTIME_BIN = fileURLToPath(new URL('../../../bin/berth-runtime.mjs', import.meta.url));
export const RECVTTY_BIN = fileURLToPath(new URL('../../../native/build/recvtty', import.meta.url));

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export class RuntimeHarness {
  readonly root = mkdtempSync(join(tmpdir(), 'berth-rt-root-'));
  readonly ctx: RuntimeContext = { store: new StateStore(this.root), warn: () => {} };
  private seq = 0;

  /** A container id unique to this harness. */
  id(prefix = 'c'): string {
    return `${prefix}-${process.pid}-${++this.seq}`;
  }

  /** Runs berth-runtime with this harness's --root. */
  cli(args: string[], opts: { input?: string; timeoutMs?: number; extraFds?: number[] } = {}): Promise<Result> {
    return runCommand(process.execPath, [RUNTIME_BIN, '--root', this.root, ...args], opts);
  }

  async cleanup(): Promise<void> {
    for (const id of this.ctx.store.ids()) await deleteContainer(this.ctx, id, true).catch(() => this.ctx.store.remove(id));
    rmSync(this.root, { recursive: true, force: true });
  }
}

/**
 * Runs a command and collects its output. stdout and stderr go to files, not pipes: a detached
 * container inherits them and would keep a pipe open long after the command itself exits.
 */
export function runCommand(cmd: string, args: string[], opts: { input?: string | Buffer; timeoutMs?: number; extraFds?: number[]; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-out-'));
  const out = openSync(join(dir, 'out'), 'w+');
  const err = openSync(join(dir, 'err'), 'w+');
  return new Promise<Result>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', out, err, ...(opts.extraFds ?? [])], env: opts.env ?? process.env });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? 128 + (signal ? osConstants.signals[signal] : 0),
        stdout: readFileSync(join(dir, 'out'), 'utf8'),
        stderr: readFileSync(join(dir, 'err'), 'utf8'),
      });
    });
    child.stdin!.on('error', () => {});
    child.stdin!.end(opts.input ?? '');
  }).finally(() => {
    closeSync(out);
    closeSync(err);
    rmSync(dir, { recursive: true, force: true });
  });
}

export function haveCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

export function cleanupDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** The message of a logrus-style error line (`time=... level=error msg="..."`), unquoted. */
export function errorMessage(stderr: string): string {
  const m = /msg=("(?:[^"\\]|\\.)*")/.exec(stderr);
  return m ? (JSON.parse(m[1]!) as string) : stderr;
}

/** Removes an (empty) cgroup directory from every v1 hierarchy and the v2 root, e.g. a parent
 * that tests put their containers under: runtimes remove a container's own cgroup, not its parents. */
export function removeCgroupDir(relative: string): void {
  for (const h of readdirSync('/sys/fs/cgroup')) {
    try {
      rmdirSync(join('/sys/fs/cgroup', h, relative));
    } catch {
      // not there, or not a hierarchy
    }
  }
  try {
    rmdirSync(join('/sys/fs/cgroup', relative));
  } catch {
    // not there
  }
}

/** Polls `cond` every 20 ms until it holds, failing after `ms`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for condition');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Pids of the processes whose /proc/PID/<file> passes `test`. */
export function processesWhere(file: 'cmdline' | 'comm', test: (content: string) => boolean): number[] {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).filter((pid) => {
    try {
      return test(readFileSync(`/proc/${pid}/${file}`, 'utf8'));
    } catch {
      return false; // gone meanwhile
    }
  }).map(Number);
}

/** Pids of the processes whose command line mentions `text` (a test's own directory, say). */
export function processesMentioning(text: string): number[] {
  return processesWhere('cmdline', (c) => c.includes(text));
}

/** Unmounts every mount at or below `dir`, deepest first (a daemon's leftovers after a test). */
export function unmountUnder(dir: string): void {
  for (const m of mountPoints().filter((p) => p === dir || p.startsWith(`${dir}/`)).sort().reverse()) {
    try {
      unmountAll(m);
    } catch {
      // gone with its parent
    }
  }
}
