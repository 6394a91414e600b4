// Podman for the benchmarks, isolated from the host as the private dockerd and berthd are: every
// podman command runs in a network namespace and a mount namespace of its own, held open by one
// `sleep` process. In the network namespace Podman makes its bridges, veths and iptables rules
// (CNI on this machine: bridge, portmap, firewall); in the mount namespace tmpfs hide the host's
// CNI state (/var/lib/cni), network-namespace files (/run/netns) and Podman's shared-memory locks
// (/dev/shm), and the storage's overlay mounts stay in there. Its root, run root, temporary
// directory and network configs are under one directory. `stop()` removes the containers and
// networks, kills what is left and lets the namespaces go.
// This machine's root lacks CAP_SYS_RESOURCE, so Podman's default rlimits cannot be set (hence
// the ulimits every run/create gets), and crun refuses its hybrid cgroups: runc, as Docker uses.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupDir, haveCommand, processesMentioning, runCommand, type Result } from '../test/helpers/runtime.js';

export interface TestPodman {
  /** Runs podman, as one would run `docker` (run and create get the ulimits this machine needs). */
  docker(args: string[], opts?: { timeoutMs?: number }): Promise<Result>;
  /** Runs a command in Podman's network namespace (its "host"). */
  inHostNetns(cmd: string[]): Promise<Result>;
  stop(): Promise<void>;
}

export const havePodman = (): boolean => haveCommand('podman') && haveCommand('conmon') && haveCommand('runc');

const ULIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096'];
/** The host's directories Podman (with CNI or netavark) shares between its users: hidden by tmpfs. */
const SHARED_STATE = ['/var/lib/cni', '/run/netns', '/run/containers/networks', '/dev/shm'];

export async function startPodman(): Promise<TestPodman> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-podman-'));
  const hide = SHARED_STATE.filter((d) => existsSync(d)).map((d) => `mount -t tmpfs tmpfs ${d}`).join(' && ');
  // Mounts made in a namespace with private propagation never reach the host.
  const holder: ChildProcess = spawn('unshare', ['--net', '--mount', '--propagation', 'private', '--', 'sh', '-c', `ip link set lo up && ${hide} && echo ready && exec sleep infinity`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  holder.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  await new Promise<void>((resolve, reject) => {
    holder.stdout!.once('data', () => resolve());
    holder.once('exit', (code) => reject(new Error(`podman's namespaces: exit ${code}: ${stderr}`)));
  });
  const enter = ['-t', String(holder.pid), '--net', '--mount', '--'];
  const base = ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--tmpdir', join(dir, 'tmp'), '--network-config-dir', join(dir, 'networks'),
    '--cgroup-manager', 'cgroupfs', '--events-backend', 'none', '--runtime', 'runc'];
  const podman = (args: string[], opts: { timeoutMs?: number } = {}) => {
    const withLimits = args[0] === 'run' || args[0] === 'create' ? [args[0], ...ULIMITS, ...args.slice(1)] : args;
    return runCommand('nsenter', [...enter, 'podman', ...base, ...withLimits], { timeoutMs: opts.timeoutMs ?? 60_000 });
  };
  const stop = async () => {
    await podman(['rm', '-f', '-a', '-t', '0'], { timeoutMs: 60_000 }).catch(() => undefined);
    await podman(['system', 'reset', '-f'], { timeoutMs: 60_000 }).catch(() => undefined);
    for (const pid of processesMentioning(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    holder.kill('SIGKILL');
    if (holder.exitCode === null && holder.signalCode === null) await new Promise((r) => holder.once('exit', r));
    cleanupDir(dir);
  };
  return { docker: podman, inHostNetns: (cmd) => runCommand('nsenter', ['-t', String(holder.pid), '--net', '--', ...cmd], { timeoutMs: 120_000 }), stop };
}
