// The supervisor's gRPC server: containerd 1.6's services over berth's supervisor, on a unix
// socket (<exec-root>/supervisor.sock, mode 0660, group "berth" when it exists), so that
// containerd's own clients — ctr first — drive it unchanged.
//
// The library is @grpc/grpc-js (pure JavaScript HTTP/2 gRPC, the maintained one, no native build
// or binary download) with protobufjs for the messages, loaded from Debian's .proto files at start.
import { type ConnectionInjector, Server, ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { createServer, type Server as NetServer } from 'node:net';
import { AuthorityFilter } from '../../common/grpc/authority-filter.js';
import { claimSocketPath, restrictSocket } from '../../sys/unix-socket.js';
import type { Supervisor } from '../supervisor.js';
import type { HandlerEnv, Implementation, Log } from './handlers.js';
import { loadProtos } from './protos.js';
import { serviceDefinition } from '../../common/grpc/service-def.js';
import { join } from 'node:path';
import { BundleStore } from '../tasks/bundle.js';
import { containersService } from './services/containers.js';
import { tasksService } from './services/tasks.js';
import { contentService } from './services/content.js';
import { diffService } from './services/diff.js';
import { EventCodec, eventsService } from './services/events.js';
import { imagesService } from './services/images.js';
import { introspectionService } from './services/introspection.js';
import { leasesService } from './services/leases.js';
import { namespacesService } from './services/namespaces.js';
import { snapshotsService } from './services/snapshots.js';
import { versionService } from './services/version.js';

const MAX_MESSAGE = 16 << 20; // containerd's own limit

export class SupervisorGrpcServer {
  private readonly server = new Server({ 'grpc.max_receive_message_length': MAX_MESSAGE, 'grpc.max_send_message_length': MAX_MESSAGE });
  private path?: string;
  private listener?: NetServer;
  private injector?: ConnectionInjector;

  constructor(supervisor: Supervisor, log: Log = () => {}) {
    const root = loadProtos();
    const env: HandlerEnv = { supervisor, log };
    const bundles = new BundleStore(join(supervisor.options.execRoot, 'bundles'));
    const tasks = new Set(supervisor.tasks.store.list().map(([ns, id]) => `${ns}/${id}`));
    bundles.sweep((ns, id) => tasks.has(`${ns}/${id}`), (m) => log('warn', m));
    const services: Array<[string, Implementation]> = [
      ['containerd.services.version.v1.Version', versionService(env)],
      ['containerd.services.introspection.v1.Introspection', introspectionService(env)],
      ['containerd.services.namespaces.v1.Namespaces', namespacesService(env)],
      ['containerd.services.content.v1.Content', contentService(env)],
      ['containerd.services.images.v1.Images', imagesService(env)],
      ['containerd.services.leases.v1.Leases', leasesService(env)],
      ['containerd.services.snapshots.v1.Snapshots', snapshotsService(env)],
      ['containerd.services.diff.v1.Diff', diffService(env)],
      ['containerd.services.events.v1.Events', eventsService(env, new EventCodec(root))],
      ['containerd.services.containers.v1.Containers', containersService(env)],
      ['containerd.services.tasks.v1.Tasks', tasksService(env, root, bundles)],
    ];
    for (const [name, impl] of services) this.server.addService(serviceDefinition(root, name), impl);
  }

  /** Another front end's service on the same socket (the CRI's); added before listen. */
  addService(definition: ServiceDefinition, implementation: UntypedServiceImplementation): void {
    this.server.addService(definition, implementation);
  }

  /**
   * Serves on a unix socket of our own, each connection handed to grpc-js through the
   * authority filter: Go clients that name the socket's path as :authority (crictl, critest, older
   * kubelets) would otherwise be refused by Node's HTTP/2 before any handler ran.
   */
  async listen(path: string, opts: { group?: string } = {}): Promise<void> {
    await claimSocketPath(path);
    const injector = this.server.createConnectionInjector(ServerCredentials.createInsecure());
    const listener = createServer((socket) => injector.injectConnection(new AuthorityFilter(socket)));
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(path, () => resolve());
    });
    this.listener = listener;
    this.injector = injector;
    this.path = path;
    restrictSocket(path, opts.group);
  }

  /** Stops accepting calls; calls in flight (event subscriptions) are ended after a grace period. */
  async close(graceMs = 2000): Promise<void> {
    this.listener?.close();
    this.injector?.drain(graceMs);
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    this.injector?.destroy();
    this.listener = undefined;
    this.injector = undefined;
    this.path = undefined;
  }

  get address(): string | undefined {
    return this.path;
  }
}
