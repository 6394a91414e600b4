// The reverse of applying a layer: what a snapshot changed, as a layer tar (for commit and build).
// On overlay the snapshot's own upper directory is the change set (whiteout devices and opaque
// directories turned back into `.wh.` entries); on a naive copy it is found by walking the copy
// beside its parent, as containerd's double walk does.
import { createReadStream, lstatSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import { join, posix } from 'node:path';
import { BerthError } from '../common/errors.js';
import { getXattr } from '../sys/libc.js';
import { tarHeader, tarPadding, TAR_END, type TarWriteHeader } from './tar-writer.js';

export interface Change {
  /** Relative to the snapshot root, "/"-separated. */
  path: string;
  kind: 'add' | 'delete' | 'opaque';
}

function lstatBig(path: string): BigIntStats | undefined {
  try {
    return lstatSync(path, { bigint: true });
  } catch {
    return undefined;
  }
}

/** Whether overlayfs marked this upper directory opaque: its lower directories' content is hidden. */
function isOpaque(dir: string, rel: string): boolean {
  // "y" only: "x" (Linux 6.7) marks a directory that holds xattr whiteouts, which is not opaque.
  return getXattr(dir, 'trusted.overlay.opaque', `diff: ${rel}`)?.toString() === 'y';
}

export function overlayChanges(upper: string): Change[] {
  const changes: Change[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(upper, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(upper, path), { bigint: true });
      if (st.isCharacterDevice() && st.rdev === 0n) {
        changes.push({ path, kind: 'delete' });
        continue;
      }
      changes.push({ path, kind: 'add' });
      if (st.isDirectory()) {
        if (isOpaque(join(upper, path), path)) changes.push({ path, kind: 'opaque' });
        walk(path);
      }
    }
  };
  walk('');
  return changes;
}

function differs(a: BigIntStats, b: BigIntStats, pathA: string, pathB: string): boolean {
  if ((a.mode & 0o170000n) !== (b.mode & 0o170000n) || a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) return true;
  if (a.isDirectory()) return a.mtimeNs !== b.mtimeNs;
  if (a.size !== b.size || a.mtimeNs !== b.mtimeNs || a.rdev !== b.rdev) return true;
  return a.isSymbolicLink() && readlinkSync(pathA) !== readlinkSync(pathB);
}

/** What `upper` (a full copy) changed relative to `lower` (its parent's tree, if any). */
export function naiveChanges(lower: string | undefined, upper: string): Change[] {
  const changes: Change[] = [];
  const added = new Set<string>();
  const add = (path: string) => {
    // A changed entry's directories go first, so the layer recreates them with their metadata.
    const parts = path.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      if (!added.has(p)) {
        added.add(p);
        changes.push({ path: p, kind: 'add' });
      }
    }
  };
  const walk = (rel: string, hasLower: boolean) => {
    const up = new Set(readdirSync(join(upper, rel)));
    const low = hasLower && lower ? readdirSync(join(lower, rel)) : [];
    for (const name of low.sort()) {
      if (up.has(name)) continue;
      if (rel) add(rel);
      changes.push({ path: rel ? `${rel}/${name}` : name, kind: 'delete' });
    }
    for (const name of [...up].sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const u = lstatSync(join(upper, path), { bigint: true });
      const l = hasLower && lower ? lstatBig(join(lower, path)) : undefined;
      if (!l || differs(u, l, join(upper, path), join(lower!, path))) add(path);
      if (u.isDirectory()) walk(path, !!l?.isDirectory());
    }
  };
  walk('', lower !== undefined);
  return changes;
}

/** Docker's ChangesSize: the bytes of the entries among `changes` that are not directories, hard links once. */
export function changesSize(root: string, changes: readonly Change[]): number {
  let size = 0;
  const seen = new Set<bigint>();
  for (const c of changes) {
    if (c.kind !== 'add') continue;
    const st = lstatBig(join(root, c.path));
    if (!st || st.isDirectory()) continue;
    if (st.nlink > 1n) {
      if (seen.has(st.ino)) continue;
      seen.add(st.ino);
    }
    size += Number(st.size);
  }
  return size;
}

/**
 * The extended attributes a layer carries, as Docker's and containerd's diffs do: file capabilities
 * only (a setcap'd binary keeps them); overlay's own trusted.overlay.* marks and the rest stay out.
 */
function carriedXattrs(host: string, path: string): Record<string, Buffer> | undefined {
  const capability = getXattr(host, 'security.capability', `diff: ${path}`);
  return capability ? { 'security.capability': capability } : undefined;
}

/** The layer tar of `changes`, with the entries' content and metadata read from `root`. */
export async function* writeLayer(root: string, changes: readonly Change[]): AsyncGenerator<Buffer> {
  const firstLink = new Map<string, string>(); // dev:ino → the first path written for it
  for (const c of changes) {
    const dir = posix.dirname(c.path);
    const inDir = (name: string) => (dir === '.' ? name : `${dir}/${name}`);
    if (c.kind === 'delete') {
      yield tarHeader({ name: inDir(`.wh.${posix.basename(c.path)}`), type: 'file', mode: 0 });
      continue;
    }
    if (c.kind === 'opaque') {
      yield tarHeader({ name: `${c.path}/.wh..wh..opq`, type: 'file', mode: 0 });
      continue;
    }
    const host = join(root, c.path);
    const st = lstatSync(host, { bigint: true });
    const base: Omit<TarWriteHeader, 'type'> = { name: c.path, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtime: new Date(Number(st.mtimeNs / 1_000_000n)), xattrs: carriedXattrs(host, c.path) };
    if (st.isDirectory()) yield tarHeader({ ...base, name: `${c.path}/`, type: 'dir' });
    else if (st.isSymbolicLink()) yield tarHeader({ ...base, type: 'symlink', linkname: readlinkSync(host) });
    else if (st.isFIFO()) yield tarHeader({ ...base, type: 'fifo' });
    else if (st.isCharacterDevice() || st.isBlockDevice()) {
      const rdev = Number(st.rdev);
      yield tarHeader({ ...base, type: st.isCharacterDevice() ? 'char' : 'block', devmajor: (rdev >> 8) & 0xfff, devminor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00) });
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1n ? firstLink.get(key) : undefined;
      if (first !== undefined) {
        yield tarHeader({ ...base, type: 'link', linkname: first });
        continue;
      }
      if (st.nlink > 1n) firstLink.set(key, c.path);
      const size = Number(st.size);
      yield tarHeader({ ...base, type: 'file', size });
      let sent = 0;
      for await (const chunk of createReadStream(host, { start: 0, end: Math.max(size - 1, 0) })) {
        if (size === 0) break;
        sent += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      if (sent !== size) throw new BerthError('INTERNAL', `diff: ${c.path} changed size while it was read`);
      yield tarPadding(size);
    }
  }
  yield TAR_END;
}
