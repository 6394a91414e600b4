// Restart policies (no, always, unless-stopped, on-failure[:N]) and their timing: a container
// that exits is restarted after a delay that doubles with each quick exit (100 ms … 1 min) and
// starts over once a run lasted 10 s, as Docker does. The scheduler only keeps the timers;
// pending-restarts.ts records the state, and the container service does the start when one is due.
import { invalid } from '../../common/errors.js';
import type { RestartPolicy } from './api-types.js';
import type { ContainerRecord } from './record.js';

const BACKOFF_START_MS = 100;
const BACKOFF_MAX_MS = 60_000;
const RUN_RESETS_BACKOFF_MS = 10_000;

/** Docker's checks of a policy, at create and at update. */
export function checkRestartPolicy(p: RestartPolicy | undefined): void {
  const name = p?.Name ?? '';
  if (!['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(name)) throw invalid(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  if ((p?.MaximumRetryCount ?? 0) < 0) throw invalid('invalid restart policy: maximum retry count cannot be negative');
  if (p?.MaximumRetryCount && name !== 'on-failure') throw invalid(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
}

/** Whether the policy restarts `c` after it exited with `status` (a user's stop never does). */
export function shouldRestart(c: ContainerRecord, status: number): boolean {
  const p = c.HostConfig.RestartPolicy ?? {};
  if (c.ManuallyStopped) return false;
  if (p.Name === 'always' || p.Name === 'unless-stopped') return true;
  if (p.Name === 'on-failure') return status !== 0 && (!p.MaximumRetryCount || c.RestartCount < p.MaximumRetryCount);
  return false;
}

export class RestartScheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly backoff = new Map<string, number>();

  /** `due(id)` is called when a container's restart delay is over. */
  constructor(private readonly due: (id: string) => void) {}

  /** Arms the restart of a container that ran `ranMs`; returns the delay. */
  schedule(id: string, ranMs: number): number {
    let delay = ranMs > RUN_RESETS_BACKOFF_MS ? BACKOFF_START_MS : (this.backoff.get(id) ?? BACKOFF_START_MS / 2) * 2;
    delay = Math.min(delay, BACKOFF_MAX_MS);
    this.backoff.set(id, delay);
    const timer = setTimeout(() => {
      this.timers.delete(id);
      this.due(id);
    }, delay);
    timer.unref();
    this.timers.set(id, timer);
    return delay;
  }

  /** Disarms a pending restart; false when there was none. */
  cancel(id: string): boolean {
    const t = this.timers.get(id);
    if (!t) return false;
    clearTimeout(t);
    this.timers.delete(id);
    return true;
  }

  /** The container is gone: its timer and its back-off go too. */
  forget(id: string): void {
    this.cancel(id);
    this.backoff.delete(id);
  }

  /** The daemon is shutting down: no restart fires (the containers keep running). */
  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
