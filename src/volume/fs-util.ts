// File system helpers of the volume store: durable metadata writes and the mount table (from
// src/sys), a removal that never crosses into another file system, and the size of a tree.
import { lstatSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../common/errors.js';
import { writeFileAtomic as atomicWrite } from '../sys/fs-atomic.js';
import { isMountPoint, mountPoints } from '../sys/mount.js';
import { isPathUnder } from '../common/paths.js';

/** isMountpoint: whether something is mounted on a path itself. */
export { mountPoints, isMountPoint as isMountpoint };

/** Data fsynced, renamed into place, directory fsynced (private to root by default). */
export const writeFileAtomic = (path: string, data: string, mode = 0o600): void => atomicWrite(path, data, mode);



/** Mount points at or below `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  return mountPoints().filter((m) => isPathUnder(m, dir)).sort((a, b) => b.length - a.length);
}

/**
 * Removes `dir` and everything in it without following a symlink or entering a directory on
 * another file system (a mount the caller failed to take away): such a tree is an error, and
 * whatever it holds is left alone.
 */
export function removeTree(dir: string): void {
  let st;
  try {
    st = lstatSync(dir);
  } catch {
    return;
  }
  if (!st.isDirectory()) {
    unlinkSync(dir);
    return;
  }
  const walk = (path: string, dev: number): void => {
    for (const name of readdirSync(path)) {
      const p = join(path, name);
      const s = lstatSync(p);
      if (s.isDirectory()) {
        if (s.dev !== dev) throw new BerthError('FAILED_PRECONDITION', `${p} is a mount point: unmount it before removing the volume`);
        walk(p, dev);
        rmdirSync(p);
      } else {
        unlinkSync(p);
      }
    }
  };
  walk(dir, st.dev);
  rmdirSync(dir);
}

/** Bytes in the regular files (and symlinks) below `dir`, each inode counted once, as Docker's directory.Size. */
export function treeSize(dir: string): number {
  const seen = new Set<string>();
  let size = 0;
  const walk = (path: string): void => {
    let names: string[];
    try {
      names = readdirSync(path);
    } catch {
      return;
    }
    for (const name of names) {
      const p = join(path, name);
      let s;
      try {
        s = lstatSync(p);
      } catch {
        continue; // gone meanwhile
      }
      if (s.isDirectory()) {
        walk(p);
        continue;
      }
      const key = `${s.dev}:${s.ino}`;
      if (s.size === 0 || seen.has(key)) continue;
      seen.add(key);
      size += s.size;
    }
  };
  walk(dir);
  return size;
}
