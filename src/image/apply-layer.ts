// Applying a layer tar (plain or gzip) to a snapshot directory: files, directories, symlinks,
// hardlinks, devices and fifos with their owners, modes, mtimes and xattrs, and the layer's
// whiteouts — `.wh.NAME` deletes NAME below, `.wh..wh..opq` hides everything below a directory.
// On an overlay upper layer whiteouts become overlay's own (a 0:0 character device, the
// trusted.overlay.opaque xattr); on a plain directory (the naive snapshotter) they delete.
// Every path is resolved inside the root (secure-path.ts): a hostile layer writes nothing outside.
import { spawnSync } from 'node:child_process';
import { createHash, type Hash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { chmodSync, closeSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, readdirSync, rmSync, symlinkSync, utimesSync, writeSync, constants as fsc } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { BerthError, invalid } from '../common/errors.js';
import { cleanEntryPath, resolveDir, resolveInRoot } from './secure-path.js';
import { readTar, type TarHeader } from './tar-reader.js';
import { zstd } from './zstd.js';

/** overlay: whiteouts become overlay's; remove: they delete; literal: `.wh.` names are plain files (docker cp). */
export type WhiteoutMode = 'overlay' | 'remove' | 'literal';

export interface ApplyResult {
  /** Bytes of file content written. */
  size: number;
  entries: number;
  /** The uncompressed tar's digest (its diff ID) and length. */
  diffId: string;
  tarSize: number;
}

const WH = '.wh.';
const OPAQUE = '.wh..wh..opq';

function tool(cmd: string, args: string[], what: string): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new BerthError('INTERNAL', `${what}: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`);
}

function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/**
 * A layer stream, decompressed if it is gzip or zstd (told by its magic bytes, not its media type:
 * registries mislabel).
 */
export async function* decompressed(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  // The magic is 4 bytes, and a source may give fewer at first (a network read can be 1 byte).
  const firsts: Buffer[] = [];
  let n = 0;
  while (n < 4) {
    const r = await it.next();
    if (r.done) break;
    firsts.push(r.value);
    n += r.value.length;
  }
  if (n === 0) return;
  const head = firsts.length === 1 ? firsts[0]! : Buffer.concat(firsts);
  const rest = (async function* () {
    yield head;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  })();
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) yield* zstd(rest, 'decompress');
  else if (head[0] === 0x1f && head[1] === 0x8b) yield* through(createGunzip({ chunkSize: 256 * 1024 }), rest); // big chunks: fewer writes
  else yield* rest;
}

/** Pipes `source` through a transform, with backpressure, yielding its output. */
async function* through(t: Duplex, source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const feed = (async () => {
    for await (const chunk of source) if (!t.write(chunk)) await new Promise((r) => t.once('drain', r));
    t.end();
  })();
  feed.catch((err: Error) => t.destroy(err));
  for await (const chunk of t) yield chunk as Buffer;
  await feed;
}

/** Passes chunks through while hashing them (the uncompressed tar's digest is the diff ID). */
async function* hashing(source: AsyncIterable<Buffer>, hash: Hash, counted: { bytes: number }): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    hash.update(chunk);
    counted.bytes += chunk.length;
    yield chunk;
  }
}

/**
 * Applies a layer; with `diffId` (the image config's rootfs.diff_ids entry) the uncompressed tar
 * must hash to it, or the apply fails (the caller discards the snapshot).
 */
export async function applyLayer(root: string, layer: AsyncIterable<Buffer>, whiteouts: WhiteoutMode, opts: { diffId?: string } = {}): Promise<ApplyResult> {
  const result: ApplyResult = { size: 0, entries: 0, diffId: '', tarSize: 0 };
  const hash = createHash('sha256');
  const counted = { bytes: 0 };
  const created = new Set<string>(); // paths this layer made: an opaque whiteout keeps them
  const dirTimes: Array<[string, Date]> = [];
  const tar = hashing(decompressed(layer), hash, counted);
  for await (const { header, body } of readTar(tar)) {
    result.entries++;
    const parts = cleanEntryPath(header.name);
    if (parts.length === 0) continue; // the layer's root: the snapshot keeps its own
    const base = parts.at(-1)!;
    const parentParts = parts.slice(0, -1);
    if (base === OPAQUE && whiteouts !== 'literal') {
      const dir = resolveDir(root, parentParts);
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      if (whiteouts === 'overlay') tool('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', dir], `opaque directory ${header.name}`);
      else for (const n of readdirSync(dir)) if (!created.has(join(dir, n))) rmSync(join(dir, n), { recursive: true, force: true });
      continue;
    }
    if (base.startsWith(WH) && whiteouts !== 'literal') {
      const target = resolveInRoot(root, [...parentParts, base.slice(WH.length)]);
      mkdirSync(resolveDir(root, parentParts), { recursive: true, mode: 0o755 });
      rmSync(target, { recursive: true, force: true });
      if (whiteouts === 'overlay') tool('mknod', ['-m', '0', target, 'c', '0', '0'], `whiteout ${header.name}`);
      continue;
    }
    const path = resolveInRoot(root, parts);
    mkdirSync(resolveDir(root, parentParts), { recursive: true, mode: 0o755 });
    const existing = lstatOrUndefined(path);
    if (existing && !(existing.isDirectory() && header.type === 'dir')) rmSync(path, { recursive: true, force: true });
    created.add(path);
    result.size += await createEntry(root, path, header, body, !!existing?.isDirectory());
    if (header.type === 'link') continue; // the inode it shares has its owner, mode and times
    lchownSync(path, header.uid, header.gid);
    if (header.type !== 'symlink') chmodSync(path, header.mode); // after chown, which clears set-id bits
    for (const [name, value] of Object.entries(header.xattrs)) tool('setfattr', ['-h', '-n', name, '-v', `0x${value.toString('hex')}`, path], `xattr ${name} on ${header.name}`);
    if (header.type === 'dir') dirTimes.push([path, header.mtime]);
    else lutimesSync(path, header.mtime, header.mtime);
  }
  // Directory times last: creating their children changed them.
  for (const [path, mtime] of dirTimes.reverse()) utimesSync(path, mtime, mtime);
  for await (const _ of tar) {
    // the end-of-archive blocks and any padding after them count toward the diff ID
  }
  result.diffId = `sha256:${hash.digest('hex')}`;
  result.tarSize = counted.bytes;
  if (opts.diffId && result.diffId !== opts.diffId) throw new BerthError('FAILED_PRECONDITION', `layer content has diff ID ${result.diffId}, want ${opts.diffId}: the layer does not match the image's config`);
  return result;
}

async function createEntry(root: string, path: string, h: TarHeader, body: AsyncIterable<Buffer>, isDir: boolean): Promise<number> {
  switch (h.type) {
    case 'dir':
      if (!isDir) mkdirSync(path, { mode: 0o700 });
      return 0;
    case 'file': {
      // O_EXCL|O_NOFOLLOW: the path was just cleared; nothing may have put a link there. Plain
      // sync calls: a layer is mostly small files, and a thread-pool round trip per open, write
      // and close cost more than the writes themselves.
      const fd = openSync(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
      let n = 0;
      try {
        for await (const chunk of body) {
          for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
          n += chunk.length;
        }
      } finally {
        closeSync(fd);
      }
      return n;
    }
    case 'symlink':
      symlinkSync(h.linkname, path);
      return 0;
    case 'link': {
      const target = resolveInRoot(root, cleanEntryPath(h.linkname));
      const st = lstatOrUndefined(target);
      if (!st) throw invalid(`layer entry ${h.name}: hardlink target ${h.linkname} is not in the layer stack`);
      if (st.isDirectory()) throw invalid(`layer entry ${h.name}: hardlink to a directory`);
      linkSync(target, path);
      return 0;
    }
    case 'char':
    case 'block':
    case 'fifo': {
      const kind = h.type === 'char' ? ['c', String(h.devmajor), String(h.devminor)] : h.type === 'block' ? ['b', String(h.devmajor), String(h.devminor)] : ['p'];
      tool('mknod', ['-m', '0600', path, ...kind], `device ${h.name}`);
      return 0;
    }
  }
}
