// A bounded queue of buffers from one producer to one consumer, which reads it as an
// AsyncIterable: the producer's push waits while `limit` bytes are queued, so a fast source runs
// ahead of a slow consumer by that much at most. Once the consumer is gone (`stop()`, or its loop
// ended), pushes are dropped at once, so a producer that has another sink too is never held up;
// a consumer still waiting then sees the end.

export class ByteChannel implements AsyncIterable<Buffer> {
  private queue: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private error: unknown;
  private stopped = false;
  private wakeConsumer?: () => void;
  private wakeProducer?: () => void;

  constructor(private readonly limit: number) {}

  /** Queues a chunk; resolves once there is room for more. */
  async push(chunk: Buffer): Promise<void> {
    if (this.ended) throw new Error('ByteChannel: push after end');
    if (this.stopped || chunk.length === 0) return;
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.wake('consumer');
    while (this.queued >= this.limit && !this.stopped) await new Promise<void>((r) => (this.wakeProducer = r));
  }

  /** No more chunks; with an error, the consumer's loop throws it once the queue is read. */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    this.wake('consumer');
  }

  /** The consumer is gone: what is queued is dropped, and so is whatever is pushed later. */
  stop(): void {
    this.stopped = true;
    this.queue = [];
    this.queued = 0;
    this.wake('producer');
    this.wake('consumer');
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    try {
      while (!this.stopped) {
        const chunk = this.queue.shift();
        if (chunk) {
          this.queued -= chunk.length;
          if (this.queued < this.limit) this.wake('producer');
          yield chunk;
        } else if (this.ended) {
          if (this.error !== undefined) throw this.error;
          return;
        } else {
          await new Promise<void>((r) => (this.wakeConsumer = r));
        }
      }
    } finally {
      this.stop();
    }
  }

  private wake(who: 'consumer' | 'producer'): void {
    const wake = who === 'consumer' ? this.wakeConsumer : this.wakeProducer;
    if (who === 'consumer') this.wakeConsumer = undefined;
    else this.wakeProducer = undefined;
    wake?.();
  }
}
