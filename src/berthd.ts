// berthd: the composition root. Reads flags and daemon.json, builds the supervisor once, and hands
// it to each front end it serves: containerd's gRPC API and the Kubernetes CRI on
// <exec-root>/supervisor.sock, and the engine's Docker API on its sockets (left out with
// --supervisor-only, as a Kubernetes node wants). On SIGTERM/SIGINT it stops serving while the
// containers keep running in their shims (the next berthd re-adopts them).
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ApiServer } from './api/server.js';
import { applyConfigFile, DEFAULT_CONFIG_FILE, defaultConfig, defaultSocket, type DaemonConfig } from './engine/config.js';
import { ContainerStore } from './engine/containers/store.js';
import { containerdView } from './engine/containers/containerd-view.js';
import type { Engine } from './engine/engine.js';
import { Cri } from './cri/cri.js';
import { CniPodNetwork } from './cri/cni-network.js';
import type { StreamingUrls } from './cri/streaming-urls.js';
import { CniManager } from './network/cni/manager.js';
import { BUILTIN_SANDBOX_IMAGE } from './cri/sandbox-image.js';
import { SupervisorGrpcServer } from './supervisor/grpc/server.js';
import { Supervisor } from './supervisor/supervisor.js';

const USAGE = `Usage: berthd [OPTIONS]

A Docker-compatible container engine daemon.

Options:
      --config-file string       daemon.json (default ${DEFAULT_CONFIG_FILE})
      --data-root string         persistent state (default /var/lib/berth)
      --exec-root string         run-time state: sockets, shims, bundles (default /run/berth)
  -H, --host list                listen addresses: unix:///path, tcp://host:port (default unix://<exec-root>/berth.sock)
      --group string             group owning the unix sockets (default "berth")
      --default-runtime string   OCI runtime for containers (default "berth")
      --add-runtime name=path    another runc-compatible runtime
      --insecure-registry list   registries reached over plain HTTP / without certificate checks
      --registry-mirror list     mirrors for docker.io
      --certs-dir string         per registry: Docker's certificates and containerd's hosts.toml (default /etc/berth/certs.d)
      --cgroup-parent string     parent cgroup of containers (default /berth)
  -b, --bridge string            Linux bridge of the default "bridge" network (default "berth0")
      --bridge-subnet string     subnet of the default bridge network (default 172.30.0.0/16, or a free one)
      --nft-table string         berth's own nftables table (default "berth")
      --storage-driver string    snapshotter: overlayfs or naive (default overlayfs)
      --supervisor-only          serve only containerd's API and the CRI on <exec-root>/supervisor.sock, no Docker API
      --sandbox-image string     the CRI's pod sandbox image (default the built-in ${BUILTIN_SANDBOX_IMAGE}, berth's init as pause)
      --cri-cgroup-parent string parent cgroup of pods that name none (default /k8s.io)
      --cni-conf-dir string      CNI network configurations for pods (default /etc/cni/net.d)
      --cni-bin-dir list         where CNI plugins are looked up (default /opt/cni/bin, /usr/lib/cni)
      --stream-address host:port the CRI's streaming server (exec, attach, port-forward; default 127.0.0.1:0)
      --tlsverify                require client certificates on tcp:// (with --tlscacert, --tlscert, --tlskey)
  -l, --log-level string         debug, info, warn, error (default "info")
  -v, --version                  print the version and exit
`;

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
const VERSION = '0.1.0';

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'config-file': { type: 'string' }, 'data-root': { type: 'string' }, 'exec-root': { type: 'string' },
        host: { type: 'string', short: 'H', multiple: true }, group: { type: 'string' }, 'default-runtime': { type: 'string' },
        'add-runtime': { type: 'string', multiple: true }, 'insecure-registry': { type: 'string', multiple: true },
        'registry-mirror': { type: 'string', multiple: true }, 'certs-dir': { type: 'string' }, 'cgroup-parent': { type: 'string' }, 'storage-driver': { type: 'string' },
        bridge: { type: 'string', short: 'b' }, 'bridge-subnet': { type: 'string' }, 'nft-table': { type: 'string' },
        'supervisor-only': { type: 'boolean' }, 'sandbox-image': { type: 'string' }, 'cri-cgroup-parent': { type: 'string' },
        'cni-conf-dir': { type: 'string' }, 'stream-address': { type: 'string' }, 'cni-bin-dir': { type: 'string', multiple: true }, tlsverify: { type: 'boolean' }, tlscacert: { type: 'string' }, tlscert: { type: 'string' }, tlskey: { type: 'string' },
        'log-level': { type: 'string', short: 'l' }, version: { type: 'boolean', short: 'v' }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`berthd: ${(err as Error).message}\n\n${USAGE}`);
    return 125;
  }
  if (values.help) return void process.stdout.write(USAGE), 0;
  if (values.version) return void process.stdout.write(`berthd version ${VERSION}\n`), 0;
  let config: DaemonConfig;
  try {
    config = applyConfigFile(defaultConfig(), values['config-file'] ?? DEFAULT_CONFIG_FILE);
  } catch (err) {
    process.stderr.write(`berthd: ${(err as Error).message}\n`);
    return 1;
  }
  config = {
    ...config,
    dataRoot: values['data-root'] ?? config.dataRoot,
    execRoot: values['exec-root'] ?? config.execRoot,
    hosts: values.host?.length ? values.host : config.hosts,
    group: values.group ?? config.group,
    defaultRuntime: values['default-runtime'] ?? config.defaultRuntime,
    runtimes: { ...config.runtimes, ...Object.fromEntries((values['add-runtime'] ?? []).map((r) => r.split('=', 2) as [string, string])) },
    insecureRegistries: [...config.insecureRegistries, ...(values['insecure-registry'] ?? [])],
    registryMirrors: [...config.registryMirrors, ...(values['registry-mirror'] ?? [])],
    certsDir: values['certs-dir'] ?? config.certsDir,
    logLevel: (values['log-level'] as DaemonConfig['logLevel'] | undefined) ?? config.logLevel,
    tls: values.tlsverify && values.tlscacert && values.tlscert && values.tlskey ? { ca: values.tlscacert, cert: values.tlscert, key: values.tlskey } : config.tls,
  };
  if (!LEVELS.includes(config.logLevel)) {
    process.stderr.write(`berthd: invalid log level "${config.logLevel}"\n`);
    return 125;
  }
  const threshold = LEVELS.indexOf(config.logLevel);
  const log = (level: (typeof LEVELS)[number], message: string) => {
    if (LEVELS.indexOf(level) >= threshold) process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase()} ${message}\n`);
  };
  if (process.getuid?.() !== 0) {
    process.stderr.write('berthd: needs to run as root (namespaces, mounts, cgroups)\n');
    return 1;
  }
  const supervisorOnly = !!values['supervisor-only'];
  const hosts = supervisorOnly ? [] : config.hosts.length ? config.hosts : [`unix://${defaultSocket(config)}`];
  const docker = supervisorOnly ? undefined : await loadDockerFrontEnd();
  try {
    for (const h of hosts) await docker!.checkAddressFree(h);
  } catch (err) {
    process.stderr.write(`berthd: ${(err as Error).message}\n`);
    return 1;
  }
  const supervisor = new Supervisor({ dataRoot: config.dataRoot, execRoot: config.execRoot, snapshotter: values['storage-driver'], runtimes: config.runtimes, log });
  if (supervisorOnly) {
    // The engine's containers stay visible to ctr, and hold their writable layers against collections.
    const containers = new ContainerStore(join(config.dataRoot, 'containers'));
    supervisor.containers.addView(config.namespace, containerdView(containers, { execRoot: config.execRoot, snapshotter: supervisor.snapshotterName }));
  }
  // The tasks that outlived the last berthd are re-adopted before anyone is answered (the engine,
  // when there is one, then reconciles its containers with them).
  await supervisor.tasks.restore();
  const cri = new Cri(supervisor, {
    dataRoot: config.dataRoot, execRoot: config.execRoot, sandboxImage: values['sandbox-image'], cgroupParent: values['cri-cgroup-parent'], runtime: config.defaultRuntime,
    registry: { insecure: config.insecureRegistries, certsDir: config.certsDir }, network: new CniPodNetwork(new CniManager({ confDir: values['cni-conf-dir'] ?? '/etc/cni/net.d', binDirs: values['cni-bin-dir'], cacheDir: join(config.dataRoot, 'cni') })),
    version: VERSION, log,
  });
  // Before the CRI answers: a kubelet must never see a pod that a crash cut short as it was.
  await cri.restore();
  let streaming: StreamingUrls | undefined;
  try {
    streaming = await cri.startStreaming(streamAddress(values['stream-address']));
  } catch (err) {
    log('warn', `CRI streaming server not started: ${(err as Error).message}`);
  }
  const served = await serveSupervisor(supervisor, join(config.execRoot, 'supervisor.sock'), config.group, log, supervisorOnly, cri, streaming);
  if (served === 'failed') return 1;
  let engine: Engine | undefined;
  let api: ApiServer | undefined;
  if (docker) {
    engine = new docker.Engine({ ...config, cgroupParent: values['cgroup-parent'], bridge: values.bridge, bridgeSubnet: values['bridge-subnet'], nftTable: values['nft-table'], log }, supervisor);
    await engine.open();
    api = new docker.ApiServer(engine, log);
    try {
      for (const h of hosts) {
        await api.listen(h, { group: config.group, tls: config.tls });
        log('info', `API listening on ${h}`);
      }
    } catch (err) {
      process.stderr.write(`berthd: ${(err as Error).message}\n`);
      await engine.close();
      await api.close();
      await served?.close();
      return 1;
    }
  }
  log('info', `berthd ready (data root ${config.dataRoot}, exec root ${config.execRoot}${supervisorOnly ? ', supervisor API only' : ''})`);
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      log('info', `${sig}: shutting down (containers keep running)`);
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await engine?.close();
  await api?.close();
  await served?.close();
  await cri.close();
  supervisor.close();
  return 0;
}

/**
 * The Docker API's modules: the engine, its API server and what only they use (builder, volumes,
 * bridge networks, DNS), about 110 of berthd's 300 modules. Loaded only when that API is served,
 * so a supervisor-only daemon (a Kubernetes node) never holds their code in memory.
 */
async function loadDockerFrontEnd() {
  const [{ ApiServer, checkAddressFree }, { Engine }] = await Promise.all([import('./api/server.js'), import('./engine/engine.js')]);
  return { ApiServer, checkAddressFree, Engine };
}

/**
 * Serves containerd's API and the CRI on `path`. Without containerd's .proto packages the Docker
 * API still comes up (with a warning); a daemon that is only the supervisor cannot. Without the
 * CRI's, containerd's API is served alone (with a warning).
 */
async function serveSupervisor(supervisor: Supervisor, path: string, group: string, log: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void, required: boolean, cri: Cri, streaming?: StreamingUrls): Promise<SupervisorGrpcServer | undefined | 'failed'> {
  try {
    const server = new SupervisorGrpcServer(supervisor, log);
    try {
      for (const [definition, implementation] of cri.services(streaming)) server.addService(definition, implementation);
    } catch (err) {
      log('warn', `CRI not served: ${(err as Error).message}`);
    }
    await server.listen(path, { group });
    log('info', `supervisor API (containerd 1.6) listening on unix://${path}`);
    return server;
  } catch (err) {
    if (required) {
      process.stderr.write(`berthd: supervisor API: ${(err as Error).message}\n`);
      return 'failed';
    }
    log('warn', `supervisor API not served: ${(err as Error).message}`);
    return undefined;
  }
}

/** "HOST:PORT" (or ":PORT", or "HOST") for the streaming server; default 127.0.0.1 on a free port. */
function streamAddress(text: string | undefined): { host?: string; port?: number } {
  if (!text) return {};
  const m = /^(.*?)(?::(\d+))?$/.exec(text)!;
  return { ...(m[1] ? { host: m[1].replace(/^\[|\]$/g, '') } : {}), ...(m[2] ? { port: Number(m[2]) } : {}) };
}
