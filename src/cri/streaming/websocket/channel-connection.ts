// Kubernetes' channel protocol over a WebSocket, the server's end: every message starts with its
// channel number (0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize), as a byte in binary mode or as
// an ASCII digit before base64 data in base64 mode. Channels the client writes are Readables,
// channels the server writes are Writables. v5.channel.k8s.io adds channel 255, whose message
// [255, N] closes channel N (so a client can end stdin).
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Duplex, Readable, Writable } from 'node:stream';
import { debuglog } from 'node:util';
import { Opcode, WsMessageParser, closePayload, encodeWsFrame } from './frames.js';
import { SocketWriter } from '../socket-writer.js';

const debug = debuglog('berth:streaming');
const CLOSE_CHANNEL = 255;

export interface ChannelConnectionOptions {
  base64: boolean;
  /** Channels the client writes (stdin, resize) and channels the server writes (stdout, ...). */
  readChannels: number[];
  writeChannels: number[];
  /** Whether channel 255 closes channels (v5). */
  closeChannel: boolean;
  idleTimeoutMs?: number;
  closeGraceMs?: number;
}

export class WsChannelConnection extends EventEmitter<{ close: [] }> {
  private readonly parser = new WsMessageParser();
  private readonly readers = new Map<number, Readable>();
  private readonly writers = new Map<number, Writable>();
  private readonly blocked = new Set<number>();
  /** Read channels the client closed (v5): nothing more may be pushed on them. */
  private readonly ended = new Set<number>();
  private readonly out: SocketWriter;
  private closing = false;
  private closed = false;
  private closeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly socket: Socket, private readonly options: ChannelConnectionOptions) {
    super();
    socket.setNoDelay(true);
    this.out = new SocketWriter(socket, () => this.closed);
    if (options.idleTimeoutMs) socket.setTimeout(options.idleTimeoutMs, () => this.destroy());
    // A channel both sides write (port-forward's data) is one Duplex, in both tables.
    for (const channel of new Set([...options.readChannels, ...options.writeChannels])) {
      const readable = options.readChannels.includes(channel);
      const writable = options.writeChannels.includes(channel);
      const read = (): void => this.readWanted(channel);
      const write = (chunk: Buffer, _enc: BufferEncoding, callback: () => void): void => void this.sendOn(channel, chunk).then(() => callback());
      const final = (callback: () => void): void => {
        if (this.options.closeChannel) void this.sendOn(CLOSE_CHANNEL, Buffer.from([channel])).then(() => callback());
        else callback();
      };
      const stream = readable && writable ? new Duplex({ read, write, final, allowHalfOpen: true })
        : readable ? new Readable({ read })
        : new Writable({ write, final });
      if (readable) this.readers.set(channel, stream as Readable);
      if (writable) this.writers.set(channel, stream as Writable);
    }
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    socket.on('error', () => this.destroy());
    socket.on('end', () => this.destroy());
    socket.on('close', () => this.destroy());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  reader(channel: number): Readable | undefined {
    return this.readers.get(channel);
  }

  /** A channel both sides write, as one stream. */
  duplex(channel: number): Duplex | undefined {
    const stream = this.readers.get(channel);
    return stream instanceof Duplex && this.writers.get(channel) === stream ? stream : undefined;
  }

  writer(channel: number): Writable | undefined {
    return this.writers.get(channel);
  }

  feed(head: Buffer): void {
    if (head.length > 0) this.onBytes(head);
  }

  /** Sends a message on a channel (an empty one announces the channel, as kubelet does first). */
  sendOn(channel: number, data: Buffer): Promise<void> {
    if (this.options.base64) {
      return this.write(encodeWsFrame(Opcode.TEXT, Buffer.from(String.fromCharCode(48 + channel) + data.toString('base64'))));
    }
    return this.write(encodeWsFrame(Opcode.BINARY, Buffer.concat([Buffer.from([channel]), data])));
  }

  /** A normal closure: CLOSE frame, then the socket once the client answers (or after a grace). */
  close(): void {
    if (this.closing || this.closed) return;
    this.closing = true;
    void this.write(encodeWsFrame(Opcode.CLOSE, closePayload(1000)));
    this.socket.end();
    this.closeTimer = setTimeout(() => this.destroy(), this.options.closeGraceMs ?? 10_000);
    this.closeTimer.unref();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.closeTimer);
    this.socket.destroy();
    for (const reader of this.readers.values()) reader.destroy();
    for (const writer of this.writers.values()) writer.destroy();
    this.emit('close');
  }

  private write(frame: Buffer): Promise<void> {
    return this.out.write(frame);
  }

  private readWanted(channel: number): void {
    if (this.blocked.delete(channel) && this.blocked.size === 0 && !this.closed) this.socket.resume();
  }

  private onBytes(chunk: Buffer): void {
    if (this.closed) return;
    try {
      for (const message of this.parser.push(chunk)) this.onMessage(message.opcode, message.payload);
    } catch (err) {
      debug('closing the WebSocket: %s', (err as Error).message);
      void this.write(encodeWsFrame(Opcode.CLOSE, closePayload(1002)));
      this.destroy();
    }
  }

  private onMessage(opcode: number, payload: Buffer): void {
    switch (opcode) {
      case Opcode.PING:
        void this.write(encodeWsFrame(Opcode.PONG, payload));
        return;
      case Opcode.PONG:
        return;
      case Opcode.CLOSE:
        if (!this.closing) void this.write(encodeWsFrame(Opcode.CLOSE, payload.subarray(0, 2)));
        this.closing = true;
        this.socket.end();
        return;
    }
    if (payload.length === 0) return;
    let channel: number;
    let data: Buffer;
    if (this.options.base64) {
      channel = payload[0]! - 48;
      data = Buffer.from(payload.subarray(1).toString('latin1'), 'base64');
    } else {
      channel = payload[0]!;
      data = payload.subarray(1);
    }
    if (channel === CLOSE_CHANNEL && this.options.closeChannel) {
      const closing = data[0] ?? -1;
      const reader = this.readers.get(closing);
      if (reader && !this.ended.has(closing)) {
        this.ended.add(closing);
        reader.push(null);
      }
      return;
    }
    const reader = this.readers.get(channel);
    // Data on a channel the client may not write (or one it closed) is dropped, as kubelet does.
    if (!reader || reader.destroyed || this.ended.has(channel) || data.length === 0) return;
    if (!reader.push(data)) {
      this.blocked.add(channel);
      this.socket.pause();
    }
  }
}
