// The task service's messages from berth's task records: containerd.v1.types.Process (status,
// stdio paths, exit) and the cgroup v2 metrics `ctr tasks metrics` decodes.
import type protobuf from 'protobufjs';
import type { CgroupStats } from '../../runtime/cgroups/stats.js';
import type { ExitStatus } from '../tasks/shim-client.js';
import type { TaskStatus } from '../tasks/service.js';
import type { StdioPaths } from '../tasks/task-store.js';
import { timestamp } from './convert.js';
import type { Message } from './service-def.js';

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

const METRICS_TYPE = 'io.containerd.cgroups.v2.Metrics';

/** berth's cgroup statistics as an Any of cgroups v2 Metrics (pids, CPU, memory). */
export function metricsAny(root: protobuf.Root, s: CgroupStats): Message {
  const type = root.lookupType(METRICS_TYPE);
  const value = {
    pids: { current: s.pids.current, limit: s.pids.limit },
    cpu: { usage_usec: Math.floor(s.cpu.usage.total / 1000), user_usec: Math.floor(s.cpu.usage.user / 1000), system_usec: Math.floor(s.cpu.usage.kernel / 1000), nr_periods: s.cpu.throttling.periods, nr_throttled: s.cpu.throttling.throttledPeriods, throttled_usec: Math.floor(s.cpu.throttling.throttledTime / 1000) },
    memory: { usage: s.memory.usage.usage, usage_limit: s.memory.usage.limit, swap_usage: s.memory.swap.usage },
  };
  return { type_url: METRICS_TYPE, value: Buffer.from(type.encode(type.fromObject(value)).finish()) };
}

/** BinaryName from runc's options (containerd.runc.v1.Options), if the Any is one. */
export function runcBinaryName(root: protobuf.Root, any: Message | null | undefined): string | undefined {
  if (!any?.type_url || !/containerd\.runc\.v1\.Options$/.test(String(any.type_url))) return undefined;
  const type = root.lookupType('containerd.runc.v1.Options');
  const opts = type.toObject(type.decode(Buffer.from(any.value ?? []))) as { binary_name?: string };
  return opts.binary_name || undefined;
}
