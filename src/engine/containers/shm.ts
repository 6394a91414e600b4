// --ipc shareable: the container's /dev/shm is a tmpfs the engine mounts on the host, and the
// container gets a bind of it, so a container joining its IPC namespace (--ipc container:<id>)
// can bind the very same one. It cannot bind the donor's own /dev/shm through
// /proc/<pid>/root: the kernel refuses to bind a mount of another mount namespace (EINVAL),
// which is also why Docker keeps shareable shm mounts on the host.
import { mkdirSync } from 'node:fs';
import { isMountPoint, mountAll, unmountAll } from '../../sys/mount.js';

/** Mounts a tmpfs of `sizeBytes` at `path` (once) and returns `path`. */
export function mountShareableShm(path: string, sizeBytes: number): string {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  if (!isMountPoint(path)) mountAll([{ type: 'tmpfs', source: 'shm', options: ['nosuid', 'nodev', 'noexec', 'mode=1777', `size=${sizeBytes}`] }], path);
  return path;
}

export function unmountShm(path: string): void {
  if (isMountPoint(path)) unmountAll(path);
}
