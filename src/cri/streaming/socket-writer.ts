// Writes frames to a connection's socket with backpressure: a write resolves once the socket can
// take more (every writer waiting on one shared 'drain'), and writing to a connection that is
// closed or ended is dropped, not an error. Shared by the SPDY and WebSocket transports.
import type { Socket } from 'node:net';

export class SocketWriter {
  private drained: Promise<void> | undefined;

  constructor(private readonly socket: Socket, private readonly isClosed: () => boolean) {}

  write(frame: Buffer): Promise<void> {
    const s = this.socket;
    if (this.isClosed() || s.destroyed || s.writableEnded) return Promise.resolve();
    if (s.write(frame)) return Promise.resolve();
    this.drained ??= new Promise<void>((resolve) => {
      const done = (): void => {
        s.off('drain', done);
        s.off('close', done);
        this.drained = undefined;
        resolve();
      };
      s.on('drain', done);
      s.on('close', done);
    });
    return this.drained;
  }
}
