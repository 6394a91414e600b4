// The task service's messages from berth's task records: containerd.v1.types.Process (status,
// stdio paths, exit) and the cgroup metrics `ctr tasks metrics` decodes.
import { existsSync } from 'node:fs';
import type protobuf from 'protobufjs';
import type { CgroupStats } from '../../runtime/cgroups/stats.js';
import type { ExitStatus } from '../tasks/shim-client.js';
import type { TaskStatus } from '../tasks/service.js';
import type { StdioPaths } from '../tasks/task-store.js';
import { timestamp } from './convert.js';
import type { Message } from '../../common/grpc/service-def.js';

export interface ProcessView {
  containerId: string;
  execId?: string;
  pid: number;
  status: TaskStatus;
  stdio?: StdioPaths;
  terminal: boolean;
  exit?: ExitStatus;
}

export function processMessage(p: ProcessView): Message {
  return {
    container_id: p.containerId, id: p.execId ?? p.containerId, pid: p.pid, status: p.status.toUpperCase(),
    stdin: p.stdio?.stdin ?? '', stdout: p.stdio?.stdout ?? '', stderr: p.stdio?.stderr ?? '', terminal: p.terminal,
    exit_status: p.exit?.status ?? 0, exited_at: timestamp(p.exit?.exitedAt),
  };
}

export function exitMessage(e: ExitStatus): Message {
  return { exit_status: e.status, exited_at: timestamp(e.exitedAt) };
}

/**
 * berth's cgroup statistics as containerd's shim reports them: cgroups v1 Metrics on a v1 (or
 * hybrid) host, v2 Metrics on a unified one — ctr prints each its own way.
 */
export function metricsAny(root: protobuf.Root, s: CgroupStats, unified = existsSync('/sys/fs/cgroup/cgroup.controllers')): Message {
  const typeName = unified ? 'io.containerd.cgroups.v2.Metrics' : 'io.containerd.cgroups.v1.Metrics';
  const type = root.lookupType(typeName);
  const value = unified ? v2Metrics(s) : v1Metrics(s);
  return { type_url: typeName, value: Buffer.from(type.encode(type.fromObject(value)).finish()) };
}

function v1Metrics(s: CgroupStats): Message {
  const entry = (e: { limit: number; usage: number; max: number; failcnt: number }) => ({ limit: e.limit, usage: e.usage, max: e.max, failcnt: e.failcnt });
  return {
    pids: { current: s.pids.current, limit: s.pids.limit },
    cpu: {
      usage: { total: s.cpu.usage.total, kernel: s.cpu.usage.kernel, user: s.cpu.usage.user, per_cpu: s.cpu.usage.percpu },
      throttling: { periods: s.cpu.throttling.periods, throttled_periods: s.cpu.throttling.throttledPeriods, throttled_time: s.cpu.throttling.throttledTime },
    },
    memory: { cache: s.memory.cache, total_cache: s.memory.cache, usage: entry(s.memory.usage), swap: entry(s.memory.swap), kernel: entry(s.memory.kernel), kernel_tcp: entry(s.memory.kernelTCP) },
  };
}

function v2Metrics(s: CgroupStats): Message {
  return {
    pids: { current: s.pids.current, limit: s.pids.limit },
    cpu: { usage_usec: Math.floor(s.cpu.usage.total / 1000), user_usec: Math.floor(s.cpu.usage.user / 1000), system_usec: Math.floor(s.cpu.usage.kernel / 1000), nr_periods: s.cpu.throttling.periods, nr_throttled: s.cpu.throttling.throttledPeriods, throttled_usec: Math.floor(s.cpu.throttling.throttledTime / 1000) },
    memory: { usage: s.memory.usage.usage, usage_limit: s.memory.usage.limit, swap_usage: s.memory.swap.usage },
  };
}

/** BinaryName from runc's options (containerd.runc.v1.Options), if the Any is one. */
export function runcBinaryName(root: protobuf.Root, any: Message | null | undefined): string | undefined {
  if (!any?.type_url || !/containerd\.runc\.v1\.Options$/.test(String(any.type_url))) return undefined;
  const type = root.lookupType('containerd.runc.v1.Options');
  const opts = type.toObject(type.decode(Buffer.from(any.value ?? []))) as { binary_name?: string };
  return opts.binary_name || undefined;
}
