// Writing tar entries (ustar, with a pax header when a name, link name or number does not fit),
// for layer diffs and exports; tests build hostile layers with it too.
import type { TarEntryType } from './tar-reader.js';

export interface TarWriteHeader {
  name: string;
  type: TarEntryType;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  mtime?: Date;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes, written as pax SCHILY.xattr.NAME records (GNU tar's and Docker's way). */
  xattrs?: Record<string, Buffer>;
}

const FLAGS: Record<TarEntryType, string> = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

function octal(b: Buffer, off: number, len: number, v: number): void {
  b.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'ascii');
}

function rawHeader(name: string, flag: string, h: TarWriteHeader, size: number): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100, 'utf8');
  octal(b, 100, 8, h.mode ?? 0o644);
  octal(b, 108, 8, h.uid ?? 0);
  octal(b, 116, 8, h.gid ?? 0);
  octal(b, 124, 12, size);
  octal(b, 136, 12, Math.floor((h.mtime ?? new Date(0)).getTime() / 1000));
  b.write(flag, 156, 1, 'ascii');
  b.write(h.linkname ?? '', 157, 100, 'utf8');
  b.write('ustar\0' + '00', 257, 8, 'ascii');
  octal(b, 329, 8, h.devmajor ?? 0);
  octal(b, 337, 8, h.devminor ?? 0);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return b;
}

/** "LEN KEY=VALUE\n", LEN counting bytes, itself included (values may be any bytes: xattrs). */
function paxRecord(key: string, value: string | Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);

/** One entry: header blocks, then `data` padded to a block (files only). */
export function tarEntry(h: TarWriteHeader, data: Buffer = Buffer.alloc(0)): Buffer {
  const size = h.type === 'file' ? data.length : 0;
  return Buffer.concat([tarHeader({ ...h, size }), ...(size ? [data, tarPadding(size)] : [])]);
}

/** The zero bytes that pad `size` bytes of file data to a whole block. */
export const tarPadding = (size: number): Buffer => pad(size);

/** The header blocks of an entry whose `size` bytes of data (files only) the caller writes next. */
export function tarHeader(h: TarWriteHeader): Buffer {
  const size = h.type === 'file' ? h.size ?? 0 : 0;
  const pax: Buffer[] = [];
  if (Buffer.byteLength(h.name) > 100) pax.push(paxRecord('path', h.name));
  if (h.linkname && Buffer.byteLength(h.linkname) > 100) pax.push(paxRecord('linkpath', h.linkname));
  if (size > 0o77777777777) pax.push(paxRecord('size', String(size)));
  for (const [name, value] of Object.entries(h.xattrs ?? {})) pax.push(paxRecord(`SCHILY.xattr.${name}`, value));
  const parts: Buffer[] = [];
  if (pax.length) {
    const body = Buffer.concat(pax);
    parts.push(rawHeader('././@PaxHeader', 'x', {} as TarWriteHeader, body.length), body, pad(body.length));
  }
  parts.push(rawHeader(h.name.slice(0, 100), FLAGS[h.type], { ...h, linkname: h.linkname?.slice(0, 100) }, Math.min(size, 0o77777777777)));
  return Buffer.concat(parts);
}

/** The two zero blocks that end an archive. */
export const TAR_END = Buffer.alloc(1024);
