// linux.resources → the ordered file writes of cgroup v1, one controller (hierarchy) per write.
// Only the fields present are planned, so the same plan serves create and a live update.
import { invalid } from '../../common/errors.js';
import type { Resources } from '../spec/types.js';
import { FIELD, checkInt, checkPageSize, pidsMax } from './convert.js';
import { v1DeviceOps } from './devices.js';
import type { WriteOp } from './ops.js';

/** Values read from the cgroup before planning, where the order of writes depends on them. */
export interface V1Current {
  /** memory.limit_in_bytes now; undefined when unknown (a new cgroup: unlimited). */
  memoryLimit?: number;
}

const op = (field: string, controller: string, file: string, value: string | number, extra: Partial<WriteOp> = {}): WriteOp => ({
  field: `${FIELD}.${field}`,
  controller,
  choices: [{ file, value: String(value) }],
  ...extra,
});

const set = (n: number | undefined): n is number => n !== undefined && n !== 0;

export function planV1(r: Resources, current: V1Current = {}): WriteOp[] {
  if (r.unified && Object.keys(r.unified).length > 0) {
    throw invalid(`${FIELD}.unified: this host uses cgroup v1; unified entries need cgroup v2`);
  }
  return [...cpusetOps(r), ...(r.devices ? v1DeviceOps(r.devices) : []), ...memoryOps(r, current), ...cpuOps(r), ...pidsOps(r), ...blkioOps(r), ...hugetlbOps(r), ...networkOps(r)];
}

function cpusetOps(r: Resources): WriteOp[] {
  const ops: WriteOp[] = [];
  if (r.cpu?.cpus) ops.push(op('cpu.cpus', 'cpuset', 'cpuset.cpus', r.cpu.cpus));
  if (r.cpu?.mems) ops.push(op('cpu.mems', 'cpuset', 'cpuset.mems', r.cpu.mems));
  return ops;
}

function memoryOps(r: Resources, current: V1Current): WriteOp[] {
  const m = r.memory;
  if (!m) return [];
  checkInt('memory.limit', m.limit);
  checkInt('memory.reservation', m.reservation);
  checkInt('memory.swap', m.swap);
  checkInt('memory.kernelTCP', m.kernelTCP);
  checkInt('memory.swappiness', m.swappiness, 0, 100);
  const ops: WriteOp[] = [];
  const limit = set(m.limit) ? op('memory.limit', 'memory', 'memory.limit_in_bytes', m.limit, {
    hint: 'the container may already use more memory than this',
  }) : undefined;
  const swapMissing = 'the kernel has no swap accounting: boot with swapaccount=1, or leave memory.swap unset';
  let swap = set(m.swap) ? op('memory.swap', 'memory', 'memory.memsw.limit_in_bytes', m.swap, { missing: swapMissing }) : undefined;
  // Unlimited memory with swap unset means unlimited memory+swap too (where swap is accounted).
  if (m.limit === -1 && !swap) swap = op('memory.swap', 'memory', 'memory.memsw.limit_in_bytes', -1, { optional: true });
  // The kernel keeps memsw >= limit at every step: when the new memsw is above the current
  // limit, raise memsw first; otherwise lower (or set) the limit first.
  const swapFirst = limit && swap && (m.swap === -1 || (current.memoryLimit !== undefined && current.memoryLimit < m.swap!));
  if (swapFirst) ops.push(swap!, limit!);
  else ops.push(...[limit, swap].filter((o): o is WriteOp => o !== undefined));
  if (set(m.reservation)) ops.push(op('memory.reservation', 'memory', 'memory.soft_limit_in_bytes', m.reservation));
  // memory.kernel is ignored, as runc does: kernel memory limits are deprecated and Linux 5.16
  // dropped them; kernel memory is charged to memory.limit anyway.
  if (set(m.kernelTCP)) ops.push(op('memory.kernelTCP', 'memory', 'memory.kmem.tcp.limit_in_bytes', m.kernelTCP));
  if (m.swappiness !== undefined) ops.push(op('memory.swappiness', 'memory', 'memory.swappiness', m.swappiness));
  if (m.disableOOMKiller) ops.push(op('memory.disableOOMKiller', 'memory', 'memory.oom_control', 1));
  if (m.useHierarchy !== undefined) {
    ops.push(op('memory.useHierarchy', 'memory', 'memory.use_hierarchy', m.useHierarchy ? 1 : 0, { hint: 'recent kernels are always hierarchical' }));
  }
  return ops;
}

function cpuOps(r: Resources): WriteOp[] {
  const c = r.cpu;
  if (!c) return [];
  checkInt('cpu.shares', c.shares, 0);
  checkInt('cpu.quota', c.quota);
  checkInt('cpu.period', c.period, 0);
  checkInt('cpu.burst', c.burst, 0);
  checkInt('cpu.realtimeRuntime', c.realtimeRuntime);
  checkInt('cpu.realtimePeriod', c.realtimePeriod, 0);
  checkInt('cpu.idle', c.idle, 0, 1);
  const ops: WriteOp[] = [];
  if (set(c.shares)) ops.push(op('cpu.shares', 'cpu', 'cpu.shares', c.shares, { readBack: true, hint: 'cpu.shares must be between 2 and 262144' }));
  // A period below the current one can be refused (EINVAL) until the quota is lowered too.
  if (set(c.period)) ops.push(op('cpu.period', 'cpu', 'cpu.cfs_period_us', c.period, { retryAfterNext: set(c.quota), missing: 'the kernel lacks CONFIG_CFS_BANDWIDTH' }));
  if (set(c.quota)) ops.push(op('cpu.quota', 'cpu', 'cpu.cfs_quota_us', c.quota, { missing: 'the kernel lacks CONFIG_CFS_BANDWIDTH' }));
  if (c.burst !== undefined) ops.push(op('cpu.burst', 'cpu', 'cpu.cfs_burst_us', c.burst, { missing: 'CFS burst needs Linux 5.14 or later' }));
  const rt = 'the kernel lacks CONFIG_RT_GROUP_SCHED';
  if (set(c.realtimePeriod)) ops.push(op('cpu.realtimePeriod', 'cpu', 'cpu.rt_period_us', c.realtimePeriod, { missing: rt }));
  if (set(c.realtimeRuntime)) ops.push(op('cpu.realtimeRuntime', 'cpu', 'cpu.rt_runtime_us', c.realtimeRuntime, { missing: rt, hint: 'the parent cgroup must have that much real-time runtime to give' }));
  if (c.idle !== undefined) ops.push(op('cpu.idle', 'cpu', 'cpu.idle', c.idle, { missing: 'cpu.idle needs Linux 5.15 or later' }));
  return ops;
}

function pidsOps(r: Resources): WriteOp[] {
  if (!r.pids) return [];
  checkInt('pids.limit', r.pids.limit);
  return [op('pids.limit', 'pids', 'pids.max', pidsMax(r.pids.limit))];
}

function blkioOps(r: Resources): WriteOp[] {
  const b = r.blockIO;
  if (!b) return [];
  const sched = 'proportional weights need the CFQ or BFQ I/O scheduler';
  const ops: WriteOp[] = [];
  if (set(b.weight)) {
    checkInt('blockIO.weight', b.weight, 10, 1000);
    ops.push({ field: `${FIELD}.blockIO.weight`, controller: 'blkio', missing: sched, choices: [
      { file: 'blkio.weight', value: String(b.weight) }, { file: 'blkio.bfq.weight', value: String(b.weight) }] });
  }
  if (set(b.leafWeight)) {
    checkInt('blockIO.leafWeight', b.leafWeight, 10, 1000);
    ops.push(op('blockIO.leafWeight', 'blkio', 'blkio.leaf_weight', b.leafWeight, { missing: 'leaf weights need the CFQ I/O scheduler' }));
  }
  (b.weightDevice ?? []).forEach((d, i) => {
    const dev = `${d.major}:${d.minor}`;
    if (set(d.weight)) {
      ops.push({ field: `${FIELD}.blockIO.weightDevice[${i}].weight`, controller: 'blkio', missing: sched, choices: [
        { file: 'blkio.weight_device', value: `${dev} ${d.weight}` }, { file: 'blkio.bfq.weight_device', value: `${dev} ${d.weight}` }] });
    }
    if (set(d.leafWeight)) {
      ops.push(op(`blockIO.weightDevice[${i}].leafWeight`, 'blkio', 'blkio.leaf_weight_device', `${dev} ${d.leafWeight}`, { missing: 'leaf weights need the CFQ I/O scheduler' }));
    }
  });
  const throttles = [
    ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
    ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
    ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
    ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
  ] as const;
  for (const [key, file] of throttles) {
    (b[key] ?? []).forEach((d, i) => {
      checkInt(`blockIO.${key}[${i}].rate`, d.rate, 0);
      ops.push(op(`blockIO.${key}[${i}]`, 'blkio', file, `${d.major}:${d.minor} ${d.rate}`, { missing: 'the kernel lacks CONFIG_BLK_DEV_THROTTLING' }));
    });
  }
  return ops;
}

function hugetlbOps(r: Resources): WriteOp[] {
  return (r.hugepageLimits ?? []).map((h, i) => {
    checkPageSize(`hugepageLimits[${i}].pageSize`, h.pageSize);
    checkInt(`hugepageLimits[${i}].limit`, h.limit, 0);
    return op(`hugepageLimits[${i}]`, 'hugetlb', `hugetlb.${h.pageSize}.limit_in_bytes`, h.limit, { missing: `the kernel has no ${h.pageSize} huge pages` });
  });
}

function networkOps(r: Resources): WriteOp[] {
  const n = r.network;
  if (!n) return [];
  const ops: WriteOp[] = [];
  if (n.classID !== undefined) ops.push(op('network.classID', 'net_cls', 'net_cls.classid', n.classID));
  (n.priorities ?? []).forEach((p, i) => ops.push(op(`network.priorities[${i}]`, 'net_prio', 'net_prio.ifpriomap', `${p.name} ${p.priority}`)));
  return ops;
}
