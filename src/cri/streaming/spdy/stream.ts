// One SPDY stream as a Node Duplex: what the peer sends on it is readable, what is written goes out
// as DATA frames, end() sends the FIN, destroy() before both sides finished resets it (RST_STREAM).
// The connection (connection.ts) owns the frames; the stream only asks it to send.
import { Duplex } from 'node:stream';
import { headerValue, type SpdyHeaders } from './header-block.js';
import { RstStatus } from './frames.js';

/** What a stream needs from its connection. */
export interface StreamOwner {
  sendData(streamId: number, data: Buffer, fin: boolean): Promise<void>;
  sendReset(streamId: number, status: number): void;
  /** The stream's reader wants more: the connection may read from its socket again. */
  readWanted(stream: SpdyStream): void;
  /** The stream is gone: the connection drops it from its table. */
  forget(stream: SpdyStream): void;
}

// Writes wait until the stream is open: a DATA frame sent before the SYN_REPLY is dropped by the
// Go peer.
export class SpdyStream extends Duplex {
  readonly id: number;
  readonly headers: SpdyHeaders;
  /** Set when the peer closed its side (FIN) or reset the stream. */
  remoteClosed = false;
  /** Set when the peer reset the stream: writes from then on are dropped. */
  remoteReset = false;
  private localClosed = false;
  private readonly opened: Promise<void>;
  private markOpened!: () => void;
  private failOpen!: (err: Error) => void;

  constructor(private readonly owner: StreamOwner, id: number, headers: SpdyHeaders) {
    super({ allowHalfOpen: true });
    this.id = id;
    this.headers = headers;
    this.opened = new Promise<void>((resolve, reject) => {
      this.markOpened = resolve;
      this.failOpen = reject;
    });
    this.opened.catch(() => undefined);
  }

  /** The first value of one of the stream's headers. */
  header(name: string): string | undefined {
    return headerValue(this.headers, name);
  }

  /** Resets the stream (RST_STREAM) and destroys it. */
  reset(status: number = RstStatus.CANCEL): void {
    if (!this.destroyed && !this.remoteReset && !(this.localClosed && this.remoteClosed)) this.owner.sendReset(this.id, status);
    this.localClosed = true;
    this.remoteClosed = true;
    this.destroy();
  }

  // --- called by the connection ---

  /** The stream's SYN_REPLY went out (server) or came in (client): writes may flow. */
  markOpen(): void {
    this.markOpened();
  }

  /** The stream was refused (or reset) before it opened. */
  markRefused(err: Error): void {
    this.failOpen(err);
  }

  /** Resolves once the stream is open; rejects when the peer refused it. */
  whenOpen(): Promise<void> {
    return this.opened;
  }

  /** Data from the peer; false when the reader's buffer is full. */
  receive(data: Buffer): boolean {
    if (this.remoteClosed || this.destroyed) return true;
    return this.push(data);
  }

  receiveFin(): void {
    if (this.remoteClosed) return;
    this.remoteClosed = true;
    this.push(null);
    this.settle();
  }

  receiveReset(): void {
    this.remoteReset = true;
    this.receiveFin();
    this.localClosed = true;
    this.settle();
  }

  // --- Duplex ---

  override _read(): void {
    this.owner.readWanted(this);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.remoteReset || this.localClosed) {
      callback();
      return;
    }
    // A stream refused before it opened just drops what is written: an 'error' nobody listens
    // for would bring the whole process down.
    this.opened.then(() => this.owner.sendData(this.id, chunk, false), () => undefined).then(() => callback());
  }

  override _final(callback: (err?: Error | null) => void): void {
    if (this.remoteReset || this.localClosed) {
      callback();
      return;
    }
    this.opened
      .then(() => this.owner.sendData(this.id, Buffer.alloc(0), true), () => undefined)
      .then(() => {
        this.localClosed = true;
        callback();
        this.settle();
      });
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    if (!this.localClosed || !this.remoteClosed) {
      // Gone before both sides finished: tell the peer, so it stops waiting on this stream.
      if (!this.remoteReset) this.owner.sendReset(this.id, RstStatus.CANCEL);
      this.localClosed = true;
      this.remoteClosed = true;
    }
    this.owner.forget(this);
    callback(err);
  }

  /** Both sides finished: the stream is complete and leaves its connection. */
  private settle(): void {
    if (this.localClosed && this.remoteClosed) this.owner.forget(this);
  }
}
