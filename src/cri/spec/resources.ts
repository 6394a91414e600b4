// The CRI's LinuxContainerResources as OCI resources (containerd's WithResources): CPU period,
// quota, shares and cpuset, the memory limit (with swap, as the kubelet gives it), hugepages and
// cgroup v2's unified keys. Zero means "not set", as in the CRI.
import type { Message } from '../../common/grpc/service-def.js';
import type { Resources } from '../../runtime/spec/types.js';

export function ociResources(r: Message | null | undefined): Resources {
  const out: Resources = {};
  if (!r) return out;
  const cpu: NonNullable<Resources['cpu']> = {};
  if (r.cpu_period) cpu.period = Number(r.cpu_period);
  if (r.cpu_quota) cpu.quota = Number(r.cpu_quota);
  if (r.cpu_shares) cpu.shares = Number(r.cpu_shares);
  if (r.cpuset_cpus) cpu.cpus = String(r.cpuset_cpus);
  if (r.cpuset_mems) cpu.mems = String(r.cpuset_mems);
  if (Object.keys(cpu).length) out.cpu = cpu;
  if (r.memory_limit_in_bytes) {
    out.memory = { limit: Number(r.memory_limit_in_bytes) };
    if (r.memory_swap_limit_in_bytes) out.memory.swap = Number(r.memory_swap_limit_in_bytes);
  }
  const huge = (r.hugepage_limits ?? []) as Message[];
  if (huge.length) out.hugepageLimits = huge.map((h) => ({ pageSize: String(h.page_size), limit: Number(h.limit) }));
  if (r.unified && Object.keys(r.unified).length) out.unified = { ...r.unified };
  return out;
}

/** The resources back in the CRI's shape, for ContainerStatus. */
export function criResources(r: Resources | undefined, oomScoreAdj?: number): Message {
  return {
    cpu_period: r?.cpu?.period ?? 0,
    cpu_quota: r?.cpu?.quota ?? 0,
    cpu_shares: r?.cpu?.shares ?? 0,
    memory_limit_in_bytes: r?.memory?.limit ?? 0,
    memory_swap_limit_in_bytes: r?.memory?.swap ?? 0,
    oom_score_adj: oomScoreAdj ?? 0,
    cpuset_cpus: r?.cpu?.cpus ?? '',
    cpuset_mems: r?.cpu?.mems ?? '',
    hugepage_limits: (r?.hugepageLimits ?? []).map((h) => ({ page_size: h.pageSize, limit: h.limit })),
    unified: r?.unified ?? {},
  };
}
