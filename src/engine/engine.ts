// The engine: the Docker-side services the daemon serves, over the supervisor berthd built (its
// namespace's view of content, leases and snapshots; its image records and tasks). `open()` brings them up and re-adopts what survived a restart (tasks in their shims,
// pulls killed mid-way); `close()` lets go without stopping containers, which keep running in
// their shims.
import { join } from 'node:path';
import type { ContentStore } from '../supervisor/content/store.js';
import type { LeaseStore } from '../supervisor/content/leases.js';
import type { ImageStore } from '../supervisor/images/store.js';
import type { Snapshotter } from '../supervisor/snapshots/types.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { TaskService } from '../supervisor/tasks/service.js';
import { RegistryClient, type RegistryOptions } from '../registry/client.js';
import type { DaemonConfig } from './config.js';
import { EventLog } from './events.js';
import { ExecService } from './containers/exec.js';
import { HealthMonitor } from './containers/health.js';
import { BUILD_STEP_LABEL, EngineBuildBackend } from './build-backend.js';
import { ContainerService } from './containers/service.js';
import { ContainerStore } from './containers/store.js';
import { announceContainers, containerdView } from './containers/containerd-view.js';
import { releaseOrphanLeases } from '../supervisor/images/layers.js';
import { ImageService } from './images/service.js';
import { VolumeStore } from '../volume/store.js';
import { NetworkManager } from '../network/manager.js';
import { ContainerNetworking } from './containers/networking.js';
import { volumeNames } from '../volume/mounts.js';

export interface EngineOptions extends DaemonConfig {
  /** Parent cgroup of the containers (default /berth). */
  cgroupParent?: string;
  /** The default bridge network's Linux bridge, subnet, and berth's nftables table. */
  bridge?: string;
  bridgeSubnet?: string;
  nftTable?: string;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
}

export class Engine {
  readonly content: ContentStore;
  readonly leases: LeaseStore;
  readonly snapshotter: Snapshotter;
  readonly imageStore: ImageStore;
  readonly images: ImageService;
  readonly tasks: TaskService;
  readonly containers: ContainerService;
  readonly execs: ExecService;
  readonly volumes: VolumeStore;
  readonly networks: NetworkManager;
  readonly health: HealthMonitor;
  /** What `POST /build` hands the builder: step containers, commits and the cache. */
  readonly buildBackend: EngineBuildBackend;
  readonly events = new EventLog();
  readonly registry: RegistryClient;
  private readonly registryOptions: RegistryOptions;
  readonly startedAt = new Date();

  constructor(readonly config: EngineOptions, readonly supervisor: Supervisor) {
    const root = config.dataRoot;
    const log = config.log ?? (() => {});
    const ns = config.namespace;
    supervisor.namespaces.ensure(ns);
    this.content = supervisor.content(ns);
    this.leases = supervisor.leases(ns);
    this.snapshotter = supervisor.snapshotter(ns);
    this.imageStore = supervisor.images;
    this.registryOptions = { insecure: config.insecureRegistries, certsDir: config.certsDir, mirrors: config.registryMirrors.length ? { 'docker.io': config.registryMirrors } : undefined };
    this.registry = new RegistryClient(this.registryOptions);
    this.tasks = supervisor.tasks;
    this.volumes = new VolumeStore({ root, onEvent: (action, name, attributes) => this.events.publish('volume', action, name, attributes), warn: (m) => log('warn', m) });
    const store = new ContainerStore(join(root, 'containers'));
    this.networks = new NetworkManager({ stateDir: join(root, 'network'), defaultBridge: config.bridge, defaultSubnet: config.bridgeSubnet, nftTable: config.nftTable, log });
    const networking = new ContainerNetworking(this.networks, join(config.execRoot, 'netns'), (ref) => store.find(ref), (action, name, containerId) => {
      let n;
      try {
        n = this.networks.get(name);
      } catch {
        return; // removed meanwhile: nothing to name in the event
      }
      this.events.publish('network', action, n.Id, { name: n.Name, type: n.Driver, container: containerId });
    });
    let containers: ContainerService | undefined;
    this.images = new ImageService({
      content: this.content, leases: this.leases, snapshotter: this.snapshotter, images: this.imageStore,
      whiteouts: this.snapshotter.name === 'overlayfs' ? 'overlay' : 'remove', registry: this.registry, namespace: config.namespace,
      usedBy: (id) => containers?.usersOf(id) ?? [],
      snapshotsInUse: () => containers?.snapshotKeys() ?? [],
      collectGarbage: () => supervisor.collectGarbage().get(ns) ?? { removedLeases: [], removedBlobs: [], removedIngests: [], removedSnapshots: [] },
    });
    // The containers, as containerd records in this namespace: ctr sees what docker ps -a shows,
    // and a record holds its writable layer against collections made from any front end.
    const view = containerdView(store, { execRoot: config.execRoot, snapshotter: this.snapshotter.name });
    supervisor.containers.addView(ns, view);
    announceContainers(this.events, supervisor.events.publish, ns, view);
    containers = new ContainerService({
      store, tasks: this.tasks, images: this.images, snapshotter: this.snapshotter, events: this.events,
      namespace: config.namespace, execRoot: config.execRoot, defaultRuntime: config.defaultRuntime,
      cgroupParent: config.cgroupParent ?? '/berth', volumes: this.volumes, networking, dataRoot: root, warn: (m) => log('warn', m),
    });
    this.containers = containers;
    this.execs = new ExecService(containers, this.events, config.execRoot);
    this.health = new HealthMonitor(containers, this.execs, this.events);
    this.buildBackend = new EngineBuildBackend(containers, this.images, config.execRoot, join(root, 'build-cache-mounts'));
  }

  /** A registry client that answers challenges with these credentials (a request's X-Registry-Auth). */
  registryWith(creds?: { username?: string; password?: string; identitytoken?: string }): RegistryClient {
    if (!creds || (!creds.username && !creds.identitytoken)) return this.registry;
    const c = { username: creds.username ?? '', password: creds.password ?? '', identityToken: creds.identitytoken || undefined };
    return new RegistryClient({ ...this.registryOptions, credentials: () => c });
  }

  /** Brings the engine up after a start or restart. */
  async open(): Promise<void> {
    const released = releaseOrphanLeases(this.leases);
    if (released.length) this.config.log?.('info', `released ${released.length} lease(s) of operations killed mid-way`);
    // Endpoints of containers whose tasks kept running stay; the rest are released.
    const live = this.containers.list().filter((c) => c.State.Running).flatMap((c) => Object.keys(c.Networks).map((network) => ({ containerId: c.ID, network })));
    await this.networks.init(live);
    await this.containers.restore();
    // Step containers of a build the daemon was killed in: nobody will commit or remove them.
    for (const c of this.containers.list().filter((x) => x.Config.Labels?.[BUILD_STEP_LABEL])) {
      await this.containers.remove(c.ID, { force: true, volumes: true }).catch((err) => this.config.log?.('warn', `build step container ${c.ID.slice(0, 12)}: ${(err as Error).message}`));
    }
    const users = this.containers.list().map((c) => ({ id: c.ID, volumes: volumeNames(c.MountPoints ?? []), running: c.State.Running }));
    for (const w of this.volumes.restore(users)) this.config.log?.('warn', w);
    for (const c of this.containers.list()) if (c.State.Running) this.health.watch(c.ID); // probes start over
  }

  async close(): Promise<void> {
    this.health.close();
    this.containers.close();
    await this.networks.close();
  }
}
