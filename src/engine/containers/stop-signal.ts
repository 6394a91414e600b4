// How a stop ends a container's task: its stop signal (SIGTERM unless --stop-signal or the
// request says otherwise), then SIGKILL to every process once the timeout is up, as Docker does.
// The two steps are apart because only the first needs the container's turn: the wait between
// them may last as long as the grace period, or forever (t=-1), and a remove, a restart or another
// stop meanwhile must not queue behind it (Docker's do not).
import type { ExitStatus } from '../../supervisor/tasks/shim-client.js';
import type { ContainerRecord } from './record.js';
import type { ContainerServiceDeps } from './service.js';
import { signalNumber } from './signals.js';
import { TIMED_OUT, within } from '../../common/deadline.js';

type Deps = Pick<ContainerServiceDeps, 'tasks' | 'namespace'>;
export interface StopOptions { signal?: string; timeoutSec?: number }

/** Sends the stop signal; a paused task is resumed first, or it could not act on it. */
export async function sendStopSignal(deps: Deps, c: ContainerRecord, opts: StopOptions, onSignal: (signal: number) => void): Promise<void> {
  const sig = signalNumber(opts.signal ?? c.Config.StopSignal, 15);
  if (c.State.Paused) await deps.tasks.resume(deps.namespace, c.ID).catch(() => {});
  onSignal(sig);
  await deps.tasks.kill(deps.namespace, c.ID, sig).catch(() => {});
}

/** Waits for `exited` (the task's end, as the supervisor announces it); SIGKILLs every process once the timeout is up. */
export async function killAfterTimeout(
  deps: Deps, c: ContainerRecord, opts: StopOptions, exited: Promise<ExitStatus>, onSignal: (signal: number) => void,
): Promise<ExitStatus> {
  const timeout = opts.timeoutSec ?? c.Config.StopTimeout ?? 10;
  // A negative timeout waits for as long as it takes.
  if (timeout >= 0 && (await within(exited, timeout * 1000)) === TIMED_OUT) {
    onSignal(9);
    await deps.tasks.kill(deps.namespace, c.ID, 9, { all: true }).catch(() => {});
  }
  return exited;
}
