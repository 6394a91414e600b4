// A SPDY/3.1 session over one socket (after the HTTP upgrade), for either end: berth's streaming
// server is the server; the tests' client is the client. The client opens streams (odd ids), the
// server accepts each with a SYN_REPLY; both then exchange DATA frames until each side sends FIN.
//
// Flow control: the Go peer (moby/spdystream, which kubelet and client-go use) neither sends nor
// honours WINDOW_UPDATE, so windows are not enforced here either; TCP gives the backpressure.
// SETTINGS and WINDOW_UPDATE are read and ignored. PINGs from the peer are echoed.
import { EventEmitter } from 'node:events';
import { debuglog } from 'node:util';
import type { Socket } from 'node:net';
import {
  FrameParser, FrameError, RstStatus, type Frame,
  encodeData, encodeGoAway, encodePing, encodeRstStream, encodeSynReply, encodeSynStream,
} from './frames.js';
import { HeaderCompressor, HeaderDecompressor } from './header-compression.js';
import { decodeHeaderBlock, encodeHeaderBlock, type SpdyHeaders } from './header-block.js';
import { SpdyStream, type StreamOwner } from './stream.js';
import { SocketWriter } from '../socket-writer.js';

const debug = debuglog('berth:spdy');

export type Role = 'server' | 'client';

export interface ConnectionOptions {
  /** Close the connection after this long without a frame in either direction (0: never). */
  idleTimeoutMs?: number;
  /** After close(), how long to wait for the peer to hang up before cutting the socket. */
  closeGraceMs?: number;
}

/** The largest DATA frame sent: big writes are cut into frames of this size. */
const MAX_DATA_FRAME = 32 * 1024;

export interface SpdyConnectionEvents {
  /** A stream the peer opened; accept() or reset() it. */
  stream: [SpdyStream];
  /** The peer sent GOAWAY: it opens no more streams. */
  goaway: [];
  /** The answer to one of our PINGs. */
  ping: [number];
  /** The socket is gone and every stream with it. */
  close: [];
}

export class SpdyConnection extends EventEmitter<SpdyConnectionEvents> implements StreamOwner {
  private readonly parser = new FrameParser();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private readonly streams = new Map<number, SpdyStream>();
  /** Streams whose reader is full: the socket stays paused while any is. */
  private readonly blocked = new Set<SpdyStream>();
  /** Frames are handled one after another: a header block must be decompressed before the next. */
  private inbound: Promise<void> = Promise.resolve();
  private readonly out: SocketWriter;
  private nextStreamId: number;
  private lastPeerStreamId = 0;
  private readonly pendingReplies = new Map<number, SpdyStream>();
  private closing = false;
  private closed = false;
  private closeTimer: NodeJS.Timeout | undefined;
  private readonly closeGraceMs: number;
  /** Whether the peer said GOAWAY. */
  peerGoneAway = false;
  /** The protocol error that ended the connection, if one did. */
  lastError: Error | undefined;

  constructor(private readonly socket: Socket, readonly role: Role, options: ConnectionOptions = {}) {
    super();
    this.nextStreamId = role === 'client' ? 1 : 2;
    this.out = new SocketWriter(socket, () => this.closed);
    this.closeGraceMs = options.closeGraceMs ?? 10_000;
    socket.setNoDelay(true);
    if (options.idleTimeoutMs) socket.setTimeout(options.idleTimeoutMs, () => this.destroy());
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    socket.on('error', () => this.destroy());
    // Frames already read are still being handled (header blocks decompress asynchronously):
    // let them reach their streams before everything is torn down.
    const afterInbound = (): void => void this.inbound.then(() => this.destroy());
    socket.on('end', afterInbound);
    socket.on('close', afterInbound);
  }

  /** Streams still open, for tests and leak checks. */
  get openStreams(): number {
    return this.streams.size;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Feeds bytes that arrived before the connection existed (what followed the HTTP upgrade). */
  feed(head: Buffer): void {
    if (head.length > 0) this.onBytes(head);
  }

  /** Server: answers a stream the peer opened; writes on it flow from then on. */
  async accept(stream: SpdyStream): Promise<void> {
    const compressed = await this.compressor.compress(encodeHeaderBlock({}));
    this.write(encodeSynReply(stream.id, compressed));
    stream.markOpen();
  }

  /** Client: opens a stream and waits for the server's SYN_REPLY. */
  async createStream(headers: SpdyHeaders): Promise<SpdyStream> {
    if (this.closed || this.closing) throw new Error('SPDY connection is closed');
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const stream = new SpdyStream(this, id, headers);
    this.streams.set(id, stream);
    this.pendingReplies.set(id, stream);
    const compressed = await this.compressor.compress(encodeHeaderBlock(headers));
    this.write(encodeSynStream(id, compressed));
    await stream.whenOpen();
    return stream;
  }

  /** Client: sends a PING (odd ids are the client's); the server echoes it. */
  ping(id: number): void {
    this.write(encodePing(id));
  }

  /** Says GOAWAY and hangs up once the peer does, or after the grace period. */
  close(): void {
    if (this.closing || this.closed) return;
    this.closing = true;
    this.write(encodeGoAway(this.lastPeerStreamId));
    this.socket.end();
    this.closeTimer = setTimeout(() => this.destroy(), this.closeGraceMs);
    this.closeTimer.unref();
  }

  /** Cuts the socket at once; every open stream is destroyed. */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.closeTimer);
    this.socket.destroy();
    this.compressor.close();
    this.decompressor.close();
    for (const stream of [...this.streams.values()]) {
      stream.markRefused(new Error('the SPDY connection closed before the stream opened'));
      stream.remoteClosed = true;
      stream.remoteReset = true;
      stream.destroy();
    }
    this.streams.clear();
    this.blocked.clear();
    this.emit('close');
  }

  // --- StreamOwner ---

  async sendData(streamId: number, data: Buffer, fin: boolean): Promise<void> {
    if (data.length === 0) {
      await this.write(encodeData(streamId, data, fin));
      return;
    }
    for (let offset = 0; offset < data.length; offset += MAX_DATA_FRAME) {
      const piece = data.subarray(offset, offset + MAX_DATA_FRAME);
      await this.write(encodeData(streamId, piece, fin && offset + MAX_DATA_FRAME >= data.length));
    }
  }

  sendReset(streamId: number, status: number): void {
    void this.write(encodeRstStream(streamId, status));
  }

  readWanted(stream: SpdyStream): void {
    if (this.blocked.delete(stream) && this.blocked.size === 0 && !this.closed) this.socket.resume();
  }

  forget(stream: SpdyStream): void {
    if (this.streams.get(stream.id) === stream) this.streams.delete(stream.id);
    this.pendingReplies.delete(stream.id);
    this.readWanted(stream);
  }

  // --- inside ---

    private write(frame: Buffer): Promise<void> {
    return this.out.write(frame);
  }

  private onBytes(chunk: Buffer): void {
    if (this.closed) return;
    let frames: Frame[];
    try {
      frames = this.parser.push(chunk);
    } catch (err) {
      this.protocolError(err);
      return;
    }
    for (const frame of frames) {
      this.inbound = this.inbound.then(() => (this.closed ? undefined : this.handle(frame))).catch((err: unknown) => this.protocolError(err));
    }
  }

  private protocolError(err: unknown): void {
    if (this.closed) return;
    this.lastError = err instanceof Error ? err : new FrameError(String(err));
    debug('closing the connection: %s', this.lastError.message);
    void this.write(encodeGoAway(this.lastPeerStreamId, 1));
    this.destroy();
  }

  private async handle(frame: Frame): Promise<void> {
    debug('%s received %s %s', this.role, frame.kind, 'streamId' in frame ? frame.streamId : '');
    switch (frame.kind) {
      case 'syn_stream':
        return this.onSynStream(frame);
      case 'syn_reply':
        return this.onSynReply(frame);
      case 'headers':
        // Nothing here uses HEADERS, but its block must still pass through the zlib context.
        await this.decompressor.decompress(frame.headerBlock);
        if (frame.fin) this.streams.get(frame.streamId)?.receiveFin();
        return;
      case 'data':
        return this.onData(frame.streamId, frame.data, frame.fin);
      case 'rst_stream': {
        const stream = this.streams.get(frame.streamId);
        if (stream) {
          stream.markRefused(new Error(`stream ${frame.streamId} was reset by the peer (status ${frame.status})`));
          stream.receiveReset();
          this.forget(stream);
        }
        return;
      }
      case 'ping':
        // Each side numbers its pings by its own parity: echo only the peer's.
        if ((frame.id % 2 === 1) === (this.role === 'server')) this.write(encodePing(frame.id));
        else this.emit('ping', frame.id);
        return;
      case 'goaway':
        this.peerGoneAway = true;
        this.emit('goaway');
        return;
      case 'settings':
      case 'window_update':
      case 'unknown':
        return;
    }
  }

  private async onSynStream(frame: Extract<Frame, { kind: 'syn_stream' }>): Promise<void> {
    const headers = decodeHeaderBlock(await this.decompressor.decompress(frame.headerBlock));
    const peerParityOk = (frame.streamId % 2 === 1) === (this.role === 'server');
    if (!peerParityOk || frame.streamId <= this.lastPeerStreamId) {
      this.write(encodeRstStream(frame.streamId, RstStatus.PROTOCOL_ERROR));
      return;
    }
    this.lastPeerStreamId = frame.streamId;
    if (this.closing || this.peerGoneAway) {
      this.write(encodeRstStream(frame.streamId, RstStatus.REFUSED_STREAM));
      return;
    }
    const stream = new SpdyStream(this, frame.streamId, headers);
    this.streams.set(frame.streamId, stream);
    if (frame.fin) stream.receiveFin();
    if (this.listenerCount('stream') === 0) stream.reset(RstStatus.REFUSED_STREAM);
    else this.emit('stream', stream);
  }

  private async onSynReply(frame: Extract<Frame, { kind: 'syn_reply' }>): Promise<void> {
    await this.decompressor.decompress(frame.headerBlock);
    const stream = this.pendingReplies.get(frame.streamId);
    if (!stream) return;
    this.pendingReplies.delete(frame.streamId);
    stream.markOpen();
    if (frame.fin) stream.receiveFin();
  }

  private onData(streamId: number, data: Buffer, fin: boolean): void {
    const stream = this.streams.get(streamId);
    if (!stream) return; // for a stream already gone: dropped, as spdystream does
    if (data.length > 0 && !stream.receive(data)) {
      this.blocked.add(stream);
      this.socket.pause();
    }
    if (fin) stream.receiveFin();
  }
}
