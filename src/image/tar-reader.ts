// A streaming tar reader (POSIX ustar, pax extended headers, GNU long names), enough for image
// layers: `for await (const e of readTar(source)) { for await (const chunk of e.body) … }`. Each
// entry's body must be read (or left) before the next entry is asked for.
import { invalid } from '../common/errors.js';

export type TarEntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarHeader {
  name: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes from pax SCHILY.xattr.* records. */
  xattrs: Record<string, Buffer>;
}

export interface TarEntry {
  header: TarHeader;
  body: AsyncIterable<Buffer>;
}

const TYPES: Record<string, TarEntryType> = { '0': 'file', '\0': 'file', '7': 'file', '1': 'link', '2': 'symlink', '3': 'char', '4': 'block', '5': 'dir', '6': 'fifo' };

/** Reads exact byte counts from an async source of chunks. */
class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private readonly it: AsyncIterator<Buffer>;

  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** Up to `max` bytes (at least 1), or undefined at end of input. */
  async some(max: number): Promise<Buffer | undefined> {
    if (this.buffered === 0) {
      const r = await this.it.next();
      if (r.done) return undefined;
      this.chunks.push(r.value);
      this.buffered += r.value.length;
    }
    const first = this.chunks[0]!;
    const n = Math.min(max, first.length);
    const out = first.subarray(0, n);
    if (n === first.length) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }

  /** Exactly n bytes; fewer only at end of input. */
  async exact(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const b = await this.some(n - got);
      if (!b) break;
      parts.push(b);
      got += b.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  async skip(n: number): Promise<void> {
    while (n > 0) {
      const b = await this.some(n);
      if (!b) throw invalid('tar archive is truncated');
      n -= b.length;
    }
  }
}

function str(b: Buffer, off: number, len: number): string {
  const field = b.subarray(off, off + len);
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? len : nul).toString('utf8');
}

/** Octal, or GNU base-256 when the high bit of the first byte is set. */
function num(b: Buffer, off: number, len: number, what: string): number {
  const field = b.subarray(off, off + len);
  if (field[0]! & 0x80) {
    let v = BigInt(field[0]! & 0x7f);
    for (let i = 1; i < len; i++) v = (v << 8n) | BigInt(field[i]!);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`tar header: ${what} is too large`);
    return Number(v);
  }
  const text = str(b, off, len).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw invalid(`tar header: ${what} "${text}" is not an octal number`);
  return parseInt(text, 8);
}

function checksumOk(b: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : b[i]!;
  return sum === num(b, 148, 8, 'checksum');
}

/** Pax records: "LEN key=value\n" repeated. */
function parsePax(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    const len = sp < 0 ? NaN : Number(data.subarray(i, sp).toString());
    if (!Number.isInteger(len) || len <= 0 || i + len > data.length) throw invalid('tar: malformed pax header');
    const record = data.subarray(sp + 1, i + len - 1); // without the trailing newline
    const eq = record.indexOf(0x3d);
    if (eq < 0) throw invalid('tar: malformed pax record');
    out.set(record.subarray(0, eq).toString(), record.subarray(eq + 1));
    i += len;
  }
  return out;
}

export async function* readTar(source: AsyncIterable<Buffer>): AsyncGenerator<TarEntry> {
  const r = new ByteReader(source);
  let pax = new Map<string, Buffer>();
  let globalPax = new Map<string, Buffer>();
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const block = await r.exact(512);
    if (block.length === 0) return; // end without the two zero blocks: accepted, as tar does
    if (block.length < 512) throw invalid('tar archive is truncated in a header');
    if (block.every((x) => x === 0)) return;
    if (!checksumOk(block)) throw invalid('tar header checksum mismatch: not a tar archive, or a corrupt one');
    const flag = String.fromCharCode(block[156]!);
    const size = num(block, 124, 12, 'size');
    const padded = Math.ceil(size / 512) * 512;
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > 1 << 20) throw invalid('tar: an extended header over 1 MiB');
      const data = (await r.exact(padded)).subarray(0, size);
      if (data.length < size) throw invalid('tar archive is truncated in an extended header');
      if (flag === 'x') pax = parsePax(data);
      else if (flag === 'g') globalPax = new Map([...globalPax, ...parsePax(data)]);
      else if (flag === 'L') longName = str(data, 0, data.length);
      else longLink = str(data, 0, data.length);
      continue;
    }
    const type = TYPES[flag];
    const records = new Map([...globalPax, ...pax]);
    const prefix = block.subarray(257, 263).toString() === 'ustar\0' ? str(block, 345, 155) : '';
    let name = longName ?? (prefix ? `${prefix}/${str(block, 0, 100)}` : str(block, 0, 100));
    name = records.get('path')?.toString() ?? name;
    const xattrs: Record<string, Buffer> = {};
    for (const [k, v] of records) if (k.startsWith('SCHILY.xattr.')) xattrs[k.slice('SCHILY.xattr.'.length)] = v;
    const pnum = (key: string, fallback: number) => (records.has(key) ? Number(records.get(key)!.toString()) : fallback);
    const header: TarHeader = {
      name,
      type: type ?? 'file',
      mode: num(block, 100, 8, 'mode') & 0o7777,
      uid: pnum('uid', num(block, 108, 8, 'uid')),
      gid: pnum('gid', num(block, 116, 8, 'gid')),
      size: pnum('size', size),
      mtime: new Date(pnum('mtime', num(block, 136, 12, 'mtime')) * 1000),
      linkname: records.get('linkpath')?.toString() ?? longLink ?? str(block, 157, 100),
      devmajor: num(block, 329, 8, 'devmajor'),
      devminor: num(block, 337, 8, 'devminor'),
      xattrs,
    };
    pax = new Map();
    longName = longLink = undefined;
    if (!type) throw invalid(`tar entry ${name}: unsupported type flag "${flag}"`);
    const bodySize = header.size; // only files have bodies; any other data is skipped unread
    let remaining = bodySize;
    const body = (async function* () {
      while (remaining > 0) {
        const b = await r.some(remaining);
        if (!b) throw invalid(`tar archive is truncated in ${name}`);
        remaining -= b.length;
        yield b;
      }
    })();
    yield { header, body };
    while (remaining > 0) { // what the consumer left unread
      const b = await r.some(remaining);
      if (!b) throw invalid(`tar archive is truncated in ${name}`);
      remaining -= b.length;
    }
    await r.skip(Math.ceil(bodySize / 512) * 512 - bodySize);
  }
}
