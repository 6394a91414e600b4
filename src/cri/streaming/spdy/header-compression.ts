// SPDY/3 compresses every header block of a connection, in each direction, with one zlib stream
// primed with the SPDY dictionary; each block ends with a sync flush so the peer can decompress it
// at once. Node's zlib streams are asynchronous, so each direction runs its blocks one at a time
// in the order they were given: that order is the frame order, which the peer relies on.
import zlib from 'node:zlib';
import { SPDY3_HEADER_DICTIONARY } from './dictionary.js';

class SerialZlib {
  private tail: Promise<unknown> = Promise.resolve();
  private failure: Error | undefined;

  constructor(private readonly engine: zlib.Deflate | zlib.Inflate, private readonly what: string) {
    engine.on('error', (err: Error) => {
      this.failure ??= new Error(`SPDY header ${what} failed: ${err.message}`);
    });
  }

  /** Feeds `input` and returns everything the engine gives back after a sync flush. */
  run(input: Buffer): Promise<Buffer> {
    const job = this.tail.then(() => this.runNow(input));
    this.tail = job.catch(() => undefined);
    return job;
  }

  close(): void {
    this.failure ??= new Error(`SPDY header ${this.what} is closed`);
    this.engine.close();
  }

  private runNow(input: Buffer): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const onData = (chunk: Buffer): void => void chunks.push(chunk);
      const onError = (): void => {
        cleanup();
        reject(this.failure);
      };
      const cleanup = (): void => {
        this.engine.off('data', onData);
        this.engine.off('error', onError);
      };
      this.engine.on('data', onData);
      this.engine.once('error', onError);
      this.engine.write(input);
      this.engine.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        cleanup();
        if (this.failure) reject(this.failure);
        else resolve(Buffer.concat(chunks));
      });
    });
  }
}

/** One direction's compressor: plain header blocks in, SPDY's compressed bytes out. */
export class HeaderCompressor {
  private readonly zlib = new SerialZlib(zlib.createDeflate({ dictionary: SPDY3_HEADER_DICTIONARY }), 'compression');
  compress(block: Buffer): Promise<Buffer> {
    return this.zlib.run(block);
  }
  close(): void {
    this.zlib.close();
  }
}

/** The other direction: a frame's compressed header bytes in, the plain header block out. */
export class HeaderDecompressor {
  private readonly zlib = new SerialZlib(zlib.createInflate({ dictionary: SPDY3_HEADER_DICTIONARY }), 'decompression');
  decompress(compressed: Buffer): Promise<Buffer> {
    return this.zlib.run(compressed);
  }
  close(): void {
    this.zlib.close();
  }
}
