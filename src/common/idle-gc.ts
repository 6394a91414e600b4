// A full garbage collection once the process goes quiet after a burst of work.
//
// V8 collects only when JavaScript allocates. After a burst (100 API clients for a minute), a
// daemon that then sits idle keeps the garbage the burst left: measured on berthd, 40 MB of old
// space of which 16 MB live, and 8 MB of dead Buffers' memory. One full collection when the event
// loop has been quiet for a while gives those pages back to the kernel (V8 unmaps the freed pages
// about a second later), and a second one a few seconds on shrinks the young generation. The
// check is cheap (two counters every few seconds) and collects only when the heap has grown since
// the last collection, so a daemon that stays idle is never woken.
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface IdleCollectorOptions {
  /** How often the event loop's utilisation is sampled. */
  checkMs?: number;
  /** A sample below this share of busy time counts as quiet. */
  quietUtilization?: number;
  /** Collect only when the heap plus external memory grew this much since the last collection. */
  growthBytes?: number;
  /**
   * Called on the quiet check after a collection, once V8 has freed what it collected (it frees
   * ArrayBuffers' memory on a background thread): berthd hands malloc's free pages back there.
   */
  afterCollection?: () => void;
}

/** The collector's `gc()`: V8 gives it only to contexts made after --expose-gc is set. */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Longer than the five seconds over which V8 measures the allocation rate. */
const SHRINK_DELAY_MS = 6000;

const usedBytes = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};

/** Starts the idle collector (its timer never keeps the process alive); returns its stop. */
export function collectWhenIdle(opts: IdleCollectorOptions = {}): () => void {
  const checkMs = opts.checkMs ?? 3000;
  const quiet = opts.quietUtilization ?? 0.02;
  const growth = opts.growthBytes ?? 8 << 20;
  const gc = exposeGc();
  let afterLastGc = usedBytes();
  // When set, a second collection is due then: V8 shrinks its young generation (two 16 MB
  // semi-spaces once grown) only in a collection that finds the allocation rate of the last five
  // seconds low, which the first one, right after the burst, does not.
  let shrinkAt = 0;
  let collected = false;
  let last = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    if (busy >= quiet) return;
    if (collected) {
      collected = false;
      opts.afterCollection?.();
    }
    if (shrinkAt && Date.now() >= shrinkAt) {
      shrinkAt = 0;
      gc();
    } else if (usedBytes() - afterLastGc >= growth) {
      // Left to itself, the collection keeps pages that are partly live (measured: 36 MB of old
      // space kept for 16 MB live); compacting moves the survivors together so the rest is unmapped.
      setFlagsFromString('--compact-on-every-full-gc');
      gc();
      setFlagsFromString('--no-compact-on-every-full-gc');
      shrinkAt = Date.now() + SHRINK_DELAY_MS;
    } else return;
    collected = true;
    afterLastGc = usedBytes();
  }, checkMs);
  timer.unref();
  return () => clearInterval(timer);
}
