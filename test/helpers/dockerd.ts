// A private Docker daemon (Debian's docker.io) for interoperability tests: its own containerd,
// data root, exec root and socket, no bridge and no iptables rules, so it cannot disturb the host
// or another daemon; or, with `network`, its usual bridge and iptables NAT inside a network
// namespace of its own (for network benchmarks). Tests that need it skip when dockerd is not
// installed.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupDir, haveCommand, runCommand, waitFor, type Result } from './runtime.js';
import { unmountAll } from '../../src/sys/mount.js';

export interface TestDockerd {
  /** Runs the docker CLI against this daemon. */
  docker(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<Result>;
  /** Runs a command in the daemon's network namespace (with `network`), else on the host. */
  inHostNetns(cmd: string[]): Promise<Result>;
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

export async function startDockerd(opts: { network?: boolean } = {}): Promise<TestDockerd> {
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
  const netns = join(dir, 'host.netns');
  // In its own namespace dockerd may make docker0 and its iptables rules: they stay in there.
  const inNetns = (argv: string[]) => (opts.network ? spawn('nsenter', [`--net=${netns}`, '--', ...argv], { stdio: 'ignore' }) : spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' }));
  try {
    if (opts.network) {
      writeFileSync(netns, '');
      execFileSync('unshare', [`--net=${netns}`, 'ip', 'link', 'set', 'lo', 'up']);
    }
    children.push(spawn('containerd', ['--root', join(dir, 'containerd'), '--state', join(dir, 'containerd-state'), '--address', containerdSock], { stdio: 'ignore' }));
    await waitFor(() => { try { readFileSync(containerdSock); return false; } catch (e) { return (e as NodeJS.ErrnoException).code !== 'ENOENT'; } }, 15_000);
    const isolation = opts.network ? [] : ['--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--ip-forward=false'];
    children.push(inNetns(['dockerd',
      '--containerd', containerdSock, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'docker.pid'),
      '-H', `unix://${socket}`, ...isolation,
    ]));
    const docker = (args: string[], opts: { input?: string; timeoutMs?: number } = {}) =>
      runCommand('docker', ['-H', `unix://${socket}`, ...args], { input: opts.input, timeoutMs: opts.timeoutMs ?? 60_000 });
    await waitFor(async () => (await docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 5000 })).code === 0, 30_000);
    const inHostNetns = (cmd: string[]) => (opts.network ? runCommand('nsenter', [`--net=${netns}`, '--', ...cmd], { timeoutMs: 120_000 }) : runCommand(cmd[0]!, cmd.slice(1), { timeoutMs: 120_000 }));
    return { docker, inHostNetns, socket, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
