// linux.resources from HostConfig's resource fields, with the checks Docker's daemon makes when a
// container is created (verifyPlatformContainerResources) and its conversions (getMemoryResources,
// getCPUResources, getPidsLimit): --cpus becomes a CFS quota over a 100 ms period, a pids limit of
// 0 or less means unlimited, swap defaults to twice the memory.
import { availableParallelism } from 'node:os';
import { invalid } from '../../../common/errors.js';
import type { DeviceCgroupRule, Resources } from '../../../runtime/spec/types.js';
import type { HostConfig } from '../api-types.js';
import { blockIoDevices } from './block-io.js';

const MIN_MEMORY = 6 * 1024 * 1024;
const CFS_PERIOD = 100_000; // µs

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

function intField(h: HostConfig, key: keyof HostConfig & string): number {
  const v = h[key];
  if (v === undefined || v === null) return 0;
  if (!isInt(v)) throw invalid(`HostConfig.${key}: ${JSON.stringify(v)} is not an integer`);
  return v;
}

/**
 * Docker's create-time checks of the resource fields; throws the first problem, naming the
 * field. `cpus` is the number of CPUs --cpus may use at most.
 */
export function checkResources(h: HostConfig, cpus = availableParallelism()): void {
  const memory = intField(h, 'Memory');
  const swap = intField(h, 'MemorySwap');
  const reservation = intField(h, 'MemoryReservation');
  const fail = (field: string, message: string): never => {
    throw invalid(`HostConfig.${field}: ${message}`);
  };
  if (memory < 0) fail('Memory', 'must not be negative');
  if (memory !== 0 && memory < MIN_MEMORY) fail('Memory', 'Minimum memory limit allowed is 6MB');
  if (swap < -1) fail('MemorySwap', 'must be -1 (unlimited), 0 (twice the memory) or a limit');
  if (memory > 0 && swap > 0 && swap < memory) fail('MemorySwap', 'Minimum memoryswap limit should be larger than memory limit, see usage');
  if (memory === 0 && swap > 0) fail('MemorySwap', 'You should always set the Memory limit when using Memoryswap limit, see usage');
  const swappiness = h.MemorySwappiness;
  if (swappiness !== undefined && swappiness !== null && swappiness !== -1) {
    if (!isInt(swappiness) || swappiness < 0 || swappiness > 100) fail('MemorySwappiness', `Invalid value: ${swappiness}, valid memory swappiness range is 0-100`);
  }
  if (reservation < 0) fail('MemoryReservation', 'must not be negative');
  if (reservation > 0 && reservation < MIN_MEMORY) fail('MemoryReservation', 'Minimum memory reservation allowed is 6MB');
  if (memory > 0 && reservation > 0 && memory < reservation) fail('MemoryReservation', 'Minimum memory limit can not be less than memory reservation limit, see usage');

  const nano = intField(h, 'NanoCpus');
  const period = intField(h, 'CpuPeriod');
  const quota = intField(h, 'CpuQuota');
  if (nano > 0 && period > 0) fail('NanoCpus', 'Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (nano > 0 && quota > 0) fail('NanoCpus', 'Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  if (nano < 0 || nano > cpus * 1e9) fail('NanoCpus', `Range of CPUs is from 0.01 to ${cpus}.00, as there are only ${cpus} CPUs available`);
  if (intField(h, 'CpuShares') < 0) fail('CpuShares', 'must not be negative');
  if (period !== 0 && (period < 1000 || period > 1_000_000)) fail('CpuPeriod', 'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  if (quota > 0 && quota < 1000) fail('CpuQuota', 'CPU cfs quota can not be less than 1ms (i.e. 1000)');
  const weight = intField(h, 'BlkioWeight');
  if (weight !== 0 && (weight < 10 || weight > 1000)) fail('BlkioWeight', 'Range of blkio weight is from 10 to 1000');
  for (const key of ['CpusetCpus', 'CpusetMems'] as const) {
    const v = h[key];
    if (v !== undefined && v !== null && v !== '' && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(v)) fail(key, `Invalid value ${v} for cpuset ${key === 'CpusetCpus' ? 'cpus' : 'mems'}`);
  }
  const pids = h.PidsLimit;
  if (pids !== undefined && pids !== null && !isInt(pids)) fail('PidsLimit', `${JSON.stringify(pids)} is not an integer`);
  const shm = intField(h, 'ShmSize');
  if (shm < 0) fail('ShmSize', 'SHM size can not be less than 0');
  const oom = intField(h, 'OomScoreAdj');
  if (oom < -1000 || oom > 1000) fail('OomScoreAdj', `Invalid value ${oom}, range for oom score adj is [-1000, 1000]`);
}

/** The resources for the spec; only what the container sets is written. */
export function buildResources(h: HostConfig, deviceRules: DeviceCgroupRule[]): Resources {
  const r: Resources = { devices: deviceRules };

  const memory: NonNullable<Resources['memory']> = {};
  if ((h.Memory ?? 0) > 0) memory.limit = h.Memory!;
  if ((h.MemoryReservation ?? 0) > 0) memory.reservation = h.MemoryReservation!;
  if ((h.MemorySwap ?? 0) > 0) memory.swap = h.MemorySwap!;
  if (h.MemorySwappiness !== undefined && h.MemorySwappiness !== null && h.MemorySwappiness !== -1) memory.swappiness = h.MemorySwappiness;
  if (h.OomKillDisable) memory.disableOOMKiller = true;
  if (Object.keys(memory).length) r.memory = memory;

  const cpu: NonNullable<Resources['cpu']> = {};
  if ((h.CpuShares ?? 0) > 0) cpu.shares = h.CpuShares!;
  if (h.CpusetCpus) cpu.cpus = h.CpusetCpus;
  if (h.CpusetMems) cpu.mems = h.CpusetMems;
  if ((h.NanoCpus ?? 0) > 0) {
    cpu.period = CFS_PERIOD;
    cpu.quota = Number((BigInt(h.NanoCpus!) * BigInt(CFS_PERIOD)) / 1_000_000_000n);
  }
  if (h.CpuPeriod) cpu.period = h.CpuPeriod;
  if (h.CpuQuota) cpu.quota = h.CpuQuota;
  if (h.CpuRealtimePeriod) cpu.realtimePeriod = h.CpuRealtimePeriod;
  if (h.CpuRealtimeRuntime) cpu.realtimeRuntime = h.CpuRealtimeRuntime;
  if (Object.keys(cpu).length) r.cpu = cpu;

  const blockIO: NonNullable<Resources['blockIO']> = blockIoDevices(h);
  if ((h.BlkioWeight ?? 0) > 0) blockIO.weight = h.BlkioWeight!;
  if (Object.keys(blockIO).length) r.blockIO = blockIO;

  // 0 and negative values mean "no limit" in the API; the runtime takes -1 for that.
  if (h.PidsLimit !== undefined && h.PidsLimit !== null) r.pids = { limit: h.PidsLimit > 0 ? h.PidsLimit : -1 };
  return r;
}
