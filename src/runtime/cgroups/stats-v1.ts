// Reading a container's usage from its cgroup v1 directories. A controller that is not mounted
// leaves its part of the stats at zero.
import { posix } from 'node:path';
import type { CgroupFs } from './host.js';
import { readOptional } from './host.js';
import { parseDeviceLines, parseKeyValues, parseNumber, parseNumberList } from './parse.js';
import type { BlkioEntry, BlkioStats, CgroupStats, MemoryEntry } from './stats.js';
import { emptyStats } from './stats.js';

/** cpuacct.stat counts USER_HZ ticks; Linux fixes USER_HZ at 100 for user space. */
const NS_PER_TICK = 1e9 / 100;

type Reader = (file: string) => Promise<string | undefined>;

export async function statsV1(fs: CgroupFs, dirOf: (controller: string) => string | undefined): Promise<CgroupStats> {
  const reader = (controller: string): Reader => {
    const dir = dirOf(controller);
    return async (file) => (dir === undefined ? undefined : readOptional(fs, posix.join(dir, file)));
  };
  const s = emptyStats();
  await Promise.all([
    cpuacct(reader('cpuacct'), s),
    cpuThrottling(reader('cpu'), s),
    memory(reader('memory'), s),
    pids(reader('pids'), s),
    blkio(reader('blkio')).then((b) => (s.blkio = b)),
    hugetlb(fs, dirOf('hugetlb'), s),
  ]);
  return s;
}

async function cpuacct(rd: Reader, s: CgroupStats): Promise<void> {
  const u = s.cpu.usage;
  u.total = parseNumber(await rd('cpuacct.usage'));
  u.percpu = parseNumberList(await rd('cpuacct.usage_percpu'));
  // usage_all: a "cpu user system" header, then one row per cpu.
  const rows = ((await rd('cpuacct.usage_all')) ?? '').split('\n').slice(1).map((l) => parseNumberList(l)).filter((r) => r.length === 3);
  u.percpu_user = rows.map((r) => r[1]!);
  u.percpu_kernel = rows.map((r) => r[2]!);
  const ticks = parseKeyValues(await rd('cpuacct.stat'));
  u.user = (ticks.user ?? 0) * NS_PER_TICK;
  u.kernel = (ticks.system ?? 0) * NS_PER_TICK;
}

async function cpuThrottling(rd: Reader, s: CgroupStats): Promise<void> {
  const st = parseKeyValues(await rd('cpu.stat'));
  s.cpu.throttling = { periods: st.nr_periods ?? 0, throttledPeriods: st.nr_throttled ?? 0, throttledTime: st.throttled_time ?? 0 };
}

async function memoryEntry(rd: Reader, prefix: string): Promise<MemoryEntry> {
  return {
    usage: parseNumber(await rd(`${prefix}.usage_in_bytes`)),
    max: parseNumber(await rd(`${prefix}.max_usage_in_bytes`)),
    failcnt: parseNumber(await rd(`${prefix}.failcnt`)),
    limit: parseNumber(await rd(`${prefix}.limit_in_bytes`)),
  };
}

async function memory(rd: Reader, s: CgroupStats): Promise<void> {
  const m = s.memory;
  m.raw = parseKeyValues(await rd('memory.stat'));
  m.cache = m.raw.cache ?? 0;
  m.usage = await memoryEntry(rd, 'memory');
  m.swap = await memoryEntry(rd, 'memory.memsw');
  m.kernel = await memoryEntry(rd, 'memory.kmem');
  m.kernelTCP = await memoryEntry(rd, 'memory.kmem.tcp');
}

async function pids(rd: Reader, s: CgroupStats): Promise<void> {
  const max = await rd('pids.max');
  // runc reports no limit as 0.
  s.pids = { current: parseNumber(await rd('pids.current')), limit: max === 'max' ? 0 : parseNumber(max) };
}

function entries(text: string | undefined): BlkioEntry[] {
  return parseDeviceLines(text).map(({ major, minor, fields }) => ({
    major,
    minor,
    op: fields.length > 1 ? fields[0]! : '',
    value: parseNumber(fields[fields.length - 1]),
  }));
}

/** CFQ's files when it is the scheduler, else BFQ's, else the throttling layer's counters. */
async function blkio(rd: Reader): Promise<BlkioStats> {
  const b = emptyStats().blkio;
  const cfq = await rd('blkio.io_serviced_recursive');
  if (entries(cfq).length > 0) {
    b.ioServicedRecursive = entries(cfq);
    b.sectorsRecursive = entries(await rd('blkio.sectors_recursive'));
    b.ioServiceBytesRecursive = entries(await rd('blkio.io_service_bytes_recursive'));
    b.ioQueueRecursive = entries(await rd('blkio.io_queued_recursive'));
    b.ioServiceTimeRecursive = entries(await rd('blkio.io_service_time_recursive'));
    b.ioWaitTimeRecursive = entries(await rd('blkio.io_wait_time_recursive'));
    b.ioMergedRecursive = entries(await rd('blkio.io_merged_recursive'));
    b.ioTimeRecursive = entries(await rd('blkio.time_recursive'));
    return b;
  }
  const bfq = await rd('blkio.bfq.io_serviced_recursive');
  if (entries(bfq).length > 0) {
    b.ioServicedRecursive = entries(bfq);
    b.ioServiceBytesRecursive = entries(await rd('blkio.bfq.io_service_bytes_recursive'));
    return b;
  }
  b.ioServiceBytesRecursive = entries((await rd('blkio.throttle.io_service_bytes_recursive')) ?? (await rd('blkio.throttle.io_service_bytes')));
  b.ioServicedRecursive = entries((await rd('blkio.throttle.io_serviced_recursive')) ?? (await rd('blkio.throttle.io_serviced')));
  return b;
}

async function hugetlb(fs: CgroupFs, dir: string | undefined, s: CgroupStats): Promise<void> {
  if (dir === undefined) return;
  let names: string[];
  try {
    names = (await fs.list(dir)).map((e) => e.name);
  } catch {
    return;
  }
  for (const name of names) {
    const size = /^hugetlb\.([^.]+)\.limit_in_bytes$/.exec(name)?.[1];
    if (!size) continue;
    const rd = (f: string): Promise<string | undefined> => readOptional(fs, posix.join(dir, `hugetlb.${size}.${f}`));
    s.hugetlb[size] = {
      usage: parseNumber(await rd('usage_in_bytes')),
      max: parseNumber(await rd('max_usage_in_bytes')),
      failcnt: parseNumber(await rd('failcnt')),
    };
  }
}
