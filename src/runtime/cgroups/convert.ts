// The OCI resources were designed around cgroup v1; these are the conversions to v2 values
// (the same formulas runc uses, so a container gets the same limits under either runtime) and
// the checks every value gets before a file is touched.
import { invalid } from '../../common/errors.js';

export const FIELD = 'linux.resources';

/** cpu.shares [2, 262144] → cpu.weight [1, 10000], linearly; out-of-range shares are clamped first. */
export function sharesToWeight(shares: number): number {
  const s = Math.min(Math.max(shares, 2), 262144);
  return 1 + Math.floor(((s - 2) * 9999) / 262142);
}

/** blkio.weight [10, 1000] → io.weight [1, 10000], linearly. */
export function blkioWeightToIoWeight(weight: number): number {
  const w = Math.min(Math.max(weight, 10), 1000);
  return 1 + Math.floor(((w - 10) * 9999) / 990);
}

/**
 * The value for v2's memory.swap.max. OCI's swap is memory+swap (v1's memsw); v2 limits swap
 * alone, so swap.max = swap - limit. Returns "max", a number as text, or undefined for "leave it".
 */
export function swapMaxV2(swap: number | undefined, limit: number | undefined): string | undefined {
  const field = `${FIELD}.memory.swap`;
  // Unlimited memory with no swap given: make swap unlimited too, as v1's memsw would be.
  if (limit === -1 && (swap === undefined || swap === 0)) return 'max';
  if (swap === undefined || swap === 0) return undefined;
  if (swap === -1) return 'max';
  if (limit === -1) return String(swap);
  if (limit === undefined || limit === 0) {
    throw invalid(`${field}: swap is memory+swap, so it needs linux.resources.memory.limit in the same update`);
  }
  if (swap < limit) throw invalid(`${field}: ${swap} is below memory.limit ${limit}; swap counts memory+swap and must be >= limit (or -1)`);
  return String(swap - limit);
}

/** pids.max for an OCI pids.limit: 0 and -1 mean no limit. */
export const pidsMax = (limit: number): string => (limit > 0 ? String(limit) : 'max');

/** Fails unless `v` is an integer >= min (undefined passes: the field is absent). */
export function checkInt(field: string, v: number | undefined, min = -1, max = Number.MAX_SAFE_INTEGER): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalid(`${FIELD}.${field}: ${JSON.stringify(v)} is not an integer between ${min} and ${max}`);
  }
}

/** "2MB", "1GB", "64KB": the hugepage size names the kernel uses in hugetlb.<size>.* files. */
export function checkPageSize(field: string, size: string): void {
  if (typeof size !== 'string' || !/^\d+[KMGT]?B$/.test(size)) {
    throw invalid(`${FIELD}.${field}: ${JSON.stringify(size)} is not a hugepage size like "2MB" or "1GB"`);
  }
}

/** Turns -1 (OCI's "unlimited" in v1 terms) into v2's "max". */
export const v2Limit = (n: number): string => (n === -1 ? 'max' : String(n));
