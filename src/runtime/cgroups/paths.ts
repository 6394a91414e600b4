// Where a container's cgroup lives, from the spec's linux.cgroupsPath, as runc's cgroupfs
// driver places it:
// - absolute ("/berth/<id>"): that path below each hierarchy's mount point;
// - relative ("berth/<id>"): below the calling process's own cgroup (v1, per hierarchy), or
//   below the parent of its own cgroup (v2: the own cgroup holds processes, so controllers
//   cannot be enabled for its children);
// - empty: the container id, relative.
import { posix } from 'node:path';
import { invalid } from '../../common/errors.js';
import type { ProcCgroupEntry, V1Hierarchy } from './detect.js';

export interface InnerPath {
  /** Cleaned: no "..", no "." and no repeated or trailing slashes; never escapes upwards. */
  path: string;
  absolute: boolean;
}

export function innerPath(cgroupsPath: string | undefined, id: string): InnerPath {
  const raw = cgroupsPath ?? '';
  const wanted = raw === '' ? id : raw;
  const absolute = wanted.startsWith('/');
  // Cleaning under a fake "/" drops leading ".." so a relative path cannot climb out.
  const cleaned = posix.normalize(posix.join('/', wanted)).replace(/\/+$/, '');
  if (cleaned === '') {
    const field = raw === '' ? 'container id' : 'linux.cgroupsPath';
    throw invalid(`${field}: ${JSON.stringify(wanted)} names the cgroup root itself; give a path such as "/berth/<id>"`);
  }
  return { path: absolute ? cleaned : cleaned.slice(1), absolute };
}

/** A path from /proc/self/cgroup, made relative to a mount whose root is `mountRoot`. */
function withinMount(cgroupPath: string, mountRoot: string): string {
  if (mountRoot === '/' || mountRoot === '') return cgroupPath;
  if (cgroupPath === mountRoot) return '/';
  if (cgroupPath.startsWith(mountRoot + '/')) return cgroupPath.slice(mountRoot.length);
  return cgroupPath;
}

const sameSet = (a: string[], b: string[]): boolean => a.length === b.length && a.every((x) => b.includes(x));

/** The container's directory in one v1 hierarchy. */
export function v1Dir(h: V1Hierarchy, inner: InnerPath, own: ProcCgroupEntry[]): string {
  if (inner.absolute) return posix.join(h.mountpoint, inner.path);
  const entry = own.find((e) => sameSet(e.controllers, h.controllers));
  const base = entry ? withinMount(entry.path, h.root) : '/';
  return posix.join(h.mountpoint, base, inner.path);
}

/** The container's directory in the v2 hierarchy mounted at `root`. */
export function v2Dir(root: string, mountRoot: string, inner: InnerPath, own: ProcCgroupEntry[]): string {
  if (inner.absolute) return posix.join(root, inner.path);
  const entry = own.find((e) => e.controllers.length === 0);
  const base = entry ? posix.dirname(withinMount(entry.path, mountRoot)) : '/';
  return posix.join(root, base, inner.path);
}
