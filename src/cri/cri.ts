// The CRI front end: runtime.v1's RuntimeService and ImageService over berth's supervisor, in
// their own supervisor namespace (k8s.io), served on the supervisor's socket beside containerd's
// API. berthd builds one, adds its services to the supervisor's gRPC server, and restores it
// after the supervisor's tasks have been re-adopted.
import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { serviceDefinition } from '../common/grpc/service-def.js';
import { RegistryClient, type RegistryOptions } from '../registry/client.js';
import { BundleStore } from '../supervisor/tasks/bundle.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { ContainerService } from './containers.js';
import { CriContext, type Log } from './context.js';
import { imageService } from './image-service.js';
import { CriImages } from './images.js';
import type { PodNetwork } from './pod-network.js';
import { IMAGE_SERVICE, loadCriProtos, RUNTIME_SERVICE } from './protos.js';
import { runtimeService } from './runtime-service.js';
import { BUILTIN_SANDBOX_IMAGE } from './sandbox-image.js';
import { SandboxService } from './sandboxes.js';
import { StatsReader } from './stats.js';
import { CriStore } from './store.js';
import { noStreaming, type StreamingUrls } from './streaming-urls.js';
import { StreamingServer, type StreamingServerOptions } from './streaming/server.js';
import { TaskStreamingRuntime } from './stream-runtime.js';

export interface CriConfig {
  dataRoot: string;
  execRoot: string;
  namespace?: string;
  sandboxImage?: string;
  cgroupParent?: string;
  runtime?: string;
  registry: RegistryOptions;
  network: PodNetwork;
  streaming?: StreamingUrls;
  version: string;
  log: Log;
}

export class Cri {
  readonly ctx: CriContext;
  readonly sandboxes: SandboxService;
  readonly containers: ContainerService;
  private readonly stats: StatsReader;
  private streamingServer?: StreamingServer;

  constructor(supervisor: Supervisor, private readonly config: CriConfig) {
    const dataDir = join(config.dataRoot, 'cri');
    const execDir = join(config.execRoot, 'cri');
    mkdirSync(execDir, { recursive: true, mode: 0o711 });
    const namespace = config.namespace ?? 'k8s.io';
    const images = new CriImages(supervisor, namespace, (auth) => new RegistryClient({ ...config.registry, ...(auth ? { credentials: () => auth } : {}) }));
    this.ctx = new CriContext(supervisor, {
      namespace, dataDir, execDir, sandboxImage: config.sandboxImage ?? BUILTIN_SANDBOX_IMAGE, cgroupParent: config.cgroupParent ?? '/k8s.io',
      runtime: config.runtime ?? 'berth', log: config.log,
    }, new CriStore(dataDir), images, new BundleStore(join(config.execRoot, 'bundles')), config.network);
    this.sandboxes = new SandboxService(this.ctx);
    this.containers = new ContainerService(this.ctx, this.sandboxes);
    this.sandboxes.containers = this.containers;
    this.stats = new StatsReader(this.ctx);
  }

  /** The two services, for the supervisor's gRPC server. */
  services(streaming: StreamingUrls = this.config.streaming ?? noStreaming): Array<[ServiceDefinition, UntypedServiceImplementation]> {
    const root = loadCriProtos();
    return [
      [serviceDefinition(root, RUNTIME_SERVICE), runtimeService({ ctx: this.ctx, sandboxes: this.sandboxes, containers: this.containers, stats: this.stats, streaming, version: this.config.version })],
      [serviceDefinition(root, IMAGE_SERVICE), imageService(this.ctx)],
    ];
  }

  /** Starts the streaming server (exec, attach, port-forward) the CRI's URLs point at. */
  async startStreaming(options: StreamingServerOptions = {}): Promise<StreamingUrls> {
    const server = new StreamingServer(new TaskStreamingRuntime(this.ctx, this.containers, this.sandboxes), options);
    await server.start();
    this.streamingServer = server;
    const field = (v: unknown) => (v === undefined ? false : !!v);
    return {
      exec: async (req) => server.getExec({ containerId: this.containers.get(String(req.container_id)).id, cmd: (req.cmd ?? []) as string[], tty: field(req.tty), stdin: field(req.stdin), stdout: field(req.stdout), stderr: field(req.stderr) }).url,
      attach: async (req) => server.getAttach({ containerId: this.containers.get(String(req.container_id)).id, tty: field(req.tty), stdin: field(req.stdin), stdout: field(req.stdout), stderr: field(req.stderr) }).url,
      portForward: async (req) => server.getPortForward({ podSandboxId: this.sandboxes.get(String(req.pod_sandbox_id)).id, port: ((req.port ?? []) as unknown[]).map(Number) }).url,
    };
  }

  async close(): Promise<void> {
    await this.streamingServer?.stop();
  }

  /** After the supervisor re-adopted its tasks: pods whose pause process is gone lose their network. */
  async restore(): Promise<void> {
    await this.sandboxes.restore();
  }
}
