// Applying a layer tar (plain or gzip) to a snapshot directory: files, directories, symlinks,
// hardlinks, devices and fifos with their owners, modes, mtimes and xattrs, and the layer's
// whiteouts — `.wh.NAME` deletes NAME below, `.wh..wh..opq` hides everything below a directory.
// On an overlay upper layer whiteouts become overlay's own (a 0:0 character device, the
// trusted.overlay.opaque xattr); on a plain directory (the naive snapshotter) they delete.
// Every path is resolved inside the root (secure-path.ts): a hostile layer writes nothing outside.
import { createHash, type Hash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { chmodSync, closeSync, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, readdirSync, rmSync, symlinkSync, utimesSync, writeSync, constants as fsc } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { BerthError, errnoOf, invalid } from '../common/errors.js';
import { WriteBehind } from '../common/write-behind.js';
import { mknodSyscall, setXattr } from '../sys/libc.js';
import { cleanEntryPath, DirResolver, resolveInRoot } from './secure-path.js';
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
/** Files at least this big are written off the event loop's thread. */
const BIG_FILE = 1 << 20;
const OPAQUE = '.wh..wh..opq';
/** overlayfs's marks: a 0:0 character device hides a name, this xattr (value "y") a directory's lower content. */
const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';

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
  else if (head[0] === 0x1f && head[1] === 0x8b) yield* through(createGunzip({ chunkSize: 4 << 20 }), rest, GATHER);
  else yield* rest;
}

/**
 * The size gzip input is gathered to: each zlib write is a round trip to the thread pool (fed a
 * network read's 64 KiB at a time, unpacking 100 MB took a third longer). Its output comes in
 * buffers of 4 MiB: with a daemon-sized heap, fewer and bigger allocations were measured to cost
 * less garbage collection than 256 KiB ones.
 */
const GATHER = 1 << 20;

/**
 * Pipes `source` through a transform, with backpressure, yielding its output. With `gather`,
 * chunks are first copied into buffers of that size, two of them in turn, each filled again once
 * the transform has consumed it: fewer, bigger writes, without allocating a buffer for each.
 */
async function* through(t: Duplex, source: AsyncIterable<Buffer>, gather = 0): AsyncGenerator<Buffer> {
  const write = (chunk: Buffer) => new Promise<void>((resolve, reject) => void t.write(chunk, (err) => (err ? reject(err) : resolve())));
  const feed = (async () => {
    if (!gather) {
      for await (const chunk of source) if (!t.write(chunk)) await new Promise((r) => t.once('drain', r));
    } else {
      const bufs = [Buffer.allocUnsafe(gather), Buffer.allocUnsafe(gather)];
      const written: Array<Promise<void>> = [Promise.resolve(), Promise.resolve()];
      let cur = 0;
      let fill = 0;
      const flush = async () => {
        written[cur] = write(bufs[cur]!.subarray(0, fill));
        cur = 1 - cur;
        fill = 0;
        await written[cur]; // the other buffer is free once the transform is done with it
      };
      for await (const chunk of source) {
        for (let off = 0; off < chunk.length; ) {
          const n = chunk.copy(bufs[cur]!, fill, off);
          fill += n;
          off += n;
          if (fill === gather) await flush();
        }
      }
      if (fill) await flush();
      await Promise.all(written);
    }
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
  const dirs = new DirResolver(root);
  const remove = (path: string) => {
    rmSync(path, { recursive: true, force: true });
    dirs.forget(); // what was there may have been a directory some entry's path went through
  };
  for await (const { header, body } of readTar(tar)) {
    result.entries++;
    const parts = cleanEntryPath(header.name);
    if (parts.length === 0) continue; // the layer's root: the snapshot keeps its own
    const base = parts.at(-1)!;
    const parentParts = parts.slice(0, -1);
    if (base === OPAQUE && whiteouts !== 'literal') {
      const dir = dirs.dir(parentParts);
      if (whiteouts === 'overlay') setXattr(dir, OVERLAY_OPAQUE_XATTR, Buffer.from('y'), `opaque directory ${header.name}`);
      else for (const n of readdirSync(dir)) if (!created.has(join(dir, n))) remove(join(dir, n));
      continue;
    }
    if (base.startsWith(WH) && whiteouts !== 'literal') {
      const target = join(dirs.dir(parentParts), base.slice(WH.length));
      remove(target);
      if (whiteouts === 'overlay') mknodSyscall(target, fsc.S_IFCHR, 0, 0, `whiteout ${header.name}`);
      continue;
    }
    const path = join(dirs.dir(parentParts), base);
    created.add(path);
    if (header.type === 'file') {
      // Most entries: content, owner, mode and times through one descriptor.
      result.size += await writeFile(path, header, body, remove);
      setXattrs(path, header);
      continue;
    }
    const existing = lstatOrUndefined(path);
    if (existing && !(existing.isDirectory() && header.type === 'dir')) remove(path);
    createEntry(root, path, header, !!existing?.isDirectory());
    if (header.type === 'symlink') dirs.forget(); // a path may go through it from now on
    if (header.type === 'dir') dirs.add(parts, path);
    if (header.type === 'link') continue; // the inode it shares has its owner, mode and times
    lchownSync(path, header.uid, header.gid);
    if (header.type !== 'symlink') chmodSync(path, header.mode); // after chown, which clears set-id bits
    setXattrs(path, header);
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

/** Creates an entry other than a regular file (writeFile's). */
function createEntry(root: string, path: string, h: TarHeader, isDir: boolean): void {
  switch (h.type) {
    case 'dir':
      if (!isDir) mkdirSync(path, { mode: 0o700 });
      return;
    case 'file':
      throw new BerthError('INTERNAL', `layer entry ${h.name}: regular files are written by writeFile`);
    case 'symlink':
      symlinkSync(h.linkname, path);
      return;
    case 'link': {
      const target = resolveInRoot(root, cleanEntryPath(h.linkname));
      const st = lstatOrUndefined(target);
      if (!st) throw invalid(`layer entry ${h.name}: hardlink target ${h.linkname} is not in the layer stack`);
      if (st.isDirectory()) throw invalid(`layer entry ${h.name}: hardlink to a directory`);
      linkSync(target, path);
      return;
    }
    case 'char':
    case 'block':
    case 'fifo': {
      // Owner-only until the caller's chown and chmod give it the entry's; a FIFO has no numbers.
      const type = h.type === 'char' ? fsc.S_IFCHR : h.type === 'block' ? fsc.S_IFBLK : fsc.S_IFIFO;
      mknodSyscall(path, type | 0o600, h.devmajor, h.devminor, `device ${h.name}`);
      return;
    }
  }
}

const CREATE = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW;

/**
 * Creates a regular file with its content, owner, mode and times, all through one descriptor (no
 * path walk but the open's). O_EXCL|O_NOFOLLOW: nothing may be at the name, not even a link an
 * earlier entry planted; what is there is removed (`remove`) and the open tried again, which
 * spares a new file (nearly every one) an lstat. Plain sync calls: a layer is mostly small files,
 * and a thread-pool round trip per call cost more than the calls.
 */
async function writeFile(path: string, h: TarHeader, body: AsyncIterable<Buffer>, remove: (path: string) => void): Promise<number> {
  let fd: number;
  try {
    fd = openSync(path, CREATE, 0o600);
  } catch (err) {
    if (errnoOf(err) !== 'EEXIST') throw err;
    remove(path);
    fd = openSync(path, CREATE, 0o600);
  }
  let n = 0;
  try {
    if (h.size >= BIG_FILE) {
      // A big file's writes go to the thread pool while this thread decompresses and hashes.
      const out = new WriteBehind(fd);
      try {
        for await (const chunk of body) await out.push(chunk);
      } finally {
        await out.flush();
      }
      n = out.written;
    } else {
      for await (const chunk of body) {
        for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
        n += chunk.length;
      }
    }
    fchownSync(fd, h.uid, h.gid);
    fchmodSync(fd, h.mode); // after chown, which clears set-id bits
    futimesSync(fd, h.mtime, h.mtime);
  } finally {
    closeSync(fd);
  }
  return n;
}

/** The entry's extended attributes (pax SCHILY.xattr.*), set on the path itself (a symlink's own). */
function setXattrs(path: string, h: TarHeader): void {
  for (const [name, value] of Object.entries(h.xattrs)) setXattr(path, name, value, `layer entry ${h.name}`);
}
