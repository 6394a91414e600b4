// Attachers waiting for a container's next start (`docker run` attaches before it starts, so no
// output is lost): their hooks run once the task exists and before it is started; if the start
// fails before that, their failure callbacks run instead, so no attacher waits for a task that
// never comes. Either way the waiting ends with that start.
export class StartHooks {
  private readonly hooks = new Map<string, Set<() => Promise<void>>>();
  private readonly failures = new Map<string, Set<(err: Error) => void>>();

  /** Adds `hook` (and `onFailure`) for the container's next start; returns a function that cancels them. */
  add(id: string, hook: () => Promise<void>, onFailure?: (err: Error) => void): () => void {
    let set = this.hooks.get(id);
    if (!set) this.hooks.set(id, (set = new Set()));
    set.add(hook);
    let failures = this.failures.get(id);
    if (!failures) this.failures.set(id, (failures = new Set()));
    if (onFailure) failures.add(onFailure);
    return () => {
      set!.delete(hook);
      if (onFailure) failures!.delete(onFailure);
    };
  }

  /** The task exists: runs the hooks (a failing one does not stop the start) and ends the wait. */
  async runBeforeStart(id: string): Promise<void> {
    const hooks = [...(this.hooks.get(id) ?? [])];
    this.forget(id);
    await Promise.all(hooks.map((h) => h().catch(() => {})));
  }

  /** The start failed: tells those still waiting (not those whose hooks already ran) and ends the wait. */
  startFailed(id: string, err: Error): void {
    const failed = [...(this.failures.get(id) ?? [])];
    this.forget(id);
    for (const f of failed) f(err);
  }

  private forget(id: string): void {
    this.hooks.delete(id);
    this.failures.delete(id);
  }
}
