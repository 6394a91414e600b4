// What the CRI's services share: the supervisor and the namespace they work in, the CRI's own
// records, images, bundles, the pod network, and the node's limits (the oom_score_adj floor).
import { readFileSync } from 'node:fs';
import { BerthError } from '../common/errors.js';
import { KeyedLock } from '../common/keyed-lock.js';
import { capabilityNames } from '../runtime/spec/capabilities.js';
import { BundleStore } from '../supervisor/tasks/bundle.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { boundingCapabilities } from '../sys/proc.js';
import type { CriImages } from './images.js';
import type { PodNetwork } from './pod-network.js';
import type { CriStore } from './store.js';

export type Log = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

export interface CriOptions {
  /** The supervisor namespace of the CRI's objects (containerd's k8s.io). */
  namespace: string;
  /** <data-root>/cri and <exec-root>/cri. */
  dataDir: string;
  execDir: string;
  /** The sandbox image; the built-in one is made on the node. */
  sandboxImage: string;
  /** The cgroup parent of pods that name none. */
  cgroupParent: string;
  /** berth's task runtime name ("berth", or a configured runc/crun). */
  runtime: string;
  log: Log;
}

export class CriContext {
  readonly locks = new KeyedLock();
  readonly hostCapabilities = capabilityNames(boundingCapabilities());
  private readonly ownOomScoreAdj = Number(readFileSync('/proc/self/oom_score_adj', 'utf8').trim()) || 0;
  private warnedOom = false;

  constructor(
    readonly supervisor: Supervisor,
    readonly options: CriOptions,
    readonly store: CriStore,
    readonly images: CriImages,
    readonly bundles: BundleStore,
    readonly network: PodNetwork,
  ) {}

  get ns(): string {
    return this.options.namespace;
  }

  /**
   * An oom_score_adj no lower than berthd's own, as containerd's restrict_oom_score_adj: lowering
   * it needs CAP_SYS_RESOURCE, which this node's root may lack (the kubelet asks -998 for pods).
   */
  clampOomScoreAdj = (v: number): number => {
    if (v >= this.ownOomScoreAdj) return v;
    if (!this.warnedOom) {
      this.warnedOom = true;
      this.options.log('info', `oom_score_adj ${v} raised to berthd's own ${this.ownOomScoreAdj}: a container may not be less likely to be OOM-killed than the daemon (containerd's restrict_oom_score_adj)`);
    }
    return this.ownOomScoreAdj;
  };

  /** Deletes a pod's or container's task (killing it if need be) and its bundle; none is no error. */
  async deleteTask(id: string): Promise<void> {
    await this.supervisor.tasks.delete(this.ns, id, true).catch((err: unknown) => {
      if (!(err instanceof BerthError && err.code === 'NOT_FOUND')) throw err;
    });
    this.bundles.remove(this.ns, id);
  }

  /** Removes the supervisor's container record and the snapshot of `id`; what is gone is no error. */
  removeRecordAndSnapshot(id: string): void {
    if (this.supervisor.containers.find(this.ns, id)) this.supervisor.containers.delete(this.ns, id);
    this.removeSnapshot(id);
  }

  removeSnapshot(id: string): void {
    try {
      this.supervisor.snapshotter(this.ns).remove(id);
    } catch (err) {
      if (!(err instanceof BerthError && err.code === 'NOT_FOUND')) throw err;
    }
  }

  /** Nanoseconds since the epoch, as the CRI reports times. */
  static now(): number {
    return Date.now() * 1e6;
  }
}
