// Mount destinations inside the container's root filesystem, resolved from the host the way a
// chroot would see them: every symlink is followed with the rootfs as "/" and ".." stops at the
// rootfs, so an image whose /data -> /etc (or -> ../../../../host) gets its mount on its own
// /etc (or /host), never on the host's. The last component is followed too, as runc does for a
// mount destination. Missing mount points are created one component at a time, each checked
// with lstat, so nothing is ever created through a symlink.
import { closeSync, constants, lstatSync, mkdirSync, openSync, readlinkSync, realpathSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { errnoOf, invalid } from '../common/errors.js';
import { isPathUnder } from '../common/paths.js';

const MAX_LINKS = 255;

export interface RootfsPath {
  /** The path as the container sees it, with no symlink left in it ("/etc" for a /data -> /etc). */
  containerPath: string;
  /** The same on the host: <rootfs>/<containerPath>. */
  hostPath: string;
}


function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Resolves the absolute in-container `path` inside `rootfs` (which must itself be a real path,
 * e.g. from realpathSync). Missing components are kept as they are; a component that exists
 * but is not a directory while more follow is an error.
 */
export function resolveInRootfs(rootfs: string, path: string): RootfsPath {
  if (!path.startsWith('/')) throw invalid(`invalid mount path: '${path}' mount path must be absolute`);
  const done: string[] = [];
  const todo = path.split('/');
  let links = 0;
  while (todo.length) {
    const part = todo.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      done.pop(); // never above the root
      continue;
    }
    const host = join(rootfs, ...done, part);
    const st = lstatOrUndefined(host);
    if (st?.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw invalid(`${path} in the container: too many levels of symbolic links`);
      const target = readlinkSync(host);
      if (target.startsWith('/')) done.length = 0;
      todo.unshift(...target.split('/'));
      continue;
    }
    if (st && !st.isDirectory() && todo.some((p) => p !== '')) throw invalid(`${path} in the container: /${[...done, part].join('/')} is not a directory`);
    done.push(part);
  }
  return { containerPath: `/${done.join('/')}`, hostPath: join(rootfs, ...done) };
}

/**
 * Makes sure `containerPath` (already resolved: no symlinks) exists in `rootfs` as a mount point
 * of `kind`: missing directories are created (0755), a missing file mount point as an empty
 * file. Returns whether it existed before. An existing entry of the other kind is an error
 * (Docker's "cannot mount volume over existing file"), and so is a symlink met on the way
 * (the tree changed since it was resolved).
 */
export function ensureMountpoint(rootfs: string, containerPath: string, kind: 'dir' | 'file'): boolean {
  const parts = containerPath.split('/').filter(Boolean);
  let cur = rootfs;
  let existed = true;
  parts.forEach((part, i) => {
    const next = join(cur, part);
    const last = i === parts.length - 1;
    let st = lstatOrUndefined(next);
    if (!st) {
      existed = false;
      try {
        if (last && kind === 'file') closeSync(openSync(next, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, 0o644));
        else mkdirSync(next, 0o755);
      } catch (err) {
        throw invalid(`creating the mount point ${containerPath} in the container: ${(err as Error).message}`);
      }
      st = lstatSync(next);
    }
    const at = `/${parts.slice(0, i + 1).join('/')}`;
    if (st.isSymbolicLink()) throw invalid(`mount point ${containerPath} in the container: ${at} became a symbolic link while it was being set up`);
    if (!last && !st.isDirectory()) throw invalid(`mount point ${containerPath} in the container: ${at} is not a directory`);
    if (last && kind === 'dir' && !st.isDirectory()) throw invalid(`cannot mount volume over existing file, file exists ${containerPath}`);
    if (last && kind === 'file' && st.isDirectory()) throw invalid(`cannot mount a file over the directory ${containerPath} in the container`);
    cur = next;
  });
  // Belt and braces: what was made or found is inside the rootfs.
  const real = realpathSync(cur);
  if (!isPathUnder(real, rootfs)) throw invalid(`mount point ${containerPath} resolves outside the container's root filesystem`);
  return existed;
}
