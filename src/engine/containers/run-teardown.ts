// Taking down a container's run, step by step, for a stop, an exit, a failed start, a removal and
// a start the daemon died in: its task deleted, its networks left, its volumes released. A step
// that fails warns instead of throwing, so the steps after it still happen.
import { BerthError } from '../../common/errors.js';
import { releaseMounts } from '../../volume/mounts.js';
import type { ContainerRecord } from './record.js';
import { unmountRun } from './run-bundle.js';
import type { ContainerServiceDeps } from './service.js';

type TeardownDeps = Pick<ContainerServiceDeps, 'tasks' | 'namespace' | 'networking' | 'volumes' | 'execRoot' | 'warn'>;

/**
 * Deletes the container's task and its shim, if there is one. With keepOnUnavailable, a task whose
 * process could not be killed (the supervisor's UNAVAILABLE) fails the call: a removal must not
 * go on and forget a task that is still there.
 */
export async function deleteTask(deps: TeardownDeps, id: string, opts: { keepOnUnavailable?: boolean } = {}): Promise<void> {
  try {
    await deps.tasks.delete(deps.namespace, id, true);
  } catch (err) {
    if (err instanceof BerthError && err.code === 'NOT_FOUND') return;
    if (opts.keepOnUnavailable && err instanceof BerthError && err.code === 'UNAVAILABLE') throw err;
    deps.warn?.(`container ${id.slice(0, 12)}: deleting its task: ${(err as Error).message}`);
  }
}

/** Leaves the container's networks: ports, endpoints, the namespace file. */
export async function releaseNetwork(deps: TeardownDeps, c: ContainerRecord): Promise<void> {
  try {
    await deps.networking.detach(c);
  } catch (err) {
    deps.warn?.(`container ${c.ID.slice(0, 12)}: leaving its networks: ${(err as Error).message}`);
  }
}

export function releaseVolumes(deps: TeardownDeps, c: ContainerRecord): void {
  for (const problem of releaseMounts(deps.volumes, c.MountPoints ?? [], c.ID)) deps.warn?.(`container ${c.ID.slice(0, 12)}: ${problem}`);
}

/** What a start the daemon died in may have left: a task, a network namespace and mounts. */
export async function clearInterruptedStart(deps: TeardownDeps, c: ContainerRecord): Promise<void> {
  await deleteTask(deps, c.ID);
  await releaseNetwork(deps, c);
  unmountRun(deps.execRoot, c.ID);
}
