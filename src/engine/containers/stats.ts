// `docker stats`: a container's cgroup figures (as the runtime reads them from v1 or v2) in the
// Engine API's JSON shape, with the host's CPU time beside them so the client can work out a
// percentage from two samples.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { CgroupStats } from '../../runtime/cgroups/stats.js';
import type { ContainerRecord } from './record.js';

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** The host's CPU time in nanoseconds, as Docker's system_cpu_usage (from /proc/stat). */
export function systemCpuNs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const jiffies = line.trim().split(/\s+/).slice(1, 8).reduce((s, v) => s + Number(v), 0);
  return jiffies * (1e9 / CLOCK_TICKS); // an integer: Go clients decode it as uint64
}

export interface StatsSample {
  at: Date;
  cg?: CgroupStats;
  system: number;
  /** Per interface of the container's own network namespace (none with --network host). */
  networks?: Record<string, NetworkCounters>;
}

/** Docker's per-interface counters in `networks`. */
export interface NetworkCounters {
  rx_bytes: number; rx_packets: number; rx_errors: number; rx_dropped: number;
  tx_bytes: number; tx_packets: number; tx_errors: number; tx_dropped: number;
}

/**
 * The interfaces of `/proc/<pid>/net/dev` (the process's network namespace), loopback left out
 * as Docker does. Columns: 8 receive counters (bytes packets errs drop fifo frame compressed
 * multicast), then 8 transmit ones (bytes packets errs drop fifo colls carrier compressed).
 */
export function parseNetDev(text: string): Record<string, NetworkCounters> {
  const out: Record<string, NetworkCounters> = {};
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    if (v.length < 16 || v.some((n) => !Number.isFinite(n))) continue;
    out[m[1]!] = { rx_bytes: v[0]!, rx_packets: v[1]!, rx_errors: v[2]!, rx_dropped: v[3]!, tx_bytes: v[8]!, tx_packets: v[9]!, tx_errors: v[10]!, tx_dropped: v[11]! };
  }
  return out;
}

export function networkCounters(pid: number): Record<string, NetworkCounters> | undefined {
  try {
    return parseNetDev(readFileSync(`/proc/${pid}/net/dev`, 'utf8'));
  } catch {
    return undefined; // it exited meanwhile
  }
}

function cpuBlock(s: StatsSample | undefined): Record<string, unknown> {
  const u = s?.cg?.cpu.usage;
  return {
    cpu_usage: { total_usage: u?.total ?? 0, percpu_usage: u?.percpu?.length ? u.percpu : undefined, usage_in_kernelmode: u?.kernel ?? 0, usage_in_usermode: u?.user ?? 0 },
    system_cpu_usage: s?.system ?? 0,
    online_cpus: s ? cpus().length : 0,
    throttling_data: { periods: s?.cg?.cpu.throttling.periods ?? 0, throttled_periods: s?.cg?.cpu.throttling.throttledPeriods ?? 0, throttled_time: s?.cg?.cpu.throttling.throttledTime ?? 0 },
  };
}

const blkio = (entries: CgroupStats['blkio']['ioServiceBytesRecursive'] | undefined) => (entries ?? []).map((e) => ({ major: e.major, minor: e.minor, op: e.op, value: e.value }));

export function dockerStats(c: ContainerRecord, now: StatsSample, prev: StatsSample | undefined): Record<string, unknown> {
  const m = now.cg?.memory;
  const unlimited = !m || m.usage.limit === 0 || m.usage.limit >= 2 ** 62;
  return {
    read: now.at.toISOString(),
    preread: prev?.at.toISOString() ?? '0001-01-01T00:00:00Z',
    pids_stats: now.cg ? { current: now.cg.pids.current, ...(now.cg.pids.limit ? { limit: now.cg.pids.limit } : {}) } : {},
    blkio_stats: {
      io_service_bytes_recursive: blkio(now.cg?.blkio.ioServiceBytesRecursive), io_serviced_recursive: blkio(now.cg?.blkio.ioServicedRecursive),
      io_queue_recursive: null, io_service_time_recursive: null, io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null,
    },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuBlock(now.cg ? now : undefined),
    precpu_stats: cpuBlock(prev?.cg ? prev : undefined),
    memory_stats: m ? { usage: m.usage.usage, max_usage: m.usage.max, stats: m.raw, limit: unlimited ? totalMemory() : m.usage.limit } : {},
    ...(now.networks ? { networks: now.networks } : {}),
    name: c.Name,
    id: c.ID,
  };
}

function totalMemory(): number {
  const m = /^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}
