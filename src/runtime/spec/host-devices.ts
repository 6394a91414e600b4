// Device nodes of the host as OCI devices: one path (through a symlink) or every node under /dev,
// as runc's devices.DeviceFromPath and HostDevices list them. Shared by the engine (--device,
// --privileged) and the CRI (a container's devices, privileged pods).
import { lstatSync, readdirSync, type BigIntStats } from 'node:fs';
import { join, posix } from 'node:path';
import { errnoOf } from '../../common/errors.js';
import type { Device } from './types.js';

// Linux's dev_t encoding (glibc's gnu_dev_major/minor).
const major = (rdev: bigint): number => Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
const minor = (rdev: bigint): number => Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));

/** The node at `path` as a device, or undefined when it is not a character or block device. */
export function deviceFromPath(path: string, containerPath: string): Device | undefined {
  let st: BigIntStats;
  try {
    st = lstatSync(path, { bigint: true });
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw err;
  }
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
  if (!type) return undefined;
  return { type, path: containerPath, major: major(st.rdev), minor: minor(st.rdev), fileMode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid) };
}

/** Every device node under `root` (the host's /dev), as runc's HostDevices lists them. */
export function hostDevices(root = '/dev'): Device[] {
  const out: Device[] = [];
  const scan = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(dir, n);
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        if (!['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev'].includes(n)) scan(p);
        continue;
      }
      if (n === 'console') continue; // the runtime makes the container's own console
      const d = deviceFromPath(p, posix.join('/dev', posix.relative(root, p)));
      if (d) out.push(d);
    }
  };
  scan(root);
  return out;
}

