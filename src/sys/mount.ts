// Mounting on the host, for the snapshot mounts the supervisor hands out (layer apply, diff,
// export), containers' root filesystems and /dev/shm. The syscalls are made directly (libc.ts):
// a mount(8) run cost ~6 ms and blocked the event loop. Options are read as mount(8) reads them:
// "bind,ro" is a bind mount and then a read-only remount, since the kernel ignores flags other
// than MS_REC on the bind itself.
import { existsSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { errnoOf, isMountRoot, MNT_DETACH, mountSyscall, umountSyscall } from './libc.js';
import { MS, parseMountOptions } from './mount-options.js';

const { EBUSY } = constants.errno;

export interface HostMount {
  type: string;
  source: string;
  options: string[];
}

/** Flags a bind mount applies through its remount (MS_BIND|MS_REMOUNT). */
const BIND_REMOUNT_FLAGS = MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOATIME | MS.NODIRATIME | MS.RELATIME | MS.STRICTATIME | MS.NOSYMFOLLOW;

/** Mounts `m` on `target`: the mount, the remount a bind's flags need, then its propagation. */
function mountOne(m: HostMount, target: string): void {
  const what = `mount ${m.type} ${m.source} on ${target}`;
  const o = parseMountOptions(m.options, 'mount');
  const bind = m.type === 'bind' || (o.flags & MS.BIND) !== 0;
  if (bind) {
    mountSyscall(m.source, target, null, MS.BIND | (o.flags & MS.REC), null, what);
    const remount = o.flags & BIND_REMOUNT_FLAGS;
    if (remount) mountSyscall(null, target, null, MS.BIND | MS.REMOUNT | remount, null, `${what} (remount)`);
  } else {
    mountSyscall(m.source, target, m.type, o.flags, o.data || null, what);
  }
  for (const p of o.propagation) mountSyscall(null, target, null, p, null, `${what} (propagation)`);
}

/** Mounts each of `mounts` on `target`, in order (containerd's mount.All). */
export function mountAll(mounts: readonly HostMount[], target: string): void {
  for (const m of mounts) mountOne(m, target);
}

/** Changes the propagation of the mount at `target` (MS.PRIVATE, MS.SLAVE, ... with MS.REC or not). */
export function setPropagation(target: string, propagation: number): void {
  mountSyscall(null, target, null, propagation, null, `set the propagation of ${target}`);
}

/** Bind-mounts `source` on `target` (not recursive). */
export function bindMount(source: string, target: string): void {
  mountSyscall(source, target, null, MS.BIND, null, `bind ${source} on ${target}`);
}

/**
 * Unmounts `target` and whatever is mounted below it, deepest and newest first (umount -R); with
 * `lazy`, each is detached now and cleaned up when no longer busy (umount -l).
 */
export function unmountAll(target: string, opts: { lazy?: boolean } = {}): void {
  if (!existsSync(target)) return; // nothing is mounted on or below a path that does not exist
  if (unmountedAlone(target, opts.lazy ? MNT_DETACH : 0)) return;
  const below = `${target.replace(/\/+$/, '')}/`;
  // mountinfo lists mounts in the order they were made; the reverse undoes stacked mounts too.
  const points = mountPoints().filter((p) => p === target || p.startsWith(below)).reverse();
  for (const p of points) umountSyscall(p, opts.lazy ? MNT_DETACH : 0, `unmount ${p}`);
}

/**
 * The common case without reading the mount table: `target` is a mount point with nothing mounted
 * below it (a container's rootfs, a /dev/shm, a netns file). Unmounts it, and what was stacked
 * under it, and says whether that was all; false leaves the rest to the mount table walk.
 */
function unmountedAlone(target: string, flags: number): boolean {
  if (isMountRoot(target) !== true) return false;
  do {
    try {
      umountSyscall(target, flags, `unmount ${target}`);
    } catch (err) {
      if (errnoOf(err) === EBUSY) return false; // mounts below it, or in use: walk the table
      throw err;
    }
  } while (isMountRoot(target) === true);
  return true;
}

/** The mount points of this mount namespace, decoded (mountinfo escapes spaces as \040). */
export function mountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean)
    .map((l) => l.split(' ')[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}

/** Whether something is mounted on `path` itself (statx; the mount table where statx cannot tell). */
export function isMountPoint(path: string): boolean {
  return isMountRoot(path) ?? mountPoints().includes(path);
}
