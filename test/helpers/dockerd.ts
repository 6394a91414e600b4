// A private Docker daemon (Debian's docker.io) for interoperability tests: its own containerd,
// data root, exec root and socket, no bridge and no iptables rules, so it cannot disturb the host
// or another daemon. Tests that need it skip when dockerd is not installed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupDir, haveCommand, runCommand, waitFor, type Result } from './runtime.js';
import { unmountAll } from '../../src/sys/mount.js';

export interface TestDockerd {
  /** Runs the docker CLI against this daemon. */
  docker(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<Result>;
  socket: string;
  stop(): Promise<void>;
}

export const haveDockerd = (): boolean => haveCommand('dockerd') && haveCommand('containerd');

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const done = new Promise((r) => child.once('exit', r));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await done;
  clearTimeout(timer);
}

export async function startDockerd(): Promise<TestDockerd> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-dockerd-'));
  const socket = join(dir, 'docker.sock');
  const containerdSock = join(dir, 'containerd.sock');
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const c of [...children].reverse()) await stopChild(c);
    // whatever the daemons left mounted under their roots
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m): m is string => !!m && m.startsWith(dir));
    for (const m of mounts.sort().reverse()) {
      try {
        unmountAll(m);
      } catch {
        // already gone with its parent
      }
    }
    cleanupDir(dir);
  };
  try {
    children.push(spawn('containerd', ['--root', join(dir, 'containerd'), '--state', join(dir, 'containerd-state'), '--address', containerdSock], { stdio: 'ignore' }));
    await waitFor(() => { try { readFileSync(containerdSock); return false; } catch (e) { return (e as NodeJS.ErrnoException).code !== 'ENOENT'; } }, 15_000);
    children.push(spawn('dockerd', [
      '--containerd', containerdSock, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'docker.pid'),
      '-H', `unix://${socket}`, '--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--ip-forward=false',
    ], { stdio: 'ignore' }));
    const docker = (args: string[], opts: { input?: string; timeoutMs?: number } = {}) =>
      runCommand('docker', ['-H', `unix://${socket}`, ...args], { input: opts.input, timeoutMs: opts.timeoutMs ?? 60_000 });
    await waitFor(async () => (await docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 5000 })).code === 0, 30_000);
    return { docker, socket, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
