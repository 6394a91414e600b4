// What a test berthd's pods hold on the node, as sorted lists a test can compare with a baseline:
// network namespace files, veth links in the daemon's network namespace, host-local allocations,
// CNI result-cache entries, mounts under the test's directory, cgroups under the pods' parent,
// active snapshots and supervisor containers in k8s.io. A failed call must leave all of them as
// they were; a removed pod must take its own with it.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { mountPoints } from '../../src/sys/mount.js';
import { supervisorSocket, type TestBerthd } from './berthd.js';
import { runCommand } from './runtime.js';

export interface NodeState {
  netnsFiles: string[];
  veths: string[];
  ipAllocations: string[];
  cniCache: string[];
  mounts: string[];
  cgroups: string[];
  activeSnapshots: string[];
  supervisorContainers: string[];
  /** The CRI's records and pod directories (data root), pods' /dev/shm directories and CreateContainer's scratch mounts (exec root). */
  criFiles: string[];
}

const list = (dir: string, keep: (name: string) => boolean = () => true): string[] => (existsSync(dir) ? readdirSync(dir).filter(keep).sort() : []);

/** Mounts the daemon keeps for its whole life: the test's network namespace and the private netns dir. */
const PERMANENT_MOUNTS = ['host.netns', 'exec/cri/netns'];

export async function nodeState(d: TestBerthd, cniNetwork = 'test-pods'): Promise<NodeState> {
  const veths = await d.inHostNetns(['ip', '-o', 'link', 'show', 'type', 'veth']);
  const snapshots = await runCommand('ctr', ['-a', supervisorSocket(d), '-n', 'k8s.io', 'snapshots', 'ls']);
  const containers = await runCommand('ctr', ['-a', supervisorSocket(d), '-n', 'k8s.io', 'containers', 'ls', '-q']);
  const cgroups: string[] = [];
  for (const h of readdirSync('/sys/fs/cgroup')) {
    const base = join('/sys/fs/cgroup', h, d.cgroupParent);
    // File types from the directory read itself: a stat after it races with a removal in flight.
    const children = existsSync(base) ? readdirSync(base, { withFileTypes: true }).filter((e) => e.isDirectory()) : [];
    for (const c of children) cgroups.push(`${h}${d.cgroupParent}/${c.name}`);
  }
  return {
    netnsFiles: list(join(d.dir, 'exec', 'cri', 'netns')),
    veths: veths.stdout.split('\n').filter(Boolean).map((l) => l.split(':')[1]!.trim().split('@')[0]!).sort(),
    // host-local keeps one file per allocated address (and last_reserved_ip.N, lock)
    ipAllocations: list(join(d.dir, 'cni-ipam', cniNetwork), (n) => /^\d/.test(n)),
    cniCache: list(join(d.dir, 'data', 'cni', 'results')),
    mounts: mountPoints().filter((p) => p.startsWith(`${d.dir}/`)).map((p) => p.slice(d.dir.length + 1)).filter((p) => !PERMANENT_MOUNTS.includes(p)).sort(),
    cgroups: cgroups.sort(),
    activeSnapshots: snapshots.stdout.split('\n').slice(1).map((l) => l.trim().split(/\s+/)).filter((f) => f[2] === 'Active').map((f) => f[0]!).sort(),
    supervisorContainers: containers.stdout.split('\n').filter(Boolean).sort(),
    criFiles: [
      ...['data/cri/sandboxes', 'data/cri/containers', 'exec/cri/sandboxes'].flatMap((dir) => list(join(d.dir, dir)).map((n) => `${dir}/${n}`)),
      ...list(join(d.dir, 'exec', 'cri'), (n) => n.startsWith('peek-')).map((n) => `exec/cri/${n}`), // where CreateContainer reads the image's users
    ],
  };
}

/** A node state with nothing of any pod in it. */
export const EMPTY_NODE: NodeState = { netnsFiles: [], veths: [], ipAllocations: [], cniCache: [], mounts: [], cgroups: [], activeSnapshots: [], supervisorContainers: [], criFiles: [] };
