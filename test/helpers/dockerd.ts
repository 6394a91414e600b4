// A private Docker daemon (Debian's docker.io) for interoperability tests: its own containerd,
// data root, exec root and socket, no bridge and no iptables rules, so it cannot disturb the host
// or another daemon; or, with `network`, its usual bridge and iptables NAT inside a network
// namespace of its own (for network benchmarks and the side-by-side CLI session). `restart()`
// kills dockerd (SIGKILL, a crash) or stops it, and starts it again on the same roots; with
// `liveRestore` its containers keep running meanwhile, as berthd's always do. Tests that need it
// skip when dockerd is not installed.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupDir, haveCommand, processesMentioning, runCommand, waitFor, type Result, unmountUnder } from './runtime.js';

export interface TestDockerd {
  /** Runs the docker CLI against this daemon. */
  docker(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<Result>;
  /** Runs a command in the daemon's network namespace (with `network`), else on the host. */
  inHostNetns(cmd: string[]): Promise<Result>;
  socket: string;
  /** `unix://SOCKET`, for `docker -H`. */
  host: string;
  /** The network namespace dockerd runs in (with `network`), else undefined (the host's). */
  netns?: string;
  restart(how?: 'kill' | 'term'): Promise<void>;
  /** dockerd's own log. */
  log(): string;
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

export async function startDockerd(opts: { network?: boolean; liveRestore?: boolean } = {}): Promise<TestDockerd> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-dockerd-'));
  const socket = join(dir, 'docker.sock');
  const containerdSock = join(dir, 'containerd.sock');
  const children: ChildProcess[] = [];
  const stop = async () => {
    // Containers first: with --live-restore they would outlive dockerd, their shims containerd.
    try {
      const ids = (await runCommand('docker', ['-H', `unix://${socket}`, 'ps', '-aq'], { timeoutMs: 10_000 })).stdout.split('\n').filter(Boolean);
      if (ids.length) await runCommand('docker', ['-H', `unix://${socket}`, 'rm', '-f', ...ids], { timeoutMs: 60_000 });
    } catch {
      // no daemon: the sweep below
    }
    for (const c of [...children].reverse()) await stopChild(c);
    for (const pid of processesMentioning(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    // whatever the daemons left mounted under their roots
    unmountUnder(dir);
    cleanupDir(dir);
  };
  const netns = join(dir, 'host.netns');
  // In its own namespace dockerd may make docker0 and its iptables rules: they stay in there.
  const logFile = join(dir, 'dockerd.log');
  const inNetns = (argv: string[], stdio: 'ignore' | number = 'ignore') =>
    (opts.network ? spawn('nsenter', [`--net=${netns}`, '--', ...argv], { stdio: ['ignore', stdio, stdio] }) : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', stdio, stdio] }));
  let dockerd: ChildProcess | undefined;
  const docker = (args: string[], opts: { input?: string; timeoutMs?: number } = {}) =>
    runCommand('docker', ['-H', `unix://${socket}`, ...args], { input: opts.input, timeoutMs: opts.timeoutMs ?? 60_000 });
  const launchDockerd = async () => {
    const isolation = opts.network ? [] : ['--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--ip-forward=false'];
    dockerd = inNetns(['dockerd',
      '--containerd', containerdSock, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'docker.pid'),
      '-H', `unix://${socket}`, ...(opts.liveRestore ? ['--live-restore'] : []), ...isolation,
    ], openSync(logFile, 'a'));
    children.push(dockerd);
    await waitFor(async () => (await docker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 5000 })).code === 0, 30_000);
  };
  try {
    if (opts.network) {
      writeFileSync(netns, '');
      execFileSync('unshare', [`--net=${netns}`, 'ip', 'link', 'set', 'lo', 'up']);
    }
    children.push(spawn('containerd', ['--root', join(dir, 'containerd'), '--state', join(dir, 'containerd-state'), '--address', containerdSock], { stdio: 'ignore' }));
    await waitFor(() => { try { readFileSync(containerdSock); return false; } catch (e) { return (e as NodeJS.ErrnoException).code !== 'ENOENT'; } }, 15_000);
    await launchDockerd();
    const inHostNetns = (cmd: string[]) => (opts.network ? runCommand('nsenter', [`--net=${netns}`, '--', ...cmd], { timeoutMs: 120_000 }) : runCommand(cmd[0]!, cmd.slice(1), { timeoutMs: 120_000 }));
    const restart = async (how: 'kill' | 'term' = 'kill') => {
      const old = dockerd!;
      if (how === 'kill') {
        // nsenter execs dockerd, so the child is dockerd itself
        old.kill('SIGKILL');
        await new Promise((r) => (old.exitCode !== null || old.signalCode !== null ? r(undefined) : old.once('exit', r)));
      } else {
        await stopChild(old);
      }
      children.splice(children.indexOf(old), 1);
      await launchDockerd();
    };
    return { docker, inHostNetns, socket, host: `unix://${socket}`, netns: opts.network ? netns : undefined, restart, log: () => readFileSync(logFile, 'utf8'), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
