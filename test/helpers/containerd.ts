// Debian's real containerd (1.6) as a reference, private to a test: its own root, state and
// sockets under one temp directory, the CRI plugin off. `stop()` ends it and removes its mounts
// and files, also when a test failed.
// With `cri`, its CRI plugin is on, as a Kubernetes node would run it on this machine: in a network
// namespace of its own (its pods' bridge and portmap's iptables chains stay in there), CNI
// configurations read from `cniConfDir` (plugins from /usr/lib/cni), overlayfs and runc, a sandbox
// image the caller imports into k8s.io beforehand (nothing is pulled), and the pods under
// `cgroupParent` when their configs name it; `stop()` then also kills what is left in that cgroup.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { socketAnswers } from '../../src/sys/unix-socket.js';
import { cleanupDir, haveCommand, processesMentioning, waitFor, unmountUnder } from './runtime.js';

export const HAVE_CONTAINERD = haveCommand('containerd');

export interface TestContainerd {
  socket: string;
  /** With `cri`: where its CNI network configurations go, its network namespace, and the parent cgroup for pod configs. */
  cniConfDir: string;
  netns?: string;
  cgroupParent: string;
  log(): string;
  stop(): Promise<void>;
}

/** The CRI plugin's settings for a private, offline node (as /opt/cri-tools' reference script sets them). */
function criConfig(dir: string, sandboxImage: string): string[] {
  return [
    '[plugins."io.containerd.grpc.v1.cri"]',
    `  sandbox_image = "${sandboxImage}"`,
    // root here lacks CAP_SYS_RESOURCE: never ask for a negative oom_score_adj
    '  restrict_oom_score_adj = true',
    // pods' network namespaces under the state dir, not the host's /run/netns
    '  netns_mounts_under_state_dir = true',
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    '  enable_selinux = false',
    '  disable_apparmor = true',
    '[plugins."io.containerd.grpc.v1.cri".cni]',
    '  bin_dir = "/usr/lib/cni"',
    `  conf_dir = "${join(dir, 'cni')}"`,
    '  max_conf_num = 1',
    '[plugins."io.containerd.grpc.v1.cri".containerd]',
    '  snapshotter = "overlayfs"',
    '  default_runtime_name = "runc"',
    '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
    '  runtime_type = "io.containerd.runc.v2"',
    '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
    '  SystemdCgroup = false',
  ];
}

/** Kills what is left in a parent cgroup and its children (every hierarchy), then removes them. */
function removeCgroupTree(relative: string): void {
  const dirs = ['', ...readdirSync('/sys/fs/cgroup')].map((h) => join('/sys/fs/cgroup', h, relative));
  const walk = (dir: string): string[] => {
    try {
      return [...readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => walk(join(dir, e.name))), dir];
    } catch {
      return [];
    }
  };
  for (const dir of dirs) {
    for (const d of walk(dir)) {
      try {
        for (const pid of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
      } catch {
        // no such file, or gone
      }
    }
  }
  for (const dir of dirs) {
    for (const d of walk(dir)) {
      try {
        rmdirSync(d);
      } catch {
        // still busy for a moment, or not a cgroup dir
      }
    }
  }
}

export async function startContainerd(opts: { cri?: { sandboxImage: string } } = {}): Promise<TestContainerd> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-containerd-'));
  const socket = join(dir, 'containerd.sock');
  const cgroupParent = `/${dir.split('/').pop()}`;
  mkdirSync(join(dir, 'cni'));
  writeFileSync(join(dir, 'config.toml'), [
    'version = 2',
    `root = "${join(dir, 'root')}"`,
    `state = "${join(dir, 'state')}"`,
    ...(opts.cri ? [] : ['disabled_plugins = ["io.containerd.grpc.v1.cri"]']),
    `[grpc]\n  address = "${socket}"`,
    `[ttrpc]\n  address = "${socket}.ttrpc"`,
    '[debug]\n  address = ""',
    '[metrics]\n  address = ""',
    `[plugins."io.containerd.internal.v1.opt"]\n  path = "${join(dir, 'opt')}"`,
    ...(opts.cri ? criConfig(dir, opts.cri.sandboxImage) : []),
  ].join('\n'));
  let netns: string | undefined;
  if (opts.cri) {
    netns = join(dir, 'host.netns');
    writeFileSync(netns, '');
    execFileSync('unshare', [`--net=${netns}`, 'ip', 'link', 'set', 'lo', 'up']);
  }
  const argv = ['containerd', '--config', join(dir, 'config.toml')];
  // nsenter execs containerd: the child is containerd itself
  const child = netns ? spawn('nsenter', [`--net=${netns}`, '--', ...argv], { stdio: ['ignore', 'ignore', 'pipe'] }) : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    if (opts.cri) {
      // shims (their -address names our socket), then the pods' processes by their cgroups
      for (const pid of processesMentioning(dir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      await waitFor(() => processesMentioning(dir).length === 0, 5000).catch(() => {});
      removeCgroupTree(cgroupParent);
    }
    // the pods' and our own network namespace files, rootfs overlays, /dev/shm mounts
    unmountUnder(dir);
    cleanupDir(dir);
  };
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`containerd exited: ${stderr.slice(-2000)}`);
      return socketAnswers(socket);
    }, 15_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { socket, cniConfDir: join(dir, 'cni'), netns, cgroupParent, log: () => stderr, stop };
}
