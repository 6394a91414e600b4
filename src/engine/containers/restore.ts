// A daemon (re)start: the supervisor re-adopts the shims, then each container is brought in line
// with what happened while the daemon was away. Containers whose task ended get their exit
// recorded (and their restart policy); running ones are watched again; a removal the daemon died
// in is finished; `always` and `unless-stopped` (not stopped by a user) containers that are down
// are started. The steps that change a container come from the container service.
import type { ExitStatus } from '../../supervisor/tasks/shim-client.js';
import type { ContainerRecord } from './record.js';
import type { ContainerServiceDeps } from './service.js';

export interface RestoreSteps {
  /** Finishes a removal (in the state 'removing' when the daemon stopped). */
  finishRemoval(id: string): Promise<void>;
  /** Records the exit of a task that ended while the daemon was away. */
  recordExit(id: string, exit: ExitStatus, reason: string | undefined): Promise<void>;
  /** Takes down what a start the daemon died in may have left. */
  clearInterruptedStart(c: ContainerRecord): Promise<void>;
  start(id: string): Promise<boolean>;
}

export async function restoreContainers(deps: Pick<ContainerServiceDeps, 'store' | 'tasks' | 'namespace' | 'warn'>, steps: RestoreSteps): Promise<void> {
  await deps.tasks.restore();
  for (const c of deps.store.list()) {
    if (c.State.Status === 'removing') {
      await steps.finishRemoval(c.ID).catch(() => {});
      continue;
    }
    const wasRunning = c.State.Running;
    if (wasRunning) {
      let status;
      try {
        status = await deps.tasks.status(deps.namespace, c.ID);
      } catch {
        status = undefined;
      }
      if (status && status.status !== 'stopped') {
        if (status.status === 'paused' && !c.State.Paused) {
          c.State = { ...c.State, Status: 'paused', Paused: true };
          deps.store.save(c);
        }
        continue;
      }
      // It ended while the daemon was away: recorded now, then the daemon-start rule below.
      await steps.recordExit(c.ID, status?.exit ?? { status: 255, oomKilled: false, exitedAt: new Date() }, status?.exitReason ?? (status ? undefined : 'its task was lost while the daemon was down'));
    }
    const now = deps.store.find(c.ID);
    if (!now || now.State.Running) continue;
    // A start the daemon died in may have left a task, a network namespace and mounts.
    // (One whose exit was just recorded was cleared by that.)
    if (!wasRunning) await steps.clearInterruptedStart(now);
    const p = now.HostConfig.RestartPolicy?.Name;
    if (now.State.Restarting || ((p === 'always' || (p === 'unless-stopped' && !now.ManuallyStopped)) && now.HasBeenStarted)) {
      now.State = { ...now.State, Restarting: false, Status: 'exited' };
      deps.store.save(now);
      await steps.start(c.ID).catch((err) => deps.warn?.(`restart ${c.ID.slice(0, 12)} at daemon start: ${(err as Error).message}`));
    }
  }
}
