// How a stop ends a container's task: its stop signal (SIGTERM unless --stop-signal or the
// request says otherwise), then SIGKILL to every process once the timeout is up, as Docker does.
import type { ExitStatus } from '../../supervisor/tasks/shim-client.js';
import type { ContainerRecord } from './record.js';
import type { ContainerServiceDeps } from './service.js';
import { signalNumber } from './signals.js';
import { TIMED_OUT, within } from '../../common/deadline.js';

/** Signals the task until `exited` (its end, as the supervisor announces it) settles or SIGKILL was sent. */
export async function signalStop(
  deps: Pick<ContainerServiceDeps, 'tasks' | 'namespace'>, c: ContainerRecord, opts: { signal?: string; timeoutSec?: number }, exited: Promise<ExitStatus>,
  onSignal: (signal: number) => void = () => {},
): Promise<void> {
  const sig = signalNumber(opts.signal ?? c.Config.StopSignal, 15);
  const timeout = opts.timeoutSec ?? c.Config.StopTimeout ?? 10;
  if (c.State.Paused) await deps.tasks.resume(deps.namespace, c.ID).catch(() => {});
  onSignal(sig);
  await deps.tasks.kill(deps.namespace, c.ID, sig).catch(() => {});
  // A negative timeout waits for as long as it takes; otherwise SIGKILL when time is up.
  if (timeout >= 0 && (await within(exited, timeout * 1000)) === TIMED_OUT) {
    onSignal(9);
    await deps.tasks.kill(deps.namespace, c.ID, 9, { all: true }).catch(() => {});
  }
}
