// containerd's exec is two calls: Exec records the process, Start runs it (and ctr waits on it in
// between). berth's task service runs an exec at once, so what Exec records waits here, in memory,
// until Start: a daemon restart in between loses it, as containerd's shim would.
import { BerthError, notFound } from '../../common/errors.js';
import type { Process } from '../../runtime/spec/types.js';
import type { StdioPaths } from '../tasks/task-store.js';

export interface PendingExec {
  process: Process;
  terminal: boolean;
  stdio: StdioPaths;
  /** Start is running it. */
  starting?: boolean;
  /** Resolves when Start has run it (or rejects if it was deleted first). */
  started: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class PendingExecs {
  private readonly execs = new Map<string, PendingExec>();

  private key(ns: string, id: string, execId: string): string {
    return `${ns}/${id}/${execId}`;
  }

  add(ns: string, id: string, execId: string, e: Omit<PendingExec, 'started' | 'resolve' | 'reject'>): void {
    const key = this.key(ns, id, execId);
    if (this.execs.has(key)) throw new BerthError('ALREADY_EXISTS', `id ${execId}: already exists`);
    let resolve!: () => void;
    let reject!: (err: Error) => void;
    const started = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    started.catch(() => {}); // a waiter may never come
    this.execs.set(key, { ...e, started, resolve, reject });
  }

  find(ns: string, id: string, execId: string): PendingExec | undefined {
    return this.execs.get(this.key(ns, id, execId));
  }

  /** Takes the exec out (Start runs it, or Delete drops it). */
  take(ns: string, id: string, execId: string): PendingExec {
    const key = this.key(ns, id, execId);
    const e = this.execs.get(key);
    if (!e) throw notFound(`exec ${execId} of task ${id}: not found`);
    this.execs.delete(key);
    return e;
  }

  /** Every exec of a task goes with it. */
  dropTask(ns: string, id: string): void {
    for (const [key, e] of this.execs) {
      if (!key.startsWith(`${ns}/${id}/`)) continue;
      this.execs.delete(key);
      e.reject(notFound(`task ${id} was deleted before its exec started`));
    }
  }
}
