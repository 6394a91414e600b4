// WebSocket frames (RFC 6455, section 5): the parser for what a client sends (always masked) and
// the encoder for what the server sends (never masked). Fragmented messages are joined here, so
// the parser hands out whole messages and control frames.

export const Opcode = { CONTINUATION: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 } as const;

export type WsMessage = { opcode: number; payload: Buffer };

export class WsProtocolError extends Error {
  constructor(message: string) {
    super(`WebSocket protocol error: ${message}`);
    this.name = 'WsProtocolError';
  }
}

/** Cuts a client's bytes into messages; keeps partial frames and fragments until complete. */
export class WsMessageParser {
  private pending: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private fragmentOpcode = 0;
  private fragmentBytes = 0;

  constructor(private readonly maxMessageBytes: number = 16 * 1024 * 1024) {}

  push(chunk: Buffer): WsMessage[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const messages: WsMessage[] = [];
    for (;;) {
      const frame = this.nextFrame();
      if (!frame) return messages;
      const message = this.assemble(frame);
      if (message) messages.push(message);
    }
  }

  private nextFrame(): { fin: boolean; opcode: number; payload: Buffer } | undefined {
    const b = this.pending;
    if (b.length < 2) return undefined;
    const fin = (b[0]! & 0x80) !== 0;
    if ((b[0]! & 0x70) !== 0) throw new WsProtocolError('reserved bits set (no extension was negotiated)');
    const opcode = b[0]! & 0x0f;
    const masked = (b[1]! & 0x80) !== 0;
    if (!masked) throw new WsProtocolError('client frame is not masked');
    let length = b[1]! & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (b.length < 4) return undefined;
      length = b.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (b.length < 10) return undefined;
      const big = b.readBigUInt64BE(2);
      if (big > BigInt(this.maxMessageBytes)) throw new WsProtocolError(`frame of ${big} bytes is too large`);
      length = Number(big);
      offset = 10;
    }
    if (length > this.maxMessageBytes) throw new WsProtocolError(`frame of ${length} bytes is too large`);
    if (b.length < offset + 4 + length) return undefined;
    const mask = b.subarray(offset, offset + 4);
    const payload = Buffer.from(b.subarray(offset + 4, offset + 4 + length));
    for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
    this.pending = b.subarray(offset + 4 + length);
    return { fin, opcode, payload };
  }

  private assemble(frame: { fin: boolean; opcode: number; payload: Buffer }): WsMessage | undefined {
    if (frame.opcode >= 8) {
      if (!frame.fin || frame.payload.length > 125) throw new WsProtocolError('control frames cannot be fragmented or exceed 125 bytes');
      return { opcode: frame.opcode, payload: frame.payload };
    }
    if (frame.opcode === Opcode.CONTINUATION) {
      if (this.fragments.length === 0) throw new WsProtocolError('continuation frame without a message to continue');
    } else {
      if (this.fragments.length > 0) throw new WsProtocolError('new message before the last one finished');
      if (frame.opcode !== Opcode.TEXT && frame.opcode !== Opcode.BINARY) throw new WsProtocolError(`unknown opcode ${frame.opcode}`);
      this.fragmentOpcode = frame.opcode;
      this.fragmentBytes = 0;
    }
    this.fragments.push(frame.payload);
    this.fragmentBytes += frame.payload.length;
    if (this.fragmentBytes > this.maxMessageBytes) throw new WsProtocolError(`message of ${this.fragmentBytes} bytes is too large`);
    if (!frame.fin) return undefined;
    const payload = this.fragments.length === 1 ? this.fragments[0]! : Buffer.concat(this.fragments);
    this.fragments = [];
    return { opcode: this.fragmentOpcode, payload };
  }
}

/** One unmasked, unfragmented frame, as a server sends it. */
export function encodeWsFrame(opcode: number, payload: Buffer): Buffer {
  let head: Buffer;
  if (payload.length < 126) {
    head = Buffer.from([0x80 | opcode, payload.length]);
  } else if (payload.length <= 0xffff) {
    head = Buffer.alloc(4);
    head[0] = 0x80 | opcode;
    head[1] = 126;
    head.writeUInt16BE(payload.length, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  return Buffer.concat([head, payload]);
}

/** A CLOSE frame's payload: a status code and a reason. */
export function closePayload(code: number, reason = ''): Buffer {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2);
  return b;
}
