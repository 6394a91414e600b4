// The small part of the DNS wire format (RFC 1035) the embedded server needs: read a query's header
// and question, and build an answer to it. Anything the server does not answer itself is
// forwarded byte for byte, so no other record type needs decoding.

export const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, ANY: 255 } as const;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const CLASS_IN = 1;
const HEADER = 12;

export interface Question {
  /** Lower case, without the trailing dot. */
  name: string;
  type: number;
  qclass: number;
}

export interface Query {
  id: number;
  flags: number;
  opcode: number;
  question: Question;
  /** The raw bytes of the header and question, copied into answers. */
  raw: Buffer;
  questionEnd: number;
}

/** Reads a (possibly compressed) name at `off`; returns it and where the name's bytes end. */
export function readName(buf: Buffer, off: number): { name: string; end: number } | undefined {
  const labels: string[] = [];
  let end = -1;
  let jumps = 0;
  let total = 0;
  for (;;) {
    if (off >= buf.length) return undefined;
    const len = buf[off]!;
    if (len === 0) {
      if (end < 0) end = off + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (off + 1 >= buf.length || ++jumps > 16) return undefined;
      if (end < 0) end = off + 2;
      off = ((len & 0x3f) << 8) | buf[off + 1]!;
      continue;
    }
    if (len & 0xc0) return undefined; // extended label types are obsolete
    if (off + 1 + len > buf.length) return undefined;
    total += len + 1;
    if (total > 255) return undefined;
    labels.push(buf.toString('latin1', off + 1, off + 1 + len));
    off += 1 + len;
  }
  return { name: labels.join('.'), end };
}

export function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, '').split('.').filter((l) => l.length > 0);
  const bufs: Buffer[] = [];
  for (const p of parts) {
    const b = Buffer.from(p, 'latin1');
    if (b.length > 63) throw new Error(`DNS label too long: ${p}`);
    bufs.push(Buffer.from([b.length]), b);
  }
  bufs.push(Buffer.from([0]));
  return Buffer.concat(bufs);
}

/** Parses a query with exactly one question; undefined for anything that is not one. */
export function parseQuery(buf: Buffer): Query | undefined {
  if (buf.length < HEADER) return undefined;
  const flags = buf.readUInt16BE(2);
  if (flags & 0x8000) return undefined; // a response, not a query
  if (buf.readUInt16BE(4) !== 1) return undefined;
  const n = readName(buf, HEADER);
  if (!n || n.end + 4 > buf.length) return undefined;
  return {
    id: buf.readUInt16BE(0),
    flags,
    opcode: (flags >> 11) & 0xf,
    question: { name: n.name.toLowerCase(), type: buf.readUInt16BE(n.end), qclass: buf.readUInt16BE(n.end + 2) },
    raw: buf,
    questionEnd: n.end + 4,
  };
}

export interface Answer {
  type: number;
  ttl: number;
  /** RDATA: 4 bytes for A, an encoded name for PTR. */
  data: Buffer;
}

/** The id of a message, for matching answers to queries; undefined when too short. */
export function messageId(buf: Buffer): number | undefined {
  return buf.length >= 2 ? buf.readUInt16BE(0) : undefined;
}

export function rcodeOf(buf: Buffer): number | undefined {
  return buf.length >= 4 ? buf.readUInt16BE(2) & 0xf : undefined;
}

/**
 * An answer to `q`: same id and question, recursion available, authoritative for local names,
 * and the records given (their owner name points at the question's). Over `maxSize` bytes, the
 * records that do not fit are left out and TC is set, so the client retries over TCP.
 */
export function buildResponse(q: Query, rcode: number, answers: Answer[] = [], maxSize = 65535, authoritative = true): Buffer {
  const question = q.raw.subarray(HEADER, q.questionEnd);
  const records: Buffer[] = [];
  let size = HEADER + question.length;
  let truncated = false;
  for (const a of answers) {
    const rr = Buffer.alloc(12 + a.data.length);
    rr.writeUInt16BE(0xc000 | HEADER, 0); // pointer to the question's name
    rr.writeUInt16BE(a.type, 2);
    rr.writeUInt16BE(CLASS_IN, 4);
    rr.writeUInt32BE(a.ttl, 6);
    rr.writeUInt16BE(a.data.length, 10);
    a.data.copy(rr, 12);
    if (size + rr.length > maxSize) {
      truncated = true;
      break;
    }
    records.push(rr);
    size += rr.length;
  }
  const h = Buffer.alloc(HEADER);
  h.writeUInt16BE(q.id, 0);
  const rd = q.flags & 0x0100;
  h.writeUInt16BE(0x8000 | (q.opcode << 11) | (authoritative ? 0x0400 : 0) | (truncated ? 0x0200 : 0) | rd | 0x0080 | (rcode & 0xf), 2);
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(records.length, 6);
  return Buffer.concat([h, question, ...records]);
}

/** An error answer (SERVFAIL, REFUSED, …) to a raw message, even one that did not parse fully. */
export function errorResponse(raw: Buffer, rcode: number): Buffer | undefined {
  const q = parseQuery(raw);
  if (q) return buildResponse(q, rcode, [], 65535, false);
  if (raw.length < HEADER) return undefined;
  const h = Buffer.alloc(HEADER);
  raw.copy(h, 0, 0, 2);
  h.writeUInt16BE(0x8000 | (raw.readUInt16BE(2) & 0x7900) | 0x0080 | rcode, 2);
  return h;
}

export function aRecord(ip: string, ttl: number): Answer {
  return { type: TYPE.A, ttl, data: Buffer.from(ip.split('.').map(Number)) };
}

export function ptrRecord(name: string, ttl: number): Answer {
  return { type: TYPE.PTR, ttl, data: encodeName(name) };
}

/** "4.3.2.1.in-addr.arpa" → "1.2.3.4"; undefined for other names. */
export function ptrToIp(name: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(name);
  return m ? [m[4], m[3], m[2], m[1]].join('.') : undefined;
}

/** A query message for `name` (tests and health checks). */
export function buildQuery(id: number, name: string, type: number): Buffer {
  const h = Buffer.alloc(HEADER);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(0x0100, 2); // RD
  h.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(CLASS_IN, 2);
  return Buffer.concat([h, encodeName(name), tail]);
}

/** The A records of an answer message (tests). */
export function answerAddresses(buf: Buffer): string[] {
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  let off = HEADER;
  for (let i = 0; i < qd; i++) off = readName(buf, off)!.end + 4;
  const out: string[] = [];
  for (let i = 0; i < an; i++) {
    off = readName(buf, off)!.end;
    const type = buf.readUInt16BE(off);
    const len = buf.readUInt16BE(off + 8);
    if (type === TYPE.A && len === 4) out.push([...buf.subarray(off + 10, off + 14)].join('.'));
    off += 10 + len;
  }
  return out;
}
