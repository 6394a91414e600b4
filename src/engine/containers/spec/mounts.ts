// The container's mount list, as Docker's WithMounts assembles it: its default mounts (less any a
// user mount replaces, everything under /dev when /dev itself is replaced, and /dev/shm with
// --ipc=none), /dev/shm sized by ShmSize, the --init binary, then the user's mounts (volumes and
// binds from the engine, the /etc files, IPC's /dev/shm, HostConfig.Tmpfs) sorted so a parent is
// mounted before its children; then read-only and privileged adjustments.
import { posix } from 'node:path';
import { invalid } from '../../../common/errors.js';
import type { Mount } from '../../../runtime/spec/types.js';
import type { SpecInputs } from '../api-types.js';
import { defaultMounts } from '../../../runtime/spec/container-defaults.js';
import { INIT_PATH } from './defaults.js';
import { tmpfsMounts } from './tmpfs.js';

export interface MountOptions {
  inputs: Pick<SpecInputs, 'mounts' | 'etcFiles'>;
  tmpfs?: Record<string, string> | null;
  shmSize: number;
  /** none: no /dev/shm; a host directory: bound at /dev/shm instead of a new tmpfs. */
  shm: { kind: 'tmpfs' } | { kind: 'none' } | { kind: 'bind'; source: string };
  initBinary?: string;
  readonlyRootfs: boolean;
  privileged: boolean;
  /** Leave the cgroup filesystem writable (privileged, or --security-opt writable-cgroups). */
  writableCgroups: boolean;
}

// Mounts a read-only root leaves writable: the kernel's and the container's scratch space.
const STAY_WRITABLE = new Set(['/proc', '/dev/pts', '/dev/shm', '/dev/mqueue', '/dev']);

const clean = (p: string): string => posix.normalize(p).replace(/(.)\/$/, '$1');

/** Path depth ("/a/b" is 2): Docker sorts user mounts on it, so parents come first. */
const depth = (p: string): number => clean(p).split('/').filter(Boolean).length;

export function buildMounts(o: MountOptions): Mount[] {
  const user = userMounts(o);
  const userDests = new Set(user.map((m) => clean(m.destination)));
  const devReplaced = userDests.has('/dev');

  const mounts: Mount[] = [];
  for (const m of defaultMounts()) {
    if (userDests.has(m.destination)) continue;
    if (devReplaced && m.destination.startsWith('/dev/')) continue;
    if (m.destination === '/dev/shm') {
      if (o.shm.kind === 'none') continue;
      m.options = [...m.options!, `size=${o.shmSize}`];
    }
    mounts.push(m);
  }
  if (o.initBinary !== undefined && !userDests.has(INIT_PATH)) {
    mounts.push({ destination: INIT_PATH, type: 'bind', source: o.initBinary, options: ['bind', 'ro'] });
  }
  mounts.push(...user);

  for (const m of mounts) {
    if (o.readonlyRootfs && !STAY_WRITABLE.has(m.destination) && !userDests.has(clean(m.destination)) && !m.options?.includes('ro')) {
      m.options = [...(m.options ?? []), 'ro'];
    }
    if (o.privileged && m.destination === '/sys') m.options = m.options?.filter((x) => x !== 'ro');
    if (o.writableCgroups && m.type === 'cgroup') m.options = m.options?.filter((x) => x !== 'ro');
  }
  return mounts;
}

function userMounts(o: MountOptions): Mount[] {
  const engine: Mount[] = (o.inputs.mounts ?? []).map((m, i) => {
    if (typeof m?.destination !== 'string' || !posix.isAbsolute(m.destination)) throw invalid(`inputs.mounts[${i}].destination: must be an absolute path`);
    return { destination: m.destination, type: m.type, source: m.source, options: [...(m.options ?? [])] };
  });
  const tmpfs = tmpfsMounts(o.tmpfs);
  const taken = new Set<string>();
  for (const m of [...engine, ...tmpfs]) {
    const dest = clean(m.destination);
    if (taken.has(dest)) throw invalid(`HostConfig: Duplicate mount point: ${dest}`);
    taken.add(dest);
  }
  // The engine's /etc files, unless the user mounted their own there. Writable unless the root
  // filesystem is read-only, as Docker's NetworkMounts.
  const etc: Mount[] = [];
  const files: Array<[string, string | undefined]> = [
    ['/etc/resolv.conf', o.inputs.etcFiles?.resolvConf],
    ['/etc/hostname', o.inputs.etcFiles?.hostname],
    ['/etc/hosts', o.inputs.etcFiles?.hosts],
  ];
  for (const [destination, source] of files) {
    if (source === undefined || taken.has(destination)) continue;
    etc.push({ destination, type: 'bind', source, options: ['rbind', ...(o.readonlyRootfs ? ['ro'] : []), 'rprivate'] });
  }
  const shm: Mount[] = o.shm.kind === 'bind' && !taken.has('/dev/shm') ? [{ destination: '/dev/shm', type: 'bind', source: o.shm.source, options: ['rbind', 'rprivate'] }] : [];

  // A stable sort: mounts at one depth keep their order (engine mounts, /etc files, shm, tmpfs).
  return [...engine, ...etc, ...shm, ...tmpfs].map((m, i) => ({ m, i })).sort((a, b) => depth(a.m.destination) - depth(b.m.destination) || a.i - b.i).map(({ m }) => m);
}
