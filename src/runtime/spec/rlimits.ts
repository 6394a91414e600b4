// RLIMIT_* names to the resource numbers setrlimit(2) takes.
import { invalid } from '../../common/errors.js';

const RLIMITS: Record<string, number> = {
  RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_CORE: 4, RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6, RLIMIT_NOFILE: 7, RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9, RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11, RLIMIT_MSGQUEUE: 12, RLIMIT_NICE: 13, RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
};

export function rlimitResource(type: string, field: string): number {
  const n = RLIMITS[type];
  if (n === undefined) throw invalid(`${field}.type: unknown rlimit "${type}"`);
  return n;
}

/**
 * A limit as setrlimit(2) takes it: RLIM_INFINITY (all ones) for -1 or anything at or above
 * 2^64-1 (Docker writes unlimited as 18446744073709551615, which JSON gives Node as 2^64).
 */
export function rlimitValue(v: number): bigint {
  if (v < 0 || v >= 2 ** 64 - 1) return (1n << 64n) - 1n;
  return BigInt(v);
}
