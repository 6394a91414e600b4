// The mount points a RUN --mount needs are made in the step container's root (the engine makes a
// missing target, as for any bind). They are not the step's work: as BuildKit does, the ones that
// did not exist before the step and are still empty afterwards are removed before the commit, so
// `RUN --mount=type=cache,target=/root/.cache` leaves no /root/.cache in the image.
import { lstatSync, readdirSync, rmdirSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import { join, posix } from 'node:path';
import { cleanEntryPath, resolveDir } from '../image/secure-path.js';

// The runtime mounts its own filesystems there: mount points below them never reach the layer.
const RUNTIME_FILESYSTEMS = ['/dev', '/proc', '/sys'];

/**
 * The in-container paths (resolved inside `rootfs`) that mounting at `targets` will create:
 * each missing target and its missing parents, deepest first.
 */
export function missingMountPoints(rootfs: string, targets: readonly string[]): string[] {
  const out: string[] = [];
  for (const target of targets) {
    if (RUNTIME_FILESYSTEMS.some((fs) => target === fs || target.startsWith(`${fs}/`))) continue;
    const host = resolveDir(rootfs, cleanEntryPath(target));
    let rel = `/${host.slice(rootfs.length).replace(/^\/+/, '')}`;
    while (rel !== '/' && lstatSync(join(rootfs, rel), { throwIfNoEntry: false }) === undefined) {
      if (!out.includes(rel)) out.push(rel);
      rel = posix.dirname(rel);
    }
  }
  return out.sort((a, b) => b.split('/').length - a.split('/').length);
}

/** Removes those of `points` that are still an empty directory or file, keeping their parents' times. */
export function removeMountPoints(rootfs: string, points: readonly string[]): void {
  for (const point of points) {
    const parts = cleanEntryPath(point);
    const parent = resolveDir(rootfs, parts.slice(0, -1));
    // a link planted on the way by the step: leave it alone, it is the step's work
    if (parent !== join(rootfs, ...parts.slice(0, -1))) continue;
    const path = join(parent, parts.at(-1)!);
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (!st) continue;
    const emptyDir = st.isDirectory() && readdirSync(path).length === 0;
    const emptyFile = st.isFile() && st.size === 0;
    if (!emptyDir && !emptyFile) continue;
    const times = statSync(parent);
    if (emptyDir) rmdirSync(path);
    else unlinkSync(path);
    utimesSync(parent, times.atime, times.mtime);
  }
}
