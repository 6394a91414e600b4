// tmpfs mounts from HostConfig.Tmpfs ({"/run": "rw,size=64m"}) and from Mounts of type tmpfs,
// with Docker's options: noexec, nosuid, nodev and rprivate first, then the user's, merged so that
// a later option wins over an earlier one of the same kind (moby/sys mount.MergeTmpfsOptions).
import { posix } from 'node:path';
import { invalid } from '../../../common/errors.js';
import type { Mount } from '../../../runtime/spec/types.js';
import type { MountSpec } from '../api-types.js';

// Each flag option and the mount flag it sets or clears: options of one flag collide.
const FLAG_KEYS: Record<string, string> = {
  ro: 'rdonly', rw: 'rdonly', suid: 'nosuid', nosuid: 'nosuid', dev: 'nodev', nodev: 'nodev', exec: 'noexec', noexec: 'noexec',
  sync: 'sync', async: 'sync', dirsync: 'dirsync', remount: 'remount', mand: 'mand', nomand: 'mand', atime: 'noatime',
  noatime: 'noatime', diratime: 'nodiratime', nodiratime: 'nodiratime', relatime: 'relatime', norelatime: 'relatime',
  strictatime: 'strictatime', nostrictatime: 'strictatime',
  // Propagation (and bind) options all collide with each other: a mount has one propagation.
  bind: 'propagation', rbind: 'propagation', unbindable: 'propagation', runbindable: 'propagation', private: 'propagation',
  rprivate: 'propagation', shared: 'propagation', rshared: 'propagation', slave: 'propagation', rslave: 'propagation',
};

const DATA_KEYS = new Set(['size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol']);

const DEFAULT_TMPFS_OPTIONS = ['noexec', 'nosuid', 'nodev', 'rprivate'];

/** Keeps the last option of each kind, in the order the kept ones appeared; "defaults" is dropped. */
export function mergeTmpfsOptions(options: readonly string[], field: string): string[] {
  const seenFlags = new Set<string>();
  const seenData = new Set<string>();
  const out: string[] = [];
  for (let i = options.length - 1; i >= 0; i--) {
    const option = options[i]!;
    if (option === 'defaults') continue;
    const flag = FLAG_KEYS[option];
    if (flag !== undefined) {
      if (!seenFlags.has(flag)) out.unshift(option);
      seenFlags.add(flag);
      continue;
    }
    const eq = option.indexOf('=');
    const key = eq < 0 ? undefined : option.slice(0, eq);
    if (key === undefined || !DATA_KEYS.has(key)) throw invalid(`${field}: invalid tmpfs option "${option}"`);
    if (!seenData.has(key)) out.unshift(option);
    seenData.add(key);
  }
  return out;
}

/** Docker's checks on a tmpfs destination: absolute, and not the root. */
export function checkTmpfsDestination(dest: string, field: string): string {
  if (!posix.isAbsolute(dest)) throw invalid(`${field}: invalid mount path: '${dest}' mount path must be absolute`);
  const clean = posix.normalize(dest).replace(/(.)\/$/, '$1');
  if (clean === '/') throw invalid(`${field}: invalid specification: destination can't be '/'`);
  return clean;
}

/** One HostConfig.Tmpfs entry ("/run", "rw,size=65536k") as an OCI mount. */
export function tmpfsMount(dest: string, data: string, field: string): Mount {
  const destination = checkTmpfsDestination(dest, field);
  const user = data === '' ? [] : data.split(',').map((o) => o.trim()).filter(Boolean);
  return { destination, type: 'tmpfs', source: 'tmpfs', options: mergeTmpfsOptions([...DEFAULT_TMPFS_OPTIONS, ...user], field) };
}

/** Every HostConfig.Tmpfs entry, in destination order (the map has no order of its own). */
export function tmpfsMounts(tmpfs: Record<string, string> | null | undefined): Mount[] {
  return Object.keys(tmpfs ?? {}).sort().map((dest) => tmpfsMount(dest, tmpfs![dest] ?? '', `HostConfig.Tmpfs["${dest}"]`));
}

/**
 * A Mounts entry of type tmpfs as an OCI mount, for the container service (Docker's
 * ConvertTmpfsOptions: ro, mode in octal, size with the largest exact g/m/k suffix).
 */
export function tmpfsMountFromSpec(m: MountSpec, field = 'HostConfig.Mounts'): Mount {
  const raw: string[] = [];
  if (m.ReadOnly) raw.push('ro');
  const opts = m.TmpfsOptions ?? {};
  if (opts.Mode) raw.push(`mode=${opts.Mode.toString(8)}`);
  if (opts.SizeBytes) {
    if (!Number.isSafeInteger(opts.SizeBytes) || opts.SizeBytes < 0) throw invalid(`${field}.TmpfsOptions.SizeBytes: must be a positive integer`);
    const unit = [['g', 2 ** 30], ['m', 2 ** 20], ['k', 2 ** 10]].find(([, d]) => opts.SizeBytes! % (d as number) === 0) as [string, number] | undefined;
    raw.push(unit ? `size=${opts.SizeBytes / unit[1]}${unit[0]}` : `size=${opts.SizeBytes}`);
  }
  return tmpfsMount(m.Target, raw.join(','), field);
}
