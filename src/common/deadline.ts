// Waiting for a promise no longer than a deadline: the promise keeps running, only the wait ends.

/** What `within` resolves with when the deadline came first. */
export const TIMED_OUT = Symbol('timed out');

/** `promise`'s value, or TIMED_OUT after `ms` (at once when `ms` <= 0 and it has not settled). */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
    // unref'd: a wait that is given up on must not keep the process alive by itself
    timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, ms)).unref();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
