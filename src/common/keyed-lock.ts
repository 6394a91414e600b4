// One change at a time per key: `run(key, fn)` starts fn once whatever else runs for that key has
// settled. Keys with nothing queued hold no memory.
export class KeyedLock {
  private readonly busy = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.busy.get(key) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(fn);
    this.busy.set(key, next);
    void next.finally(() => {
      if (this.busy.get(key) === next) this.busy.delete(key);
    }).catch(() => {});
    return next;
  }
}
