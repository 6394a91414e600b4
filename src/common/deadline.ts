// Waiting for a promise no longer than a deadline: the promise keeps running, only the wait ends.

/** What `within` resolves with when the deadline came first. */
export const TIMED_OUT = Symbol('timed out');

/** The longest single timer: Node fires a longer one at once (with a TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** `promise`'s value, or TIMED_OUT after `ms` (at once when `ms` <= 0 and it has not settled). */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
    // A deadline past the longest timer (a stop's t of a month, say) takes several in a row.
    const arm = (left: number): void => {
      // unref'd: a wait that is given up on must not keep the process alive by itself
      timer = setTimeout(() => (left > MAX_TIMER_MS ? arm(left - MAX_TIMER_MS) : resolve(TIMED_OUT)), Math.min(left, MAX_TIMER_MS)).unref();
    };
    arm(Math.max(0, ms));
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
