// The tar streams of `berth cp` and `berth build`: reading an archive (ustar, pax, GNU long
// names) and extracting it on the host without ever writing through a symlink or outside the
// destination; packing a host path into an archive whose root entry has a chosen name, with
// entries left out by a filter (a build context's .dockerignore); rewriting named entries of an
// archive on its way through; telling an archive from other bytes.
import { constants, type Stats } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, open, readdir, readlink, rm, stat, symlink, utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Transform } from 'node:stream';
import { BerthError } from '../common/errors.js';

export type EntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarHeader {
  name: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  linkname: string;
  devmajor: number;
  devminor: number;
}

const bad = (msg: string) => new BerthError('INVALID_ARGUMENT', msg);

// ---------------------------------------------------------------- reading

const TYPES: Record<string, EntryType> = { '0': 'file', '\0': 'file', '7': 'file', '1': 'link', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo' };

class ByteReader {
  private chunks: Buffer[] = [];
  private readonly it: AsyncIterator<Buffer>;

  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }

  async some(max: number): Promise<Buffer | undefined> {
    if (!this.chunks.length) {
      const r = await this.it.next();
      if (r.done) return undefined;
      this.chunks.push(Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value));
    }
    const first = this.chunks[0]!;
    const n = Math.min(max, first.length);
    if (n === first.length) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    return first.subarray(0, n);
  }

  async exact(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const b = await this.some(n - got);
      if (!b) break;
      parts.push(b);
      got += b.length;
    }
    return Buffer.concat(parts);
  }
}

function field(b: Buffer, off: number, len: number): string {
  const f = b.subarray(off, off + len);
  const nul = f.indexOf(0);
  return f.subarray(0, nul < 0 ? len : nul).toString('utf8');
}

function num(b: Buffer, off: number, len: number): number {
  if (b[off]! & 0x80) {
    let v = 0;
    for (let i = 1; i < len; i++) v = v * 256 + b[off + i]!;
    return v;
  }
  const t = field(b, off, len).trim();
  return t ? parseInt(t, 8) : 0;
}

function parsePax(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    const len = Number(data.subarray(i, sp).toString());
    if (sp < 0 || !Number.isInteger(len) || len <= 0) throw bad('tar: malformed pax header');
    const rec = data.subarray(sp + 1, i + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    out.set(rec.slice(0, eq), rec.slice(eq + 1));
    i += len;
  }
  return out;
}

export interface TarEntry {
  header: TarHeader;
  body: AsyncIterable<Buffer>;
}

/** Entries of a tar stream; each body must be consumed (or skipped) before the next entry. */
export async function* readTar(source: AsyncIterable<Buffer>): AsyncGenerator<TarEntry> {
  const r = new ByteReader(source);
  let pax = new Map<string, string>();
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const block = await r.exact(512);
    if (block.length < 512 || block.every((x) => x === 0)) return;
    const flag = String.fromCharCode(block[156]!);
    const size = num(block, 124, 12);
    const padded = Math.ceil(size / 512) * 512;
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      const data = (await r.exact(padded)).subarray(0, size);
      if (flag === 'x') pax = parsePax(data);
      else if (flag === 'L') longName = field(data, 0, data.length);
      else if (flag === 'K') longLink = field(data, 0, data.length);
      continue;
    }
    const prefix = block.subarray(257, 263).toString() === 'ustar\0' ? field(block, 345, 155) : '';
    const name = pax.get('path') ?? longName ?? (prefix ? `${prefix}/${field(block, 0, 100)}` : field(block, 0, 100));
    const header: TarHeader = {
      name,
      type: TYPES[flag] ?? 'file',
      mode: num(block, 100, 8) & 0o7777,
      uid: pax.has('uid') ? Number(pax.get('uid')) : num(block, 108, 8),
      gid: pax.has('gid') ? Number(pax.get('gid')) : num(block, 116, 8),
      size: pax.has('size') ? Number(pax.get('size')) : size,
      mtime: new Date((pax.has('mtime') ? Number(pax.get('mtime')) : num(block, 136, 12)) * 1000),
      linkname: pax.get('linkpath') ?? longLink ?? field(block, 157, 100),
      devmajor: num(block, 329, 8),
      devminor: num(block, 337, 8),
    };
    pax = new Map();
    longName = longLink = undefined;
    let remaining = header.type === 'file' ? header.size : 0;
    const bodySize = remaining;
    const body = (async function* () {
      while (remaining > 0) {
        const b = await r.some(remaining);
        if (!b) throw bad(`tar archive is truncated in ${name}`);
        remaining -= b.length;
        yield b;
      }
    })();
    yield { header, body };
    while (remaining > 0) {
      const b = await r.some(remaining);
      if (!b) throw bad(`tar archive is truncated in ${name}`);
      remaining -= b.length;
    }
    await r.exact(Math.ceil(bodySize / 512) * 512 - bodySize);
  }
}

// ---------------------------------------------------------------- writing

const FLAGS: Record<EntryType, string> = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

function octal(b: Buffer, off: number, len: number, v: number): void {
  b.write(`${v.toString(8).padStart(len - 1, '0')}\0`, off, len, 'ascii');
}

/**
 * Go's splitUSTARPath: an ASCII name longer than 100 bytes that a '/' splits into a prefix of at
 * most 155 and a name of at most 100 fits a plain ustar header, as Go's tar writer stores it.
 */
function splitUstarName(name: string): [prefix: string, rest: string] | undefined {
  if (name.length <= 100 || !/^[\x00-\x7f]*$/.test(name)) return undefined;
  let length = name.length;
  if (length > 156) length = 156;
  else if (name[length - 1] === '/') length--;
  const i = name.lastIndexOf('/', length - 1);
  const rest = name.length - i - 1;
  if (i <= 0 || rest > 100 || rest === 0 || i > 155) return undefined;
  return [name.slice(0, i), name.slice(i + 1)];
}

function rawHeader(name: string, flag: string, h: Partial<TarHeader>, size: number): Buffer {
  const b = Buffer.alloc(512);
  const split = splitUstarName(name);
  b.write(split ? split[1] : name, 0, 100, 'utf8');
  if (split) b.write(split[0], 345, 155, 'ascii');
  octal(b, 100, 8, h.mode ?? 0o644);
  octal(b, 108, 8, Math.min(h.uid ?? 0, 0o7777777));
  octal(b, 116, 8, Math.min(h.gid ?? 0, 0o7777777));
  octal(b, 124, 12, size);
  octal(b, 136, 12, Math.max(0, Math.floor((h.mtime ?? new Date(0)).getTime() / 1000)));
  b.write(flag, 156, 1, 'ascii');
  b.write(h.linkname ?? '', 157, 100, 'utf8');
  b.write('ustar\x0000', 257, 8, 'ascii');
  octal(b, 329, 8, h.devmajor ?? 0);
  octal(b, 337, 8, h.devminor ?? 0);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return b;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

export const padding = (size: number): Buffer => Buffer.alloc((512 - (size % 512)) % 512);

export function tarHeader(h: TarHeader): Buffer {
  const size = h.type === 'file' ? h.size : 0;
  const pax: string[] = [];
  const nameFits = Buffer.byteLength(h.name) <= 100 || splitUstarName(h.name) !== undefined;
  if (!nameFits) pax.push(paxRecord('path', h.name));
  if (Buffer.byteLength(h.linkname) > 100) pax.push(paxRecord('linkpath', h.linkname));
  if (size > 0o77777777777) pax.push(paxRecord('size', String(size)));
  if (h.uid > 0o7777777) pax.push(paxRecord('uid', String(h.uid)));
  if (h.gid > 0o7777777) pax.push(paxRecord('gid', String(h.gid)));
  const parts: Buffer[] = [];
  if (pax.length) {
    const body = Buffer.from(pax.join(''));
    parts.push(rawHeader('././@PaxHeader', 'x', {}, body.length), body, padding(body.length));
  }
  parts.push(rawHeader(nameFits ? h.name : Buffer.from(h.name).subarray(0, 100).toString('utf8'), FLAGS[h.type], { ...h, linkname: h.linkname.slice(0, 100) }, Math.min(size, 0o77777777777)));
  return Buffer.concat(parts);
}

function typeOf(st: Stats): EntryType | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return undefined; // sockets are not archived
}

/**
 * What a pack leaves out, by paths relative to the packed root ('/'-separated, no leading "./").
 * A build context's .dockerignore is one (moby/patternmatcher semantics live in the matcher).
 */
export interface PackFilter {
  /** True when `relPath` stays out of the archive; an excluded directory's contents with it. */
  isExcluded(relPath: string, isDir: boolean): boolean;
  /**
   * For a directory isExcluded left out: true when it must still be walked, because an exception
   * (a `!` pattern) may bring back something under it. The directory's own entry stays out.
   */
  walkExcludedDir(relDir: string): boolean;
}

export interface PackOptions {
  /** Follow `src` itself when it is a symlink (cp -L). */
  followRoot?: boolean;
  filter?: PackFilter;
  /** The owner every entry gets (a build context is sent as uid/gid 0), instead of the file's. */
  owner?: { uid: number; gid: number };
}

export interface WalkEntry {
  /** The host path. */
  path: string;
  /** The entry's name in the archive ("" for the root of a contents-only pack). */
  name: string;
  /** The path relative to the packed root ("" for the root), as a filter sees it. */
  rel: string;
  st: Stats;
  type: EntryType;
}

/** Directory entries in byte order, as Go's filepath.WalkDir lists them. */
const byteOrder = (names: string[]): string[] => names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

/**
 * The entries packPath archives, in its order (depth first, names in byte order), without
 * following symlinks below the root; sockets and what `opts.filter` excludes are left out.
 */
export async function* walkPath(src: string, rootName: string, opts: PackOptions = {}): AsyncGenerator<WalkEntry> {
  const filter = opts.filter;
  async function* walk(path: string, name: string, rel: string, follow: boolean): AsyncGenerator<WalkEntry> {
    const st = follow ? await stat(path) : await lstat(path);
    const type = typeOf(st);
    if (!type) return;
    let listed = true;
    if (rel && filter?.isExcluded(rel, type === 'dir')) {
      if (type !== 'dir' || !filter.walkExcludedDir(rel)) return;
      listed = false;
    }
    if (listed) yield { path, name, rel, st, type };
    if (type !== 'dir') return;
    for (const child of byteOrder(await readdir(path))) {
      yield* walk(join(path, child), name ? `${name}/${child}` : child, rel ? `${rel}/${child}` : child, false);
    }
  }
  yield* walk(src, rootName, '', !!opts.followRoot);
}

/**
 * A tar of the host path `src` whose root entry is named `rootName` ("" puts a directory's
 * contents at the top, for SRC/. copies and build contexts). Hard links inside become link entries.
 */
export async function* packPath(src: string, rootName: string, opts: PackOptions = {}): AsyncGenerator<Buffer> {
  const seen = new Map<string, string>();
  for await (const { path, name, st, type } of walkPath(src, rootName, opts)) {
    const base = { uid: opts.owner?.uid ?? st.uid, gid: opts.owner?.gid ?? st.gid, mode: st.mode & 0o7777, mtime: st.mtime, devmajor: 0, devminor: 0, linkname: '', size: 0 };
    if (type === 'dir') {
      if (name) yield tarHeader({ ...base, name: `${name}/`, type });
      continue;
    }
    if (type === 'file' && st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = seen.get(key);
      if (first !== undefined) {
        yield tarHeader({ ...base, name, type: 'link', linkname: first });
        continue;
      }
      seen.set(key, name);
    }
    if (type === 'symlink') {
      yield tarHeader({ ...base, name, type, linkname: await readlink(path) });
      continue;
    }
    if (type === 'char' || type === 'block') {
      const rdev = st.rdev;
      yield tarHeader({ ...base, name, type, devmajor: (rdev >> 8) & 0xfff, devminor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00) });
      continue;
    }
    if (type === 'fifo') {
      yield tarHeader({ ...base, name, type });
      continue;
    }
    yield tarHeader({ ...base, name, type, size: st.size });
    const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      let left = st.size;
      const buf = Buffer.alloc(1 << 16);
      while (left > 0) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, left));
        if (bytesRead === 0) throw new BerthError('FAILED_PRECONDITION', `${path} shrank while it was being copied`);
        left -= bytesRead;
        yield Buffer.from(buf.subarray(0, bytesRead));
      }
    } finally {
      await fh.close();
    }
    yield padding(st.size);
  }
  yield Buffer.alloc(1024);
}

// ---------------------------------------------------------------- rewriting and sniffing

/** What replaces an entry: its new header and content (`header` undefined: the entry is new). */
export type TarModifier = (header: TarHeader | undefined, content: Buffer | undefined) => { header: TarHeader; content: Buffer };

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c);
  return Buffer.concat(chunks);
}

/**
 * go-archive's ReplaceFileTarWrapper: the archive with each entry named in `mods` rewritten by its
 * modifier, the modifiers that matched nothing adding their entries at the end (in `mods` order),
 * and every other entry copied.
 */
export async function* replaceTarEntries(source: AsyncIterable<Buffer>, mods: Map<string, TarModifier>): AsyncGenerator<Buffer> {
  const pending = new Map(mods);
  const entry = ({ header, content }: { header: TarHeader; content: Buffer }) =>
    Buffer.concat([tarHeader({ ...header, type: 'file', size: content.length }), content, padding(content.length)]);
  for await (const { header, body } of readTar(source)) {
    const mod = pending.get(header.name);
    if (mod) {
      pending.delete(header.name);
      yield entry(mod(header, await collect(body)));
      continue;
    }
    yield tarHeader(header);
    let size = 0;
    for await (const chunk of body) {
      size += chunk.length;
      yield chunk;
    }
    yield padding(size);
  }
  for (const mod of pending.values()) yield entry(mod(undefined, undefined));
  yield Buffer.alloc(1024);
}

const COMPRESSED_MAGIC = [
  Buffer.from([0x42, 0x5a, 0x68]), // bzip2
  Buffer.from([0x1f, 0x8b, 0x08]), // gzip
  Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), // xz
  Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), // zstd
];

/**
 * Whether the first bytes of a stream are an archive, as the docker CLI tells a build context on
 * stdin from a Dockerfile: compressed data, or a first tar header whose checksum holds.
 */
export function isArchiveStart(head: Buffer): boolean {
  if (COMPRESSED_MAGIC.some((m) => head.subarray(0, m.length).equals(m))) return true;
  if (head.length < 512) return false;
  const block = head.subarray(0, 512);
  if (block.every((x) => x === 0)) return false;
  const text = block.subarray(148, 156).toString('latin1').replace(/^[ \0]+|[ \0]+$/g, '');
  if (!/^[0-7]+$/.test(text)) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const x = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += x;
    signed += x > 127 ? x - 256 : x;
  }
  const stored = parseInt(text, 8);
  return stored === unsigned || stored === signed;
}

/** Passes bytes through, counting them (and telling when they end). */
export function counting(onBytes: (n: number) => void, onEnd?: () => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      onBytes(chunk.length);
      cb(null, chunk);
    },
    flush(cb) {
      onEnd?.();
      cb();
    },
  });
}

// ---------------------------------------------------------------- extracting

/** dest/name, refusing names that leave dest and paths that go through a symlink. */
async function safePath(dest: string, name: string): Promise<string> {
  const clean = posix.normalize(`/${name}`).slice(1).replace(/\/+$/, '');
  if (!clean) return dest;
  const parts = clean.split('/');
  if (parts.includes('..')) throw bad(`archive entry ${name} points outside the destination`);
  let cur = dest;
  for (const part of parts.slice(0, -1)) {
    cur = join(cur, part);
    const st = await lstat(cur).catch(() => undefined);
    if (st?.isSymbolicLink()) throw bad(`archive entry ${name} would be written through the symlink ${cur}`);
  }
  return join(dest, clean);
}

/** Renames entries: `from` (and everything under it) becomes `to` ("" drops the root). */
export function rebaseName(name: string, from: string, to: string): string | undefined {
  const n = name.replace(/^\.\//, '').replace(/\/+$/, '');
  if (n === from) return to;
  if (n.startsWith(`${from}/`)) return to ? `${to}${n.slice(from.length)}` : n.slice(from.length + 1);
  return undefined;
}

/** Extracts a tar into the directory `dest`, with names passed through `rename` (undefined: skip). */
export async function extractTar(source: AsyncIterable<Buffer>, dest: string, rename: (name: string) => string | undefined = (n) => n): Promise<void> {
  const asRoot = process.getuid?.() === 0;
  const dirTimes: [string, Date][] = [];
  for await (const { header: h, body } of readTar(source)) {
    const name = rename(h.name);
    if (name === undefined || name === '') continue;
    const path = await safePath(dest, name);
    const existing = await lstat(path).catch(() => undefined);
    if (existing && !(existing.isDirectory() && h.type === 'dir')) {
      if (existing.isDirectory()) throw bad(`cannot overwrite directory ${path} with non-directory ${h.name}`);
      await rm(path, { force: true });
    }
    switch (h.type) {
      case 'dir':
        await mkdir(path, { recursive: true, mode: h.mode });
        await chmod(path, h.mode);
        dirTimes.push([path, h.mtime]);
        break;
      case 'file': {
        const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, h.mode);
        try {
          for await (const chunk of body) await fh.write(chunk);
        } finally {
          await fh.close();
        }
        await chmod(path, h.mode);
        break;
      }
      case 'symlink':
        await symlink(h.linkname, path);
        break;
      case 'link': {
        const target = rename(h.linkname);
        if (target === undefined) throw bad(`archive entry ${h.name} links to ${h.linkname}, which is not in the copy`);
        await link(await safePath(dest, target), path);
        break;
      }
      default:
        // devices and fifos are skipped off the container, as an unprivileged cp would
        continue;
    }
    if (asRoot) await lchown(path, h.uid, h.gid).catch(() => {});
    if (h.type === 'symlink') await lutimes(path, h.mtime, h.mtime).catch(() => {});
    else if (h.type !== 'dir') await utimes(path, h.mtime, h.mtime).catch(() => {});
  }
  for (const [p, t] of dirTimes.reverse()) await utimes(p, t, t).catch(() => {});
}
