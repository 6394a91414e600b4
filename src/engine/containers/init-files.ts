// What the engine puts into a container's root filesystem for itself rather than for the
// container: mount points for the /etc files it binds and the kernel filesystems, Docker's
// /.dockerenv marker and an /etc/mtab link. Docker keeps these in a per-container init layer
// under the container's own, so `docker diff` and `docker commit` (and a build's RUN layers)
// never show them; berth makes them in the container's layer and leaves them out of both.
import { closeSync, constants, lstatSync, openSync, realpathSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { errnoOf } from '../../common/errors.js';
import { isPathUnder } from '../../common/paths.js';
import type { Change } from '../../image/diff-layer.js';
import { cleanEntryPath, resolveDir } from '../../image/secure-path.js';

/** The init paths, relative to the root as diffs name them (Docker's initlayer.Setup list). */
const INIT_PATHS = new Set([
  'etc/hostname', 'etc/hosts', 'etc/resolv.conf', 'etc/mtab', '.dockerenv', 'dev', 'dev/console', 'dev/pts', 'dev/shm', 'proc', 'sys',
]);

/** `/` + path: whether the image's layers have it. */
export type InLower = (path: string) => boolean;

/**
 * The changes without the init paths the container's layer gained, and without the directories
 * that are there only to hold them (copied up from the image, nothing else changed beneath).
 * Deletions stay: a container that removed one really did.
 */
export function withoutInitFiles(changes: readonly Change[], inLower: InLower): Change[] {
  const isInit = (c: Change) => c.kind === 'add' && INIT_PATHS.has(c.path);
  const kept = changes.filter((c) => !isInit(c));
  const holders = new Set(changes.filter(isInit).flatMap((c) => ancestors(c.path)));
  const holdingOthers = new Set(kept.flatMap((c) => ancestors(c.path)));
  return kept.filter((c) => !(c.kind === 'add' && holders.has(c.path) && !holdingOthers.has(c.path) && inLower(c.path)));
}

/** "a/b/c" → ["a", "a/b"]. */
function ancestors(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

/**
 * Docker's /.dockerenv (an empty file, which tools check to know they run in a container) and
 * /etc/mtab → /proc/mounts, where the image has neither. Resolved inside the rootfs: an image's
 * symlinks never lead them out of it.
 */
export function makeInitFiles(rootfs: string): void {
  const root = realpathSync(rootfs);
  try {
    closeSync(openSync(join(root, '.dockerenv'), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o755));
  } catch (err) {
    if (errnoOf(err) !== 'EEXIST') throw err;
  }
  const etc = resolveDir(root, cleanEntryPath('/etc'));
  let isDir = false;
  try {
    isDir = lstatSync(etc).isDirectory();
  } catch {
    // no /etc: nothing to link in
  }
  if (!isDir || !isPathUnder(etc, root)) return;
  try {
    symlinkSync('/proc/mounts', join(etc, 'mtab'));
  } catch (err) {
    if (errnoOf(err) !== 'EEXIST') throw err;
  }
}
