// Appending a stream of chunks to a file off the event loop's thread: chunks are gathered and
// written with one writev(2) in the thread pool at a time, while the caller goes on (hashing,
// decompressing, reading the network). A pull writes each byte twice (the blob, the unpacked
// file); as plain write(2)s on the event loop's thread those were a third of its time. Chunks
// must not change once given (network and zlib buffers do not). A failed write is reported by the
// next push or by flush.
import { writev } from 'node:fs';

/** Bytes gathered before a write starts; bigger writes mean fewer thread-pool round trips. */
const BATCH = 1 << 20;
/** Bytes waiting behind a running write before push waits for it (the memory a file may hold). */
const LIMIT = 8 << 20;

export class WriteBehind {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private running?: Promise<void>;
  private error: unknown;
  /** Bytes given so far. */
  written = 0;

  constructor(private readonly fd: number) {}

  async push(chunk: Buffer): Promise<void> {
    this.check();
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.written += chunk.length;
    if (this.pendingBytes >= BATCH && !this.running) this.start();
    while (this.pendingBytes >= LIMIT && this.running) {
      await this.running;
      this.check();
      if (this.pendingBytes >= BATCH && !this.running) this.start();
    }
  }

  /** Resolves once every chunk given is written (to the page cache: fsync is the caller's). */
  async flush(): Promise<void> {
    for (;;) {
      if (this.running) {
        await this.running; // which may have started the next write
        continue;
      }
      this.check();
      if (this.pendingBytes === 0) return;
      this.start();
    }
  }

  private start(): void {
    const chunks = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.running = writeAll(this.fd, chunks).then(
      () => {
        this.running = undefined;
        if (this.pendingBytes >= BATCH) this.start(); // what gathered meanwhile goes on at once
      },
      (err: unknown) => {
        this.error ??= err;
        this.running = undefined;
      },
    );
  }

  private check(): void {
    if (this.error !== undefined) throw this.error;
  }
}

/** writev until every byte is written (a short write resumes where it stopped). */
async function writeAll(fd: number, chunks: Buffer[]): Promise<void> {
  let rest = chunks;
  while (rest.length) {
    // IOV_MAX is 1024: bigger batches go in slices.
    const slice = rest.slice(0, 1024);
    let n = await new Promise<number>((resolve, reject) => writev(fd, slice, (err, bytes) => (err ? reject(err) : resolve(bytes))));
    let i = 0;
    while (i < slice.length && n >= slice[i]!.length) n -= slice[i++]!.length;
    rest = i < slice.length ? [slice[i]!.subarray(n), ...slice.slice(i + 1), ...rest.slice(slice.length)] : rest.slice(slice.length);
  }
}
