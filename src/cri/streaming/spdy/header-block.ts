// SPDY/3 name/value header blocks, before compression: a 32-bit count, then for each header a
// 32-bit name length, the lower-case name, a 32-bit value length and the value; several values of
// one name are joined with NUL bytes (SPDY/3 draft, section 2.6.10).

/** Headers of a stream, lower-case names, each with one or more values. */
export type SpdyHeaders = Record<string, string[]>;

export class HeaderBlockError extends Error {
  constructor(message: string) {
    super(`invalid SPDY header block: ${message}`);
    this.name = 'HeaderBlockError';
  }
}

export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const entries = Object.entries(headers);
  const parts: Buffer[] = [u32(entries.length)];
  for (const [name, values] of entries) {
    const nameBytes = Buffer.from(name.toLowerCase(), 'utf8');
    const valueBytes = Buffer.from(values.join('\0'), 'utf8');
    parts.push(u32(nameBytes.length), nameBytes, u32(valueBytes.length), valueBytes);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  let offset = 0;
  const take = (length: number, what: string): Buffer => {
    if (offset + length > block.length) throw new HeaderBlockError(`${what} runs past the end of the block`);
    const bytes = block.subarray(offset, offset + length);
    offset += length;
    return bytes;
  };
  const count = take(4, 'the header count').readUInt32BE(0);
  const headers: SpdyHeaders = {};
  for (let i = 0; i < count; i++) {
    const name = take(take(4, 'a name length').readUInt32BE(0), 'a name').toString('utf8');
    const value = take(take(4, 'a value length').readUInt32BE(0), 'a value').toString('utf8');
    if (name.length === 0) throw new HeaderBlockError('empty header name');
    if (name !== name.toLowerCase()) throw new HeaderBlockError(`header name "${name}" is not lower case`);
    if (headers[name] !== undefined) throw new HeaderBlockError(`header "${name}" appears twice`);
    headers[name] = value.split('\0');
  }
  if (offset !== block.length) throw new HeaderBlockError(`${block.length - offset} bytes after the last header`);
  return headers;
}

/** The first value of a header, or undefined (names are matched case-insensitively). */
export function headerValue(headers: SpdyHeaders, name: string): string | undefined {
  return headers[name.toLowerCase()]?.[0];
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return b;
}
