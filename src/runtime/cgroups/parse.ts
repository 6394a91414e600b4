// Parsers for the few shapes cgroup files come in: one number, "key value" lines, and the
// nested "8:0 rbytes=1 wbytes=2" lines of v2's io.stat.

/**
 * "Unlimited" as reported by the kernel ("max" in v2, 2^64-1 in some v1 files). Stats are plain
 * numbers, so this is 2^64 as a double; stringifyStats() writes it back as 18446744073709551615.
 */
export const UINT64_MAX = 2 ** 64;

/** A number from a cgroup file: "max" is UINT64_MAX, anything unparsable is 0. */
export function parseNumber(text: string | undefined): number {
  if (text === undefined) return 0;
  const t = text.trim();
  if (t === 'max') return UINT64_MAX;
  if (!/^-?\d+$/.test(t)) return 0;
  // Through BigInt so that values above 2^53 round once, to the nearest double.
  return Number(BigInt(t));
}

/** "key value" lines (memory.stat, cpu.stat, memory.events, ...) as a map. */
export function parseKeyValues(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [key, value, extra] = line.trim().split(/\s+/);
    if (key && value !== undefined && extra === undefined) out[key] = parseNumber(value);
  }
  return out;
}

/** Space-separated numbers (cpuacct.usage_percpu). */
export function parseNumberList(text: string | undefined): number[] {
  return (text ?? '').trim().split(/\s+/).filter((s) => s !== '').map(parseNumber);
}

export interface DeviceLine {
  major: number;
  minor: number;
  fields: string[];
}

/** Lines that start with "major:minor" followed by more fields; other lines ("Total 0") are skipped. */
export function parseDeviceLines(text: string | undefined): DeviceLine[] {
  const out: DeviceLine[] = [];
  for (const line of (text ?? '').split('\n')) {
    const [dev, ...fields] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), fields });
  }
  return out;
}
