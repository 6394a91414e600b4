// Some gRPC clients over a unix socket send the socket's path as HTTP/2's :authority (Go's gRPC
// as crictl, critest and kubelets before 1.26 use it: "/run/berth/supervisor.sock"). Node's HTTP/2
// (nghttp2) refuses such a request with RST_STREAM PROTOCOL_ERROR before any handler sees it;
// Go's server accepts it. This filter sits between the socket and the gRPC server and rewrites an
// invalid :authority into a valid name of the same length ("localhost", cut or padded with "-"),
// so that the server's HPACK dynamic table stays byte-for-byte in step with the client's: every
// other field, and every block without the problem, passes through untouched.
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import HPACK from 'hpack';

const PREFACE_LENGTH = 24;
const FRAME_HEADER = 9;
const HEADERS = 0x1;
const CONTINUATION = 0x9;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;
/** Frames we write stay within HTTP/2's default maximum frame size. */
const MAX_FRAME = 16384;
// RFC 3986's authority characters, as nghttp2 checks them.
const VALID_AUTHORITY = /^[A-Za-z0-9\-._~!$&'()*+,;=:@[\]%]*$/;

/** An HPACK integer with an N-bit prefix at `pos`: its value and its length in bytes. */
function readInt(buf: Buffer, pos: number, prefixBits: number): { value: number; len: number } {
  const max = (1 << prefixBits) - 1;
  let value = buf[pos]! & max;
  let len = 1;
  if (value < max) return { value, len };
  let shift = 0;
  for (;;) {
    const b = buf[pos + len]!;
    len++;
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (!(b & 0x80)) return { value, len };
  }
}

function writeInt(value: number, prefixBits: number, firstBits: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstBits | value]);
  const out = [firstBits | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

/** The length in bytes of the string literal at `pos`. */
function stringLength(buf: Buffer, pos: number): number {
  const n = readInt(buf, pos, 7);
  return n.len + n.value;
}

export function sameLengthAuthority(length: number): string {
  return 'localhost'.padEnd(length, '-').slice(0, length);
}

/**
 * Rewrites one header block: `decoded` is what the client's block decodes to (one entry per
 * field, in order), from a decoder that follows the client's dynamic table.
 */
export function rewriteBlock(block: Buffer, decoded: Array<[string, string]>): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  let field = 0;
  let changed = false;
  while (pos < block.length) {
    const start = pos;
    const b = block[pos]!;
    if ((b & 0xe0) === 0x20) { // dynamic table size update: not a field
      pos += readInt(block, pos, 5).len;
      parts.push(block.subarray(start, pos));
      continue;
    }
    if (b & 0x80) { // indexed: the server's table already holds what we rewrote
      pos += readInt(block, pos, 7).len;
      parts.push(block.subarray(start, pos));
      field++;
      continue;
    }
    const prefixBits = b & 0x40 ? 6 : 4;
    const index = readInt(block, pos, prefixBits);
    pos += index.len;
    if (index.value === 0) pos += stringLength(block, pos);
    const valueStart = pos;
    pos += stringLength(block, pos);
    const [name, value] = decoded[field] ?? ['', ''];
    field++;
    if (name === ':authority' && !VALID_AUTHORITY.test(value)) {
      const replacement = Buffer.from(sameLengthAuthority(Buffer.byteLength(value)), 'latin1');
      parts.push(block.subarray(start, valueStart), writeInt(replacement.length, 7, 0), replacement);
      changed = true;
    } else parts.push(block.subarray(start, pos));
  }
  return changed ? Buffer.concat(parts) : block;
}

/** A HEADERS frame (and CONTINUATIONs as needed) carrying `block`. */
function headersFrames(streamId: number, flags: number, priority: Buffer | undefined, block: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  const first = priority ? Buffer.concat([priority, block.subarray(0, MAX_FRAME - 5)]) : block.subarray(0, MAX_FRAME);
  let rest = block.subarray(priority ? MAX_FRAME - 5 : MAX_FRAME);
  const header = (len: number, type: number, f: number) => {
    const h = Buffer.alloc(FRAME_HEADER);
    h.writeUIntBE(len, 0, 3);
    h[3] = type;
    h[4] = f;
    h.writeUInt32BE(streamId, 5);
    return h;
  };
  const keep = (flags & (END_STREAM | PRIORITY)) | (rest.length ? 0 : END_HEADERS);
  frames.push(header(first.length, HEADERS, keep), first);
  while (rest.length) {
    const piece = rest.subarray(0, MAX_FRAME);
    rest = rest.subarray(MAX_FRAME);
    frames.push(header(piece.length, CONTINUATION, rest.length ? 0 : END_HEADERS), piece);
  }
  return frames;
}

/**
 * The client's side of one connection, as the gRPC server should read it: bytes from `socket`
 * with header blocks repaired; what the server writes goes to `socket` unchanged.
 */
export class AuthorityFilter extends Duplex {
  private readonly hpack = new HPACK();
  private pending: Buffer = Buffer.alloc(0);
  private prefaceLeft = PREFACE_LENGTH;
  /** A header block being gathered across CONTINUATION frames. */
  private gathering?: { streamId: number; flags: number; priority?: Buffer; fragments: Buffer[] };

  constructor(private readonly socket: Socket) {
    super({ allowHalfOpen: true });
    socket.on('data', (chunk: Buffer) => {
      try {
        if (!this.push(this.repair(chunk))) socket.pause();
      } catch (err) {
        this.destroy(err as Error);
      }
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  /** The bytes to pass on for `chunk`: whole frames as they complete. */
  private repair(chunk: Buffer): Buffer {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Buffer[] = [];
    if (this.prefaceLeft > 0) {
      const n = Math.min(this.prefaceLeft, buf.length);
      out.push(buf.subarray(0, n));
      this.prefaceLeft -= n;
      buf = buf.subarray(n);
    }
    while (buf.length >= FRAME_HEADER) {
      const len = buf.readUIntBE(0, 3);
      if (buf.length < FRAME_HEADER + len) break;
      const frame = buf.subarray(0, FRAME_HEADER + len);
      buf = buf.subarray(FRAME_HEADER + len);
      const type = frame[3]!;
      if (type === HEADERS || (type === CONTINUATION && this.gathering)) out.push(...this.headerFrame(frame));
      else out.push(frame);
    }
    this.pending = Buffer.from(buf);
    return Buffer.concat(out);
  }

  private headerFrame(frame: Buffer): Buffer[] {
    const type = frame[3]!;
    const flags = frame[4]!;
    const streamId = frame.readUInt32BE(5) & 0x7fffffff;
    let payload = frame.subarray(FRAME_HEADER);
    if (type === HEADERS) {
      let padding = 0;
      if (flags & PADDED) {
        padding = payload[0]!;
        payload = payload.subarray(1);
      }
      let priority: Buffer | undefined;
      if (flags & PRIORITY) {
        priority = payload.subarray(0, 5);
        payload = payload.subarray(5);
      }
      payload = payload.subarray(0, payload.length - padding);
      this.gathering = { streamId, flags, priority, fragments: [payload] };
    } else this.gathering!.fragments.push(payload);
    if (!(flags & END_HEADERS)) return [];
    const g = this.gathering!;
    this.gathering = undefined;
    const block = Buffer.concat(g.fragments);
    const decoded = this.hpack.decode(block) as Array<[string, string]>;
    return headersFrames(g.streamId, g.flags, g.priority, rewriteBlock(block, decoded));
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.socket.write(chunk, done);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.socket.end();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.socket.destroy();
    done(err);
  }
}
