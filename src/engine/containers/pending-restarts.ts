// Restarts a container's policy asked for and that have not happened yet: the container is shown
// as restarting while its timer runs (restart-policy.ts keeps the timers and their back-off), and
// as exited again when a stop, start or removal cancels it.
import type { ContainerRecord } from './record.js';
import { RestartScheduler } from './restart-policy.js';
import type { ContainerStore } from './store.js';

export class PendingRestarts {
  private readonly timers: RestartScheduler;

  /** `due(id)` is called when a container's restart delay is over. */
  constructor(private readonly store: ContainerStore, due: (id: string) => void) {
    this.timers = new RestartScheduler(due);
  }

  /** Marks the container restarting and arms its restart, as its policy says after an exit. */
  schedule(c: ContainerRecord, ranMs: number): void {
    c.State = { ...c.State, Status: 'restarting', Restarting: true };
    this.store.save(c);
    this.timers.schedule(c.ID, ranMs);
  }

  /** Disarms the container's pending restart; false when there was none. */
  cancel(id: string): boolean {
    if (!this.timers.cancel(id)) return false;
    const c = this.store.find(id);
    if (c?.State.Restarting) {
      c.State = { ...c.State, Status: 'exited', Restarting: false };
      this.store.save(c);
    }
    return true;
  }

  /** The container is gone: its timer and its back-off go too. */
  forget(id: string): void {
    this.timers.forget(id);
  }

  /** The daemon is shutting down: no restart fires (the containers keep running). */
  close(): void {
    this.timers.close();
  }
}
