// The Engine API calls the CLI makes, one method per endpoint, with the query parameters the docker
// CLI sends. This file is also the list a daemon must serve for `berth` to work.
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { compareVersions, EngineClient, encodeFilters, type Hijacked } from './engine.js';
import type {
  ContainerInspect, ContainerSummary, ExecInspect, HistoryItem, ImageSummary, Network, PathStat, Volume,
} from './types.js';

export type Filters = Record<string, string[]>;

const enc = encodeURIComponent;

export interface AttachOptions {
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  logs?: boolean;
  detachKeys?: string;
}

export interface LogsOptions {
  follow?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  since?: string;
  until?: string;
  timestamps?: boolean;
  tail?: string;
  details?: boolean;
}

export interface ExecCreateBody {
  User?: string;
  Privileged?: boolean;
  Tty: boolean;
  ConsoleSize?: [number, number];
  AttachStdin: boolean;
  AttachStderr: boolean;
  AttachStdout: boolean;
  Detach?: boolean;
  DetachKeys?: string;
  Env?: string[] | null;
  WorkingDir?: string;
  Cmd: string[];
}

/** POST /build's query (the classic builder's parameters, as the docker CLI sends them). */
export interface BuildQuery {
  t?: string[];
  dockerfile?: string;
  target?: string;
  /** JSON of {"K": "V" | null}: null leaves the value to the environment of the build. */
  buildargs?: string;
  /** JSON of {"K": "V"}. */
  labels?: string;
  nocache?: boolean;
  pull?: boolean;
  q?: boolean;
  /** Only sent as "0" (the daemon removes intermediate containers by default). */
  rm?: '0';
  forcerm?: boolean;
  squash?: boolean;
  networkmode?: string;
  platform?: string;
  isolation?: string;
  cpusetcpus?: string;
  cpusetmems?: string;
  cpushares?: number;
  cpuquota?: number;
  cpuperiod?: number;
  memory?: number;
  memswap?: number;
  cgroupparent?: string;
  shmsize?: number;
  /** JSON of [{"Name","Hard","Soft"}]. */
  ulimits?: string;
  /** JSON of the image names. */
  cachefrom?: string;
  securityopt?: string[];
  extrahosts?: string[];
  /** "1": the classic builder (not BuildKit's session protocol). */
  version: '1';
}

export class DockerApi {
  constructor(readonly client: EngineClient) {}

  /** Whether the negotiated API version has what `version` added (docker drops newer parameters). */
  async atLeast(version: string): Promise<boolean> {
    return compareVersions(await this.client.apiVersion(), version) >= 0;
  }

  // --- system
  version = () => this.client.json<Record<string, unknown>>('GET', '/version');
  info = () => this.client.json<Record<string, unknown>>('GET', '/info');
  df = () => this.client.json<Record<string, unknown>>('GET', '/system/df');
  events(opts: { since?: string; until?: string; filters?: Filters }, signal?: AbortSignal): Promise<IncomingMessage> {
    return this.client.request('GET', '/events', { query: { since: opts.since, until: opts.until, filters: encodeFilters(opts.filters) }, signal });
  }
  auth = (body: { username: string; password: string; serveraddress: string }) =>
    this.client.json<{ Status?: string; IdentityToken?: string }>('POST', '/auth', { body });

  /** The daemon's own JSON text for inspect (docker prints it re-indented, byte for byte). */
  inspectRaw(kind: 'container' | 'image' | 'volume' | 'network', name: string, size = false): Promise<string> {
    const path = { container: `/containers/${enc(name)}/json`, image: `/images/${enc(name)}/json`, volume: `/volumes/${enc(name)}`, network: `/networks/${enc(name)}` }[kind];
    return this.client.text('GET', path, { query: { size: kind === 'container' && size ? true : undefined } });
  }

  // --- containers
  listContainers(q: { all?: boolean; limit?: number; size?: boolean; filters?: Filters }): Promise<ContainerSummary[]> {
    return this.client.json('GET', '/containers/json', {
      query: { all: q.all || undefined, limit: q.limit !== undefined && q.limit > 0 ? q.limit : undefined, size: q.size || undefined, filters: encodeFilters(q.filters) },
    });
  }
  createContainer(body: unknown, q: { name?: string; platform?: string }): Promise<{ Id: string; Warnings?: string[] | null }> {
    return this.client.json('POST', '/containers/create', { query: { name: q.name || undefined, platform: q.platform || undefined }, body });
  }
  inspectContainer = (id: string, size = false) =>
    this.client.json<ContainerInspect>('GET', `/containers/${enc(id)}/json`, { query: { size: size || undefined } });
  /** 204 started, 304 already running. */
  startContainer = (id: string, detachKeys?: string) =>
    this.client.call('POST', `/containers/${enc(id)}/start`, { query: { detachKeys } });
  /** `signal` needs API 1.42; below, docker leaves it out and so does berth. */
  stopContainer = async (id: string, q: { t?: number; signal?: string }) =>
    this.client.call('POST', `/containers/${enc(id)}/stop`, { query: { t: q.t, signal: (await this.atLeast('1.42')) ? q.signal : undefined } });
  restartContainer = async (id: string, q: { t?: number; signal?: string }) =>
    this.client.call('POST', `/containers/${enc(id)}/restart`, { query: { t: q.t, signal: (await this.atLeast('1.42')) ? q.signal : undefined } });
  killContainer = (id: string, signal?: string) =>
    this.client.call('POST', `/containers/${enc(id)}/kill`, { query: { signal } });
  removeContainer = (id: string, q: { force?: boolean; v?: boolean; link?: boolean }) =>
    this.client.call('DELETE', `/containers/${enc(id)}`, { query: { force: q.force || undefined, v: q.v || undefined, link: q.link || undefined } });
  pauseContainer = (id: string) => this.client.call('POST', `/containers/${enc(id)}/pause`);
  unpauseContainer = (id: string) => this.client.call('POST', `/containers/${enc(id)}/unpause`);
  renameContainer = (id: string, name: string) => this.client.call('POST', `/containers/${enc(id)}/rename`, { query: { name } });
  /** Resource limits and the restart policy; the daemon's warnings come back. */
  updateContainer = (id: string, body: Record<string, unknown>) =>
    this.client.json<{ Warnings?: string[] | null }>('POST', `/containers/${enc(id)}/update`, { body });
  /** Resolves when the response headers arrive; the body (the exit status) comes at the condition. */
  waitContainer = (id: string, condition?: 'not-running' | 'next-exit' | 'removed') =>
    this.client.request('POST', `/containers/${enc(id)}/wait`, { query: { condition } });
  resizeContainer = (id: string, h: number, w: number) =>
    this.client.call('POST', `/containers/${enc(id)}/resize`, { query: { h, w } });
  attachContainer(id: string, o: AttachOptions): Promise<Hijacked> {
    return this.client.hijack('POST', `/containers/${enc(id)}/attach`, {
      query: { logs: o.logs || undefined, stream: true, stdin: o.stdin || undefined, stdout: o.stdout || undefined, stderr: o.stderr || undefined, detachKeys: o.detachKeys || undefined },
    });
  }
  logs(id: string, o: LogsOptions, signal?: AbortSignal): Promise<IncomingMessage> {
    return this.client.request('GET', `/containers/${enc(id)}/logs`, {
      query: {
        stdout: o.stdout || undefined, stderr: o.stderr || undefined, since: o.since || undefined, until: o.until || undefined,
        timestamps: o.timestamps || undefined, follow: o.follow || undefined, tail: o.tail, details: o.details || undefined,
      },
      signal,
    });
  }
  top = (id: string, psArgs?: string) =>
    this.client.json<{ Titles: string[]; Processes: string[][] }>('GET', `/containers/${enc(id)}/top`, { query: { ps_args: psArgs || undefined } });
  changes = (id: string) => this.client.json<{ Path: string; Kind: number }[] | null>('GET', `/containers/${enc(id)}/changes`);
  stats = (id: string, stream: boolean, signal?: AbortSignal) =>
    this.client.request('GET', `/containers/${enc(id)}/stats`, { query: { stream, 'one-shot': undefined }, signal });
  exportContainer = (id: string) => this.client.request('GET', `/containers/${enc(id)}/export`);
  commit(q: { container: string; repo?: string; tag?: string; comment?: string; author?: string; pause?: boolean; changes?: string[] }, config?: unknown) {
    return this.client.json<{ Id: string }>('POST', '/commit', {
      query: { container: q.container, repo: q.repo || undefined, tag: q.tag || undefined, comment: q.comment || undefined, author: q.author || undefined, pause: q.pause, changes: q.changes?.length ? q.changes : undefined },
      ...(config !== undefined ? { body: config } : {}),
    });
  }
  pruneContainers = (filters?: Filters) =>
    this.client.json<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/containers/prune', { query: { filters: encodeFilters(filters) } });

  /** GET /containers/{id}/archive: a tar of `path`, and its stat. */
  async getArchive(id: string, path: string): Promise<{ stat: PathStat; body: IncomingMessage }> {
    const body = await this.client.request('GET', `/containers/${enc(id)}/archive`, { query: { path } });
    return { stat: decodePathStat(body.headers['x-docker-container-path-stat']), body };
  }
  /** HEAD /containers/{id}/archive: the stat of `path` (NOT_FOUND when missing). */
  async statPath(id: string, path: string): Promise<PathStat> {
    const res = await this.client.request('HEAD', `/containers/${enc(id)}/archive`, { query: { path } });
    res.resume();
    return decodePathStat(res.headers['x-docker-container-path-stat']);
  }
  putArchive = (id: string, path: string, tar: Readable, q: { noOverwriteDirNonDir?: boolean; copyUIDGID?: boolean } = {}) =>
    this.client.call('PUT', `/containers/${enc(id)}/archive`, {
      query: { noOverwriteDirNonDir: q.noOverwriteDirNonDir ? 'true' : undefined, copyUIDGID: q.copyUIDGID ? 'true' : undefined, path },
      rawBody: tar, contentType: 'application/x-tar',
    });

  // --- build
  /**
   * POST /build: the context tar (or compressed tar) streamed as the body; the answer is the
   * builder's JSON message stream. `registryConfig` is the X-Registry-Config header.
   */
  build = (query: BuildQuery, context: Readable, registryConfig: string) =>
    this.client.request('POST', '/build', {
      query: { ...query }, rawBody: context, contentType: 'application/x-tar', headers: { 'X-Registry-Config': registryConfig },
    });

  // --- exec
  createExec = (id: string, body: ExecCreateBody) => this.client.json<{ Id: string }>('POST', `/containers/${enc(id)}/exec`, { body });
  startExecDetached = (execId: string, tty: boolean) =>
    this.client.call('POST', `/exec/${enc(execId)}/start`, { body: { Detach: true, Tty: tty } });
  startExecAttached = (execId: string, tty: boolean, consoleSize?: [number, number]) =>
    this.client.hijack('POST', `/exec/${enc(execId)}/start`, { body: { Detach: false, Tty: tty, ...(consoleSize ? { ConsoleSize: consoleSize } : {}) } });
  resizeExec = (execId: string, h: number, w: number) => this.client.call('POST', `/exec/${enc(execId)}/resize`, { query: { h, w } });
  inspectExec = (execId: string) => this.client.json<ExecInspect>('GET', `/exec/${enc(execId)}/json`);

  // --- images
  listImages(q: { all?: boolean; filters?: Filters; digests?: boolean }): Promise<ImageSummary[]> {
    return this.client.json('GET', '/images/json', { query: { all: q.all || undefined, filters: encodeFilters(q.filters), digests: q.digests || undefined } });
  }
  inspectImage = (name: string) => this.client.json<Record<string, unknown>>('GET', `/images/${enc(name)}/json`);
  history = (name: string) => this.client.json<HistoryItem[]>('GET', `/images/${enc(name)}/history`);
  /** POST /images/create?fromImage=…: a JSON progress stream. */
  pull = (q: { fromImage: string; tag?: string; platform?: string }, registryAuth: string) =>
    this.client.request('POST', '/images/create', { query: { fromImage: q.fromImage, tag: q.tag, platform: q.platform || undefined }, headers: { 'X-Registry-Auth': registryAuth } });
  push = (name: string, tag: string | undefined, registryAuth: string) =>
    this.client.request('POST', `/images/${enc(name)}/push`, { query: { tag }, headers: { 'X-Registry-Auth': registryAuth } });
  tag = (source: string, repo: string, tag?: string) =>
    this.client.call('POST', `/images/${enc(source)}/tag`, { query: { repo, tag } });
  removeImage = (name: string, q: { force?: boolean; noprune?: boolean }) =>
    this.client.json<{ Untagged?: string; Deleted?: string }[]>('DELETE', `/images/${enc(name)}`, { query: { force: q.force || undefined, noprune: q.noprune || undefined } });
  save = (names: string[]) => this.client.request('GET', '/images/get', { query: { names } });
  load = (tar: Readable, quiet: boolean) =>
    this.client.request('POST', '/images/load', { query: { quiet }, rawBody: tar, contentType: 'application/x-tar' });
  /** POST /images/create?fromSrc=-: import a rootfs tarball (from the body, or a URL). */
  importImage = (q: { fromSrc: string; repo?: string; tag?: string; message?: string; changes?: string[]; platform?: string }, body?: Readable) =>
    this.client.request('POST', '/images/create', {
      query: { fromSrc: q.fromSrc, repo: q.repo || undefined, tag: q.tag || undefined, message: q.message || undefined, changes: q.changes?.length ? q.changes : undefined, platform: q.platform || undefined },
      ...(body ? { rawBody: body, contentType: 'application/x-tar' } : {}),
    });
  pruneImages = (filters?: Filters) =>
    this.client.json<{ ImagesDeleted: { Untagged?: string; Deleted?: string }[] | null; SpaceReclaimed: number }>('POST', '/images/prune', { query: { filters: encodeFilters(filters) } });
  pruneBuildCache = () => this.client.json<{ CachesDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/build/prune');

  // --- volumes
  createVolume = (body: { Name?: string; Driver?: string; DriverOpts?: Record<string, string>; Labels?: Record<string, string> }) =>
    this.client.json<Volume>('POST', '/volumes/create', { body });
  listVolumes = (filters?: Filters) =>
    this.client.json<{ Volumes: Volume[] | null; Warnings?: string[] | null }>('GET', '/volumes', { query: { filters: encodeFilters(filters) } });
  inspectVolume = (name: string) => this.client.json<Volume>('GET', `/volumes/${enc(name)}`);
  removeVolume = (name: string, force: boolean) => this.client.call('DELETE', `/volumes/${enc(name)}`, { query: { force: force || undefined } });
  pruneVolumes = (filters?: Filters) =>
    this.client.json<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/volumes/prune', { query: { filters: encodeFilters(filters) } });

  // --- networks
  createNetwork = (body: Record<string, unknown>) => this.client.json<{ Id: string; Warning?: string }>('POST', '/networks/create', { body });
  listNetworks = (filters?: Filters) => this.client.json<Network[]>('GET', '/networks', { query: { filters: encodeFilters(filters) } });
  inspectNetwork = (id: string, q: { verbose?: boolean; scope?: string } = {}) =>
    this.client.json<Network>('GET', `/networks/${enc(id)}`, { query: { verbose: q.verbose || undefined, scope: q.scope || undefined } });
  removeNetwork = (id: string) => this.client.call('DELETE', `/networks/${enc(id)}`);
  connectNetwork = (id: string, body: { Container: string; EndpointConfig?: unknown }) => this.client.call('POST', `/networks/${enc(id)}/connect`, { body });
  disconnectNetwork = (id: string, body: { Container: string; Force?: boolean }) => this.client.call('POST', `/networks/${enc(id)}/disconnect`, { body });
  pruneNetworks = (filters?: Filters) =>
    this.client.json<{ NetworksDeleted: string[] | null }>('POST', '/networks/prune', { query: { filters: encodeFilters(filters) } });
}

export function decodePathStat(header: string | string[] | undefined): PathStat {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return { name: '', size: 0, mode: 0, mtime: '', linkTarget: '' };
  return JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as PathStat;
}

