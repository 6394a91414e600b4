// Which cgroup version the host runs and where the v1 hierarchies are mounted, from
// /proc/self/mountinfo and /proc/self/cgroup. Synchronous: it runs once when a manager is opened.
import { existsSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { errnoOf, precondition } from '../../common/errors.js';
import { isPathUnder } from '../../common/paths.js';

const CGROUP2_SUPER_MAGIC = 0x63677270;

/** The v1 controllers the kernel can mount; anything else in the mount options is a mount flag. */
const V1_CONTROLLERS = new Set([
  'cpuset', 'cpu', 'cpuacct', 'blkio', 'memory', 'devices', 'freezer', 'net_cls', 'perf_event',
  'net_prio', 'hugetlb', 'pids', 'rdma', 'misc', 'debug',
]);

export interface MountEntry {
  /** The directory of the mounted filesystem that appears at `mountpoint` (4th field). */
  root: string;
  mountpoint: string;
  fstype: string;
  superOptions: string[];
}

export interface V1Hierarchy {
  /** Controllers bound to this hierarchy, e.g. ["cpu", "cpuacct"], or ["name=systemd"]. */
  controllers: string[];
  mountpoint: string;
  root: string;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6 || fields.length < dash + 4) continue;
    out.push({
      root: unescape(fields[3]!),
      mountpoint: unescape(fields[4]!),
      fstype: fields[dash + 1]!,
      superOptions: fields[dash + 3]!.split(','),
    });
  }
  return out;
}


/**
 * The mounted v1 hierarchies, one per controller set. When a hierarchy is mounted more than
 * once, the mount under `root` wins, then the first one listed.
 */
export function v1Hierarchies(mounts: MountEntry[], root: string): V1Hierarchy[] {
  const byKey = new Map<string, V1Hierarchy>();
  for (const m of mounts) {
    if (m.fstype !== 'cgroup') continue;
    const controllers = m.superOptions.filter((o) => V1_CONTROLLERS.has(o) || o.startsWith('name='));
    if (controllers.length === 0) continue;
    const key = [...controllers].sort().join(',');
    const seen = byKey.get(key);
    if (!seen || (!isPathUnder(seen.mountpoint, root) && isPathUnder(m.mountpoint, root))) {
      byKey.set(key, { controllers, mountpoint: m.mountpoint, root: m.root });
    }
  }
  return [...byKey.values()];
}

export interface ProcCgroupEntry {
  /** The controllers of a v1 line ("cpu,cpuacct" → ["cpu", "cpuacct"]); [] for the v2 line "0::/x". */
  controllers: string[];
  path: string;
}

export function parseProcCgroup(text: string): ProcCgroupEntry[] {
  const out: ProcCgroupEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (m) out.push({ controllers: m[2] === '' ? [] : m[2]!.split(','), path: m[3]! });
  }
  return out;
}

/** v2 when `root` is a cgroup2 mount (or, on a fake tree, holds cgroup.controllers); v1 otherwise. */
export function detectVersion(root: string, mounts: MountEntry[]): 1 | 2 {
  try {
    if (statfsSync(root).type === CGROUP2_SUPER_MAGIC) return 2;
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw err;
  }
  if (existsSync(join(root, 'cgroup.controllers'))) return 2;
  if (v1Hierarchies(mounts, root).length > 0) return 1;
  throw precondition(`no cgroup filesystem found: ${root} is not cgroup2 and no cgroup v1 hierarchy is mounted; mount cgroupfs (see cgroups(7))`);
}
