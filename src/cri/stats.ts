// Container and pod stats in the CRI's shape from the task's cgroup (what containerd's CRI reads):
// CPU time and a rate in nanocores from the previous sample, memory with the working set (usage
// less inactive file pages, the kubelet's eviction signal), and the writable layer's usage.
import type { Message } from '../common/grpc/service-def.js';
import { emptyStats, type CgroupStats } from '../runtime/cgroups/stats.js';
import { CriContext } from './context.js';
import type { ContainerCriRecord, SandboxRecord } from './store.js';

const u64 = (value: number): Message => ({ value: Math.max(0, Math.round(value)) });

export class StatsReader {
  /** The last CPU sample per task: the rate is the difference to it. */
  private readonly last = new Map<string, { at: number; usage: number }>();

  constructor(private readonly ctx: CriContext) {}

  private async cgroup(id: string): Promise<CgroupStats | undefined> {
    try {
      return (await this.ctx.supervisor.tasks.stats(this.ctx.ns, id)) as CgroupStats;
    } catch {
      return undefined; // not running
    }
  }

  private usage(id: string, s: CgroupStats | undefined, at: number): { cpu: Message; memory: Message } {
    const cpuTotal = s?.cpu.usage.total ?? 0;
    const prev = this.last.get(id);
    const nanoCores = prev && at > prev.at ? ((cpuTotal - prev.usage) / (at - prev.at)) * 1e9 : 0;
    if (s) this.last.set(id, { at, usage: cpuTotal });
    const raw = s?.memory.raw ?? {};
    const usage = s?.memory.usage.usage ?? 0;
    const inactive = raw.total_inactive_file ?? raw.inactive_file ?? 0;
    const limit = s?.memory.usage.limit ?? 0;
    const workingSet = Math.max(0, usage - inactive);
    return {
      cpu: { timestamp: at, usage_core_nano_seconds: u64(cpuTotal), usage_nano_cores: u64(nanoCores) },
      memory: {
        timestamp: at, working_set_bytes: u64(workingSet), usage_bytes: u64(usage), rss_bytes: u64(raw.total_rss ?? raw.anon ?? 0),
        available_bytes: u64(limit > 0 && limit < 2 ** 60 ? limit - workingSet : 0), page_faults: u64(raw.total_pgfault ?? raw.pgfault ?? 0), major_page_faults: u64(raw.total_pgmajfault ?? raw.pgmajfault ?? 0),
      },
    };
  }

  /** A container's usage; `reading` is its cgroup as already read (a pod's figures and its containers' come from one reading). */
  async container(rec: ContainerCriRecord, reading?: { stats: CgroupStats | undefined; at: number }): Promise<Message> {
    const at = reading?.at ?? CriContext.now();
    const { cpu, memory } = this.usage(rec.id, reading ? reading.stats : await this.cgroup(rec.id), at);
    let layer = { size: 0, inodes: 0 };
    try {
      layer = this.ctx.supervisor.snapshotter(this.ctx.ns).usage(rec.id);
    } catch {
      // removed meanwhile
    }
    return {
      attributes: { id: rec.id, metadata: rec.config.metadata, labels: rec.config.labels ?? {}, annotations: rec.config.annotations ?? {} },
      cpu, memory,
      writable_layer: { timestamp: at, fs_id: { mountpoint: this.ctx.supervisor.snapshotterRoot }, used_bytes: u64(layer.size), inodes_used: u64(layer.inodes) },
    };
  }

  /**
   * A pod's usage: its pause process and its running containers together (each has a cgroup of
   * its own under the pod's parent), as the kubelet reads a pod's cgroup.
   */
  async sandbox(rec: SandboxRecord, containers: ContainerCriRecord[]): Promise<Message> {
    const at = CriContext.now();
    const own = await this.cgroup(rec.id);
    const members = await Promise.all(containers.map((c) => this.cgroup(c.id)));
    const all = [own, ...members].filter((s): s is CgroupStats => !!s);
    const total = all.reduce((acc, s) => {
      acc.cpu.usage.total += s.cpu.usage.total;
      acc.memory.usage.usage += s.memory.usage.usage;
      for (const [k, v] of Object.entries(s.memory.raw)) acc.memory.raw[k] = (acc.memory.raw[k] ?? 0) + v;
      acc.pids.current += s.pids.current;
      return acc;
    }, emptyStats());
    const { cpu, memory } = this.usage(rec.id, own ? total : undefined, at);
    return {
      attributes: { id: rec.id, metadata: rec.config.metadata, labels: rec.config.labels ?? {}, annotations: rec.config.annotations ?? {} },
      linux: {
        cpu, memory,
        process: { timestamp: at, process_count: u64(total.pids.current) },
        containers: await Promise.all(containers.map((c, i) => this.container(c, { stats: members[i], at }))),
      },
    };
  }

  forget(id: string): void {
    this.last.delete(id);
  }
}
