// Container resource usage in the shape of the "data" object of `runc events --stats` (runc's
// types/events.go), so the runc-compatible CLI can print it and the engine can map it to
// Docker's stats. Counts are plain numbers: exact below 2^53, rounded above.
import { UINT64_MAX } from './parse.js';

export interface CpuStats {
  usage: {
    /** Nanoseconds. */
    total: number;
    percpu: number[];
    percpu_kernel: number[];
    percpu_user: number[];
    kernel: number;
    user: number;
  };
  throttling: { periods: number; throttledPeriods: number; throttledTime: number };
}

export interface MemoryEntry {
  limit: number;
  usage: number;
  max: number;
  failcnt: number;
}

export interface MemoryStats {
  cache: number;
  usage: MemoryEntry;
  /** memory+swap, as v1's memsw (v2 values are converted to match). */
  swap: MemoryEntry;
  kernel: MemoryEntry;
  kernelTCP: MemoryEntry;
  raw: Record<string, number>;
}

export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

export interface BlkioStats {
  ioServiceBytesRecursive: BlkioEntry[];
  ioServicedRecursive: BlkioEntry[];
  ioQueueRecursive: BlkioEntry[];
  ioServiceTimeRecursive: BlkioEntry[];
  ioWaitTimeRecursive: BlkioEntry[];
  ioMergedRecursive: BlkioEntry[];
  ioTimeRecursive: BlkioEntry[];
  sectorsRecursive: BlkioEntry[];
}

export interface HugetlbStats {
  usage: number;
  max: number;
  failcnt: number;
}

export interface CgroupStats {
  cpu: CpuStats;
  memory: MemoryStats;
  pids: { current: number; limit: number };
  blkio: BlkioStats;
  /** Keyed by page size ("2MB"). */
  hugetlb: Record<string, HugetlbStats>;
}

const memoryEntry = (): MemoryEntry => ({ limit: 0, usage: 0, max: 0, failcnt: 0 });

export function emptyStats(): CgroupStats {
  return {
    cpu: {
      usage: { total: 0, percpu: [], percpu_kernel: [], percpu_user: [], kernel: 0, user: 0 },
      throttling: { periods: 0, throttledPeriods: 0, throttledTime: 0 },
    },
    memory: { cache: 0, usage: memoryEntry(), swap: memoryEntry(), kernel: memoryEntry(), kernelTCP: memoryEntry(), raw: {} },
    pids: { current: 0, limit: 0 },
    blkio: {
      ioServiceBytesRecursive: [], ioServicedRecursive: [], ioQueueRecursive: [], ioServiceTimeRecursive: [],
      ioWaitTimeRecursive: [], ioMergedRecursive: [], ioTimeRecursive: [], sectorsRecursive: [],
    },
    hugetlb: {},
  };
}

// The keys runc leaves out when zero or empty (Go's omitempty), per object.
const OMIT_EMPTY: Record<string, ReadonlySet<string>> = {
  usage: new Set(['total', 'percpu', 'percpu_kernel', 'percpu_user']),
  throttling: new Set(['periods', 'throttledPeriods', 'throttledTime']),
  memory: new Set(['cache', 'raw']),
  entry: new Set(['usage', 'max']),
  pids: new Set(['current', 'limit']),
  blkio: new Set(Object.keys(emptyStats().blkio)),
  blkioEntry: new Set(['major', 'minor', 'op', 'value']),
  hugetlb: new Set(['usage', 'max']),
};

function omit(obj: object, keys: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const empty = v === 0 || v === '' || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
    if (!(keys.has(k) && empty)) out[k] = v;
  }
  return out;
}

/** The stats as runc's JSON encoder would shape them: zero and empty fields left out where runc omits them. */
export function runcStatsData(s: CgroupStats): Record<string, unknown> {
  const entry = (e: MemoryEntry): Record<string, unknown> => omit(e, OMIT_EMPTY.entry!);
  const blkio: Record<string, unknown> = {};
  for (const [k, list] of Object.entries(s.blkio) as Array<[string, BlkioEntry[]]>) {
    blkio[k] = list.map((e) => omit(e, OMIT_EMPTY.blkioEntry!));
  }
  return {
    cpu: { usage: omit(s.cpu.usage, OMIT_EMPTY.usage!), throttling: omit(s.cpu.throttling, OMIT_EMPTY.throttling!) },
    memory: omit({ ...s.memory, usage: entry(s.memory.usage), swap: entry(s.memory.swap), kernel: entry(s.memory.kernel), kernelTCP: entry(s.memory.kernelTCP) }, OMIT_EMPTY.memory!),
    pids: omit(s.pids, OMIT_EMPTY.pids!),
    blkio: omit(blkio, OMIT_EMPTY.blkio!),
    hugetlb: Object.fromEntries(Object.entries(s.hugetlb).map(([k, v]) => [k, omit(v, OMIT_EMPTY.hugetlb!)])),
  };
}

/** JSON.stringify, but "unlimited" (UINT64_MAX) comes out as 18446744073709551615 as the kernel and runc print it. */
export function stringifyStats(value: unknown, indent?: number): string {
  const marker = JSON.stringify(UINT64_MAX);
  return JSON.stringify(value, null, indent).split(marker).join('18446744073709551615');
}
