// The supervisor (containerd's role in berth), built once by berthd over one data root and exec
// root and handed to every front end: the engine's Docker API and the containerd gRPC API both see
// these objects, never copies. Content, leases and snapshots are namespaced views over shared
// files; image records and namespaces are per-namespace records; every change is published on
// one event exchange. Garbage collection runs per namespace, over every namespace, with roots
// from image records, leases, and what front ends register (the engine's containers' layers).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { precondition } from '../common/errors.js';
import { ContainerStore } from './containers/store.js';
import { ContentStore } from './content/store.js';
import { collectGarbage, type GcResult } from './content/gc.js';
import { LeaseStore } from './content/leases.js';
import { EventExchange } from './events/exchange.js';
import { taskEvent } from './events/task-events.js';
import { ImageStore } from './images/store.js';
import { namespaceNotFound, NamespaceStore } from './namespaces/store.js';
import { validateNamespace } from './namespaces/names.js';
import type { SnapshotterBase } from './snapshots/base.js';
import { NaiveSnapshotter } from './snapshots/naive.js';
import { OverlaySnapshotter } from './snapshots/overlay.js';
import { TaskService, type TaskEvent } from './tasks/service.js';

export interface SupervisorOptions {
  dataRoot: string;
  execRoot: string;
  /** "overlayfs" (default) or "naive". */
  snapshotter?: string;
  /** Other OCI runtimes by name (runc-compatible binaries). */
  runtimes?: Record<string, string>;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
}

/** What a front end keeps alive in a namespace besides image records and leases. */
export interface GcRoots {
  content?: string[];
  snapshots?: string[];
}

export class Supervisor {
  readonly events = new EventExchange();
  readonly namespaces: NamespaceStore;
  readonly images: ImageStore;
  /** containerd's container records (metadata: image, runtime, spec, snapshot), per namespace. */
  readonly containers: ContainerStore;
  readonly tasks: TaskService;
  readonly startedAt = new Date();
  private readonly contentStore: ContentStore;
  private readonly leaseStore: LeaseStore;
  private readonly snapshotStore: SnapshotterBase;
  private readonly gcRoots = new Map<string, Array<() => GcRoots>>();
  private gcTimer?: NodeJS.Timeout;

  constructor(readonly options: SupervisorOptions) {
    const root = options.dataRoot;
    mkdirSync(root, { recursive: true, mode: 0o711 });
    mkdirSync(options.execRoot, { recursive: true, mode: 0o711 });
    const publish = this.events.publish;
    this.namespaces = new NamespaceStore(join(root, 'namespaces'));
    this.contentStore = new ContentStore(join(root, 'content'), { publish });
    this.leaseStore = new LeaseStore(join(root, 'leases'));
    this.snapshotStore = options.snapshotter === 'naive'
      ? new NaiveSnapshotter(join(root, 'snapshots', 'naive'), { publish })
      : new OverlaySnapshotter(join(root, 'snapshots', 'overlayfs'), { publish });
    this.images = new ImageStore(join(root, 'images'), publish);
    // Not <data-root>/containers: that is the engine's own container store.
    this.containers = new ContainerStore(join(root, 'container-records'), publish);
    this.tasks = new TaskService({ execRoot: options.execRoot, runtimes: options.runtimes, warn: (m) => options.log?.('warn', m) });
    this.tasks.on('event', (e: TaskEvent) => {
      const t = taskEvent(e);
      if (t) publish(e.namespace, t.topic, t.event);
    });
  }

  /** The snapshotter's name ("overlayfs" or "naive"). */
  get snapshotterName(): string {
    return this.snapshotStore.name;
  }

  /** The directory the snapshotter keeps its layers in (the image filesystem the CRI reports). */
  get snapshotterRoot(): string {
    return this.snapshotStore.root;
  }

  content(namespace: string): ContentStore {
    return this.contentStore.forNamespace(namespace);
  }

  leases(namespace: string): LeaseStore {
    return this.leaseStore.forNamespace(namespace);
  }

  snapshotter(namespace: string): SnapshotterBase {
    return this.snapshotStore.forNamespace(namespace);
  }

  /** Every namespace: those with a record and those holding objects. */
  namespaceNames(): string[] {
    const names = new Set([...this.namespaces.list(), ...this.images.namespaces(), ...this.containers.namespaces(), ...this.contentStore.namespaces(), ...this.snapshotStore.namespaces(), ...this.tasks.store.list().map(([ns]) => ns)]);
    return [...names].sort();
  }

  namespaceExists(name: string): boolean {
    return this.namespaceNames().includes(validateNamespace(name));
  }

  /**
   * Deletes a namespace that holds nothing (containerd's rule: images, blobs, containers and
   * snapshots must be gone first); its leases and ingests go with it.
   */
  deleteNamespace(name: string): void {
    if (!this.namespaceExists(name)) throw namespaceNotFound(name);
    const held = [
      this.images.list(name).length ? 'images' : '',
      this.containers.list(name).length ? 'containers' : '',
      this.content(name).list().length ? 'blobs' : '',
      this.tasks.store.list().some(([ns]) => ns === name) ? 'tasks' : '',
      this.snapshotter(name).list().length ? `snapshots on "${this.snapshotterName}" snapshotter` : '',
    ].filter(Boolean);
    if (held.length) throw precondition(`namespace "${name}" must be empty, but it still has ${held.join(', ')}`);
    const content = this.content(name);
    for (const i of content.listIngests()) content.abort(i.ref);
    const leases = this.leases(name);
    for (const l of leases.list()) leases.delete(l.id);
    this.namespaces.delete(name);
  }

  /** A front end's objects that garbage collection must keep in `namespace`. */
  addGcRoots(namespace: string, roots: () => GcRoots): void {
    const list = this.gcRoots.get(namespace) ?? [];
    list.push(roots);
    this.gcRoots.set(namespace, list);
  }

  /** Collects every namespace now; returns what went, by namespace. */
  collectGarbage(): Map<string, GcResult> {
    const out = new Map<string, GcResult>();
    for (const ns of new Set([...this.namespaceNames(), ...this.leaseNamespaces()])) {
      const extra = (this.gcRoots.get(ns) ?? []).map((f) => f());
      out.set(ns, collectGarbage({
        content: this.content(ns),
        leases: this.leases(ns),
        roots: [...this.images.list(ns).map((r) => r.target.digest), ...extra.flatMap((r) => r.content ?? [])],
        snapshotter: this.snapshotter(ns),
        // A container record holds its snapshot (containerd's GC: container -> snapshot).
        snapshotRoots: [...extra.flatMap((r) => r.snapshots ?? []), ...this.containers.list(ns).filter((c) => c.snapshotKey && c.snapshotter === this.snapshotterName).map((c) => c.snapshotKey)],
      }));
    }
    return out;
  }

  /** Collects soon, once (containerd's GC scheduler, after removals made through the API). */
  scheduleGc(delayMs = 200): void {
    if (this.gcTimer) return;
    this.gcTimer = setTimeout(() => {
      this.gcTimer = undefined;
      try {
        this.collectGarbage();
      } catch (err) {
        this.options.log?.('warn', `garbage collection failed: ${(err as Error).message}`);
      }
    }, delayMs);
    this.gcTimer.unref();
  }

  private leaseNamespaces(): string[] {
    return this.leaseStore.namespaces();
  }

  close(): void {
    if (this.gcTimer) clearTimeout(this.gcTimer);
    this.gcTimer = undefined;
  }
}
