// System routes: /_ping (version negotiation), /version, /info, /events, /system/df and /auth.
import { cpus, hostname, release, totalmem, arch } from 'node:os';
import { readFileSync } from 'node:fs';
import { checkLogin } from '../../registry/client.js';
import { BerthError, invalid } from '../../common/errors.js';
import { matches, type EngineEvent } from '../../engine/events.js';
import { imageDiskUsage } from '../../engine/images/views.js';
import { containerSummary, parseFilters } from '../../engine/containers/views.js';
import { hostCgroupVersion } from '../../engine/containers/spec/build-spec.js';
import { decodeBody } from '../decode.js';
import { readJson, sendJson } from '../http.js';
import { AUTH_CONFIG } from '../shapes.js';
import type { Ctx, Router } from '../router.js';
import { API_VERSION, MIN_API_VERSION } from '../server.js';

export const BERTH_VERSION = '0.1.0';

function ping(ctx: Ctx): void {
  const res = ctx.res!;
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache', 'Builder-Version': '1' });
  res.end(ctx.req.method === 'HEAD' ? undefined : 'OK');
}

function osName(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    return m?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}

const goArch = () => ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' } as Record<string, string>)[arch()] ?? arch();

function version(ctx: Ctx): void {
  const common = { Version: BERTH_VERSION, ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, GitCommit: '', GoVersion: `node${process.versions.node}`, Os: 'linux', Arch: goArch(), KernelVersion: release(), BuildTime: '' };
  sendJson(ctx.res!, 200, {
    Platform: { Name: 'berth' },
    Components: [{ Name: 'Engine', Version: BERTH_VERSION, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: goArch(), KernelVersion: release() } }],
    ...common,
  });
}

function info(ctx: Ctx): void {
  const e = ctx.engine;
  const all = e.containers.list();
  const running = all.filter((c) => c.State.Running && !c.State.Paused).length;
  const paused = all.filter((c) => c.State.Paused).length;
  sendJson(ctx.res!, 200, {
    ID: `berth-${hostname()}`,
    Containers: all.length,
    ContainersRunning: running,
    ContainersPaused: paused,
    ContainersStopped: all.length - running - paused,
    Images: e.images.list().length,
    Driver: e.snapshotter.name,
    DriverStatus: [['Backing Filesystem', 'extfs']],
    Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'none'], Authorization: null, Log: ['json-file'] },
    MemoryLimit: true, SwapLimit: true, CpuCfsPeriod: true, CpuCfsQuota: true, CPUShares: true, CPUSet: true, PidsLimit: true,
    IPv4Forwarding: true, BridgeNfIptables: false, BridgeNfIp6tables: false, Debug: e.config.logLevel === 'debug',
    NFd: 0, OomKillDisable: true, NGoroutines: 0, SystemTime: new Date().toISOString(), LoggingDriver: 'json-file',
    CgroupDriver: 'cgroupfs', CgroupVersion: String(hostCgroupVersion()),
    NEventsListener: e.events.listenerCount('event'), KernelVersion: release(), OperatingSystem: osName(), OSVersion: '', OSType: 'linux',
    Architecture: arch() === 'x64' ? 'x86_64' : arch(), IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: { InsecureRegistryCIDRs: ['127.0.0.0/8'], IndexConfigs: {}, Mirrors: e.config.registryMirrors },
    NCPU: cpus().length, MemTotal: totalmem(), GenericResources: null, DockerRootDir: e.config.dataRoot,
    HttpProxy: '', HttpsProxy: '', NoProxy: '', Name: hostname(), Labels: [], ExperimentalBuild: false, ServerVersion: BERTH_VERSION,
    Runtimes: Object.fromEntries([['berth', { path: 'berth-runtime' }], ...Object.entries(e.config.runtimes).map(([k, v]) => [k, { path: v }])]),
    DefaultRuntime: e.config.defaultRuntime, Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: true, Isolation: '', InitBinary: 'berth-init', ContainerdCommit: { ID: '', Expected: '' }, RuncCommit: { ID: '', Expected: '' }, InitCommit: { ID: '', Expected: '' },
    SecurityOptions: ['name=seccomp,profile=builtin'], Warnings: [],
  });
}

/** GET /events: past events in [since, until] when either is given, then live ones until `until` or the client leaves. */
async function events(ctx: Ctx): Promise<void> {
  const res = ctx.res!;
  const filters = parseFilters(ctx.query.string('filters') ?? null);
  const toSeconds = (v: string | undefined) => {
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (Number.isFinite(n)) return n;
    const t = Date.parse(v);
    if (Number.isNaN(t)) throw invalid(`invalid time "${v}"`);
    return t / 1000;
  };
  const since = toSeconds(ctx.query.string('since'));
  const until = toSeconds(ctx.query.string('until'));
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  const send = (e: EngineEvent) => res.write(`${JSON.stringify(e)}\n`);
  // As Docker: the history is replayed only when a bound is given; otherwise only new events come.
  if (since !== undefined || until !== undefined) for (const e of ctx.engine.events.past(filters, since, until)) send(e);
  if (until !== undefined && until * 1000 <= Date.now()) return void res.end();
  await new Promise<void>((resolve) => {
    const listener = (e: EngineEvent) => {
      if (until !== undefined && e.timeNano > until * 1e9) return finish();
      if (matches(e, filters)) send(e);
    };
    const timer = until !== undefined ? setTimeout(() => finish(), until * 1000 - Date.now()) : undefined;
    const finish = () => {
      clearTimeout(timer);
      ctx.engine.events.off('event', listener);
      res.end();
      resolve();
    };
    ctx.engine.events.on('event', listener);
    ctx.req.socket.once('close', finish);
  });
}

function df(ctx: Ctx): void {
  const e = ctx.engine;
  const images = imageDiskUsage(e.images, (id) => e.containers.usersOf(id).length);
  sendJson(ctx.res!, 200, {
    LayersSize: images.LayersSize,
    Images: images.Images,
    Containers: e.containers.list().map((c) => {
      const s = e.containers.sizes(c.ID);
      return { ...containerSummary(c), SizeRw: s.rw, SizeRootFs: s.rootfs };
    }),
    Volumes: e.volumes.list({}, { usage: true }),
    BuildCache: [],
  });
}

/** POST /auth: the daemon checks the credentials against the registry; the CLI stores them. */
async function auth(ctx: Ctx): Promise<void> {
  const body = decodeBody<{ username?: string; password?: string; serveraddress?: string; identitytoken?: string }>(await readJson(ctx.req), AUTH_CONFIG);
  const server = (body.serveraddress || 'docker.io').replace(/^https?:\/\//, '').replace(/\/v1\/?$/, '').replace(/^index\.docker\.io$/, 'docker.io');
  // A server address that is no host[:port] is the client's mistake (a 400), not a failure to reach it.
  const url = URL.canParse(`https://${server}/`) ? new URL(`https://${server}/`) : undefined;
  if (!url || url.pathname !== '/' || url.username || url.password || url.search || url.hash) throw invalid(`invalid registry address "${server.slice(0, 200)}": give host[:port]`);
  try {
    await checkLogin(ctx.engine.registry, server, { username: body.username ?? '', password: body.password ?? '', identityToken: body.identitytoken });
  } catch (err) {
    if (err instanceof BerthError && /unauthorized|incorrect/.test(err.message)) {
      return sendJson(ctx.res!, 401, { message: err.message });
    }
    throw err;
  }
  sendJson(ctx.res!, 200, { Status: 'Login Succeeded', IdentityToken: '' });
}

export function systemRoutes(r: Router): void {
  r.add('GET', '/_ping', ping)
    .add('GET', '/version', version)
    .add('GET', '/info', info)
    .add('GET', '/events', events)
    .add('GET', '/system/df', df)
    .add('POST', '/auth', auth)
    // The step cache (intermediate images) and the RUN --mount=type=cache directories, as
    // BuildKit's prune counts its cache mounts among the build cache.
    .add('POST', '/build/prune', (ctx) => {
      const steps = ctx.engine.images.pruneBuildCache();
      const mounts = ctx.engine.buildBackend.cacheMounts.prune();
      sendJson(ctx.res!, 200, { CachesDeleted: [...steps.CachesDeleted, ...mounts.deleted], SpaceReclaimed: steps.SpaceReclaimed + mounts.bytes });
    });
}
