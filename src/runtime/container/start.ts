// `start`: release a created container by reading its exec fifo, then run the poststart hooks.
import { closeSync, constants, openSync, readSync, unlinkSync } from 'node:fs';
import { precondition, errnoOf } from '../../common/errors.js';
import { isSameProcessAlive } from '../../sys/proc.js';
import { runHooks } from '../hooks.js';
import { type RuntimeContext, stateOf, statusOf } from './context.js';

export async function startContainer(ctx: RuntimeContext, id: string): Promise<void> {
  const rec = ctx.store.load(id);
  const status = await statusOf(ctx, rec);
  if (status === 'stopped') throw precondition('cannot start a container that has stopped');
  if (status !== 'created') throw precondition(`cannot start an already ${status} container`);

  const fifo = ctx.store.fifoPath(id);
  // Non-blocking: if the init died, a blocking open would wait forever for a writer.
  const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const buf = Buffer.alloc(1);
    const released = () => {
      try {
        return readSync(fd, buf, 0, 1, null) === 1;
      } catch (err) {
        if (errnoOf(err) !== 'EAGAIN') throw err;
        return false;
      }
    };
    for (;;) {
      if (released()) break;
      // Between that read and this check the init may have written its byte, run a short command
      // and exited: the byte is still in the fifo, and the container did start.
      if (!isSameProcessAlive(rec.pid, rec.pidStartTime)) {
        if (released()) break;
        throw precondition('cannot start a container that has stopped');
      }
      await new Promise((r) => setTimeout(r, 1));
    }
  } finally {
    closeSync(fd);
  }
  unlinkSync(fifo);
  try {
    await runHooks(rec.config.hooks?.poststart, stateOf(rec, 'running'), 'poststart');
  } catch (err) {
    // The spec says a failed poststart hook is a warning; the container keeps running.
    ctx.warn?.((err as Error).message);
  }
}
