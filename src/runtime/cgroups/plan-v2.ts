// linux.resources → the ordered file writes of cgroup v2, converting v1-shaped values (cpu
// shares, blkio weights, memory+swap) the way runc does. Only fields present are planned.
import { invalid } from '../../common/errors.js';
import type { Resources } from '../spec/types.js';
import { FIELD, blkioWeightToIoWeight, checkInt, checkPageSize, pidsMax, sharesToWeight, swapMaxV2, v2Limit } from './convert.js';
import { deviceRuleLine } from './devices.js';
import type { WriteOp } from './ops.js';

/** Values read from the cgroup before planning. */
export interface V2Current {
  /** cpu.max now ("max 100000"), so that updating only the period keeps the quota. */
  cpuMax?: string;
}

const op = (field: string, controller: string, file: string, value: string | number, extra: Partial<WriteOp> = {}): WriteOp => ({
  field: `${FIELD}.${field}`,
  controller,
  choices: [{ file, value: String(value) }],
  ...extra,
});

const set = (n: number | undefined): n is number => n !== undefined && n !== 0;

export function planV2(r: Resources, current: V2Current = {}): WriteOp[] {
  // Device rules are checked for syntax but not applied: see v2DeviceRulesUnsupported().
  (r.devices ?? []).forEach((rule, i) => deviceRuleLine(rule, i));
  if (r.network && (r.network.classID !== undefined || (r.network.priorities ?? []).length > 0)) {
    throw invalid(`${FIELD}.network: cgroup v2 has no net_cls/net_prio controllers; leave linux.resources.network unset`);
  }
  return [...pidsOps(r), ...memoryOps(r), ...ioOps(r), ...cpuOps(r, current), ...cpusetOps(r), ...hugetlbOps(r), ...unifiedOps(r)];
}

function pidsOps(r: Resources): WriteOp[] {
  if (!r.pids) return [];
  checkInt('pids.limit', r.pids.limit);
  return [op('pids.limit', 'pids', 'pids.max', pidsMax(r.pids.limit))];
}

function memoryOps(r: Resources): WriteOp[] {
  const m = r.memory;
  if (!m) return [];
  checkInt('memory.limit', m.limit);
  checkInt('memory.reservation', m.reservation);
  checkInt('memory.swap', m.swap);
  if (m.swappiness !== undefined) throw invalid(`${FIELD}.memory.swappiness: cgroup v2 has no per-cgroup swappiness; leave it unset`);
  if (m.disableOOMKiller) throw invalid(`${FIELD}.memory.disableOOMKiller: cgroup v2 cannot disable the OOM killer for a cgroup; leave it unset`);
  // memory.kernel and memory.kernelTCP are ignored, as runc does: v2 charges kernel and TCP
  // memory to memory.max. useHierarchy is ignored too: v2 is always hierarchical.
  const ops: WriteOp[] = [];
  const swap = swapMaxV2(m.swap, m.limit);
  if (swap !== undefined) {
    ops.push(op('memory.swap', 'memory', 'memory.swap.max', swap, {
      // Without swap accounting there is no swap to limit: "max" and "0" then hold anyway.
      optional: swap === 'max' || swap === '0',
      missing: 'the kernel has no swap accounting (CONFIG_MEMCG_SWAP, or booted with swapaccount=0); leave memory.swap unset',
    }));
  }
  if (set(m.limit)) ops.push(op('memory.limit', 'memory', 'memory.max', v2Limit(m.limit), { hint: 'the container may already use more memory than this' }));
  if (set(m.reservation)) ops.push(op('memory.reservation', 'memory', 'memory.low', v2Limit(m.reservation)));
  return ops;
}

function ioOps(r: Resources): WriteOp[] {
  const b = r.blockIO;
  if (!b) return [];
  if (set(b.leafWeight)) throw invalid(`${FIELD}.blockIO.leafWeight: cgroup v2 has no leaf weights; leave it unset`);
  const ops: WriteOp[] = [];
  const sched = 'proportional I/O weights need the BFQ scheduler or blk-iocost';
  if (set(b.weight)) {
    checkInt('blockIO.weight', b.weight, 10, 1000);
    // BFQ takes the v1 range as is; io.weight (iocost) takes [1, 10000].
    ops.push({ field: `${FIELD}.blockIO.weight`, controller: 'io', missing: sched, choices: [
      { file: 'io.bfq.weight', value: String(b.weight) }, { file: 'io.weight', value: String(blkioWeightToIoWeight(b.weight)) }] });
  }
  (b.weightDevice ?? []).forEach((d, i) => {
    if (set(d.leafWeight)) throw invalid(`${FIELD}.blockIO.weightDevice[${i}].leafWeight: cgroup v2 has no leaf weights; leave it unset`);
    if (!set(d.weight)) return;
    checkInt(`blockIO.weightDevice[${i}].weight`, d.weight, 10, 1000);
    const dev = `${d.major}:${d.minor}`;
    ops.push({ field: `${FIELD}.blockIO.weightDevice[${i}]`, controller: 'io', missing: sched, choices: [
      { file: 'io.bfq.weight', value: `${dev} ${d.weight}` }, { file: 'io.weight', value: `${dev} ${blkioWeightToIoWeight(d.weight)}` }] });
  });
  const throttles = [
    ['throttleReadBpsDevice', 'rbps'],
    ['throttleWriteBpsDevice', 'wbps'],
    ['throttleReadIOPSDevice', 'riops'],
    ['throttleWriteIOPSDevice', 'wiops'],
  ] as const;
  for (const [key, name] of throttles) {
    (b[key] ?? []).forEach((d, i) => {
      checkInt(`blockIO.${key}[${i}].rate`, d.rate, 0);
      // v1 treats rate 0 as "remove the limit"; v2 spells that "max".
      ops.push(op(`blockIO.${key}[${i}]`, 'io', 'io.max', `${d.major}:${d.minor} ${name}=${d.rate === 0 ? 'max' : d.rate}`));
    });
  }
  return ops;
}

function cpuOps(r: Resources, current: V2Current): WriteOp[] {
  const c = r.cpu;
  if (!c) return [];
  checkInt('cpu.shares', c.shares, 0);
  checkInt('cpu.quota', c.quota);
  checkInt('cpu.period', c.period, 0);
  checkInt('cpu.burst', c.burst, 0);
  checkInt('cpu.idle', c.idle, 0, 1);
  if (set(c.realtimeRuntime) || set(c.realtimePeriod)) {
    throw invalid(`${FIELD}.cpu.${set(c.realtimeRuntime) ? 'realtimeRuntime' : 'realtimePeriod'}: cgroup v2 has no real-time group scheduling; leave it unset`);
  }
  const ops: WriteOp[] = [];
  if (set(c.shares)) ops.push(op('cpu.shares', 'cpu', 'cpu.weight', sharesToWeight(c.shares)));
  if (set(c.quota) || set(c.period)) {
    const [curQuota, curPeriod] = (current.cpuMax ?? 'max 100000').trim().split(/\s+/);
    const quota = set(c.quota) ? (c.quota > 0 ? String(c.quota) : 'max') : (curQuota ?? 'max');
    const period = set(c.period) ? c.period : Number(curPeriod ?? 100000) || 100000;
    ops.push(op(set(c.quota) ? 'cpu.quota' : 'cpu.period', 'cpu', 'cpu.max', `${quota} ${period}`));
  }
  if (c.burst !== undefined) ops.push(op('cpu.burst', 'cpu', 'cpu.max.burst', c.burst, { missing: 'CPU burst needs Linux 5.14 or later' }));
  if (c.idle !== undefined) ops.push(op('cpu.idle', 'cpu', 'cpu.idle', c.idle, { missing: 'cpu.idle needs Linux 5.15 or later' }));
  return ops;
}

function cpusetOps(r: Resources): WriteOp[] {
  const ops: WriteOp[] = [];
  if (r.cpu?.cpus) ops.push(op('cpu.cpus', 'cpuset', 'cpuset.cpus', r.cpu.cpus));
  if (r.cpu?.mems) ops.push(op('cpu.mems', 'cpuset', 'cpuset.mems', r.cpu.mems));
  return ops;
}

function hugetlbOps(r: Resources): WriteOp[] {
  return (r.hugepageLimits ?? []).map((h, i) => {
    checkPageSize(`hugepageLimits[${i}].pageSize`, h.pageSize);
    checkInt(`hugepageLimits[${i}].limit`, h.limit, 0);
    return op(`hugepageLimits[${i}]`, 'hugetlb', `hugetlb.${h.pageSize}.max`, h.limit, { missing: `the kernel has no ${h.pageSize} huge pages` });
  });
}

/** linux.resources.unified: file name → value, written last and verbatim (they override the rest). */
function unifiedOps(r: Resources): WriteOp[] {
  return Object.entries(r.unified ?? {}).map(([file, value]) => {
    const field = `unified[${JSON.stringify(file)}]`;
    const m = /^([a-z_]+)\.[A-Za-z0-9_.]+$/.exec(file);
    if (!m) throw invalid(`${FIELD}.${field}: not a cgroup v2 file name of the form controller.setting`);
    if (typeof value !== 'string') throw invalid(`${FIELD}.${field}: the value must be a string`);
    const controller = m[1] === 'cgroup' ? '' : m[1]!;
    return op(field, controller, file, value, { missing: 'no such interface file on this kernel' });
  });
}
