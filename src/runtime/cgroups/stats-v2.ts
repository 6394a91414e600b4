// Reading a container's usage from its cgroup v2 directory, shaped like v1's stats (as runc
// does): microseconds become nanoseconds, and swap is reported as memory+swap.
import { posix } from 'node:path';
import type { CgroupFs } from './host.js';
import { readOptional } from './host.js';
import { UINT64_MAX, parseDeviceLines, parseKeyValues, parseNumber } from './parse.js';
import type { BlkioEntry, CgroupStats } from './stats.js';
import { emptyStats } from './stats.js';

export async function statsV2(fs: CgroupFs, dir: string): Promise<CgroupStats> {
  const rd = (file: string): Promise<string | undefined> => readOptional(fs, posix.join(dir, file));
  const s = emptyStats();

  const cpu = parseKeyValues(await rd('cpu.stat'));
  s.cpu.usage.total = (cpu.usage_usec ?? 0) * 1000;
  s.cpu.usage.user = (cpu.user_usec ?? 0) * 1000;
  s.cpu.usage.kernel = (cpu.system_usec ?? 0) * 1000;
  s.cpu.throttling = { periods: cpu.nr_periods ?? 0, throttledPeriods: cpu.nr_throttled ?? 0, throttledTime: (cpu.throttled_usec ?? 0) * 1000 };

  const m = s.memory;
  m.raw = parseKeyValues(await rd('memory.stat'));
  m.cache = m.raw.file ?? 0;
  const events = parseKeyValues(await rd('memory.events'));
  m.usage = {
    usage: parseNumber(await rd('memory.current')),
    limit: parseNumber(await rd('memory.max')),
    max: parseNumber(await rd('memory.peak')),
    failcnt: events.max ?? 0,
  };
  const swapLimit = parseNumber(await rd('memory.swap.max'));
  m.swap = {
    usage: parseNumber(await rd('memory.swap.current')) + m.usage.usage,
    limit: swapLimit === UINT64_MAX || m.usage.limit === UINT64_MAX ? UINT64_MAX : swapLimit + m.usage.limit,
    max: 0,
    failcnt: parseKeyValues(await rd('memory.swap.events')).max ?? 0,
  };

  const max = await rd('pids.max');
  s.pids = { current: parseNumber(await rd('pids.current')), limit: max === 'max' ? 0 : parseNumber(max) };

  // io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0".
  for (const { major, minor, fields } of parseDeviceLines(await rd('io.stat'))) {
    const kv = Object.fromEntries(fields.map((f) => f.split('=')).map(([k, v]) => [k, parseNumber(v)]));
    const entry = (op: string, value: number | undefined): BlkioEntry => ({ major, minor, op, value: value ?? 0 });
    s.blkio.ioServiceBytesRecursive.push(entry('Read', kv.rbytes), entry('Write', kv.wbytes));
    s.blkio.ioServicedRecursive.push(entry('Read', kv.rios), entry('Write', kv.wios));
  }

  let names: string[] = [];
  try {
    names = (await fs.list(dir)).map((e) => e.name);
  } catch {
    // A cgroup removed under us has no hugetlb usage.
  }
  for (const name of names) {
    const size = /^hugetlb\.([^.]+)\.current$/.exec(name)?.[1];
    if (!size) continue;
    s.hugetlb[size] = {
      usage: parseNumber(await rd(name)),
      max: 0,
      failcnt: parseKeyValues(await rd(`hugetlb.${size}.events`)).max ?? 0,
    };
  }
  return s;
}
