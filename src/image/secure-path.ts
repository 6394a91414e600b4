// Resolving a layer entry's path inside the directory it is applied to, the way a chroot would:
// every symlink met on the way is followed with the root as "/" and ".." stopping at the root, so
// no entry can reach outside, whatever links earlier entries planted. The last component is never
// followed: it is what the entry creates or replaces.
import { lstatSync, mkdirSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { invalid } from '../common/errors.js';

const MAX_LINKS = 255;

/**
 * The entry's path as clean components; absolute paths count from the root, like Docker's. A path
 * that climbs above the root with ".." is refused: only a hostile layer writes one.
 */
export function cleanEntryPath(name: string): string[] {
  const clean = posix.normalize(name.replace(/^\/+/, '')).replace(/\/$/, '');
  if (clean === '..' || clean.startsWith('../')) throw invalid(`layer entry "${name}" points outside the layer`);
  return clean === '.' || clean === '' ? [] : clean.split('/');
}

/**
 * The host path of `parts` (relative to `root`): the parent resolved inside root through any
 * symlinks, the last component appended as is.
 */
export function resolveInRoot(root: string, parts: readonly string[]): string {
  if (parts.length === 0) return root;
  return join(resolveDir(root, parts.slice(0, -1)), parts.at(-1)!);
}

/** Resolves every component of `parts` inside root, following symlinks chroot-style. */
export function resolveDir(root: string, parts: readonly string[]): string {
  const done: string[] = [];
  const todo = [...parts];
  let links = 0;
  while (todo.length) {
    const part = todo.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      done.pop(); // never above the root
      continue;
    }
    const host = join(root, ...done, part);
    let isLink = false;
    try {
      isLink = lstatSync(host).isSymbolicLink();
    } catch {
      // missing: the rest is created by the caller
    }
    if (!isLink) {
      done.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw invalid(`too many symlinks resolving ${parts.join('/')}`);
    const target = readlinkSync(host);
    if (target.startsWith('/')) done.length = 0;
    todo.unshift(...target.split('/'));
  }
  return join(root, ...done);
}

/**
 * resolveDir with a memory, for one layer apply: a directory resolved (and made) once needs no
 * walk for the next entry in it. Whoever removes anything under the root, or plants a symlink,
 * calls forget(): a directory removed or replaced by a link must be resolved again.
 */
export class DirResolver {
  private readonly known = new Map<string, string>();

  constructor(private readonly root: string) {}

  /** The host path of the directory `parts`, made with its missing parents if need be. */
  dir(parts: readonly string[]): string {
    const key = parts.join('/');
    let host = this.known.get(key);
    if (host === undefined) {
      host = resolveDir(this.root, parts);
      mkdirSync(host, { recursive: true, mode: 0o755 });
      this.known.set(key, host);
    }
    return host;
  }

  /** Notes that `parts` is the real directory `host`, which the caller just made or found. */
  add(parts: readonly string[], host: string): void {
    this.known.set(parts.join('/'), host);
  }

  forget(): void {
    this.known.clear();
  }
}
