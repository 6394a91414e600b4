// `run`: create and start in one step. In the foreground the init's stage 0 stays as the
// container's parent and reports its exit status; the container is deleted afterwards.
import { createContainer, type CreateOptions } from './create.js';
import { deleteContainer } from './delete.js';
import { startContainer } from './start.js';
import type { RuntimeContext } from './context.js';

export interface RunOptions extends CreateOptions {
  detach?: boolean;
  /** Keep the container's state after it exits (runc's --keep). */
  keep?: boolean;
  /** Called with the container's pid once it runs, e.g. to forward signals. */
  onStarted?: (pid: number) => void;
}

/** Resolves to the container's exit status (0 for a detached run). */
export async function runContainer(ctx: RuntimeContext, id: string, opts: RunOptions): Promise<number> {
  const { record, launch } = await createContainer(ctx, id, { ...opts, wait: !opts.detach });
  try {
    await startContainer(ctx, id);
  } catch (err) {
    // If the init failed after reporting ready, its own message says why; prefer it.
    const initError = await Promise.race([launch.finished.then(() => undefined, (e: Error) => e), new Promise<undefined>((r) => setTimeout(() => r(undefined), 100))]);
    await deleteContainer(ctx, id, true).catch(() => {});
    throw initError ?? err;
  }
  if (opts.detach) {
    launch.detach();
    return 0;
  }
  opts.onStarted?.(record.pid);
  let failure: Error | undefined;
  await launch.finished.catch((err: Error) => { failure = err; });
  const code = await launch.exit;
  if (!opts.keep) await deleteContainer(ctx, id, true).catch(() => {});
  if (failure) throw failure;
  return code;
}
