// The Engine API's JSON for containers: `docker inspect` (Docker's field names and nesting) and
// the summaries `docker ps` lists, with Docker's list filters.
import { invalid } from '../../common/errors.js';
import { labelsMatch } from '../filters.js';
import { inspectMounts, volumeNames } from '../../volume/mounts.js';
import type { ContainerRecord } from './record.js';
import { statusText } from './record.js';

const emptyEndpoint = { IPAMConfig: null, Links: null, Aliases: null, MacAddress: '', DriverOpts: null, NetworkID: '', EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null };

/** NetworkSettings: the endpoints (filled while the container runs), ports, and the bridge's address at the top level as Docker keeps it. */
function networkSettings(c: ContainerRecord): Record<string, unknown> {
  const mode = c.HostConfig.NetworkMode ?? 'default';
  const named = Object.keys(c.Networks).length ? c.Networks : mode === 'host' || mode === 'none' ? { [mode]: {} } : {};
  const networks = Object.fromEntries(Object.entries(named).map(([name, e]) => [name, { ...emptyEndpoint, ...e }]));
  const bridge = (networks.bridge ?? {}) as Record<string, unknown>;
  const running = c.State.Running;
  return {
    Bridge: '', SandboxID: running ? c.ID : '', HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0,
    Ports: running ? (c.Ports ?? {}) : {}, SandboxKey: '', SecondaryIPAddresses: null, SecondaryIPv6Addresses: null,
    EndpointID: bridge.EndpointID ?? '', Gateway: bridge.Gateway ?? '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0,
    IPAddress: bridge.IPAddress ?? '', IPPrefixLen: bridge.IPPrefixLen ?? 0, IPv6Gateway: '', MacAddress: bridge.MacAddress ?? '',
    Networks: networks,
  };
}

/** `ps`'s Ports: one entry per binding (and per exposed, unpublished port). */
function summaryPorts(c: ContainerRecord): Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: string }> {
  if (!c.State.Running) return [];
  return Object.entries(c.Ports ?? {}).flatMap(([key, bindings]) => {
    const [port, type] = key.split('/') as [string, string];
    if (!bindings?.length) return [{ PrivatePort: Number(port), Type: type }];
    return bindings.map((b) => ({ IP: b.HostIp || '0.0.0.0', PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: type }));
  });
}

export function containerInspect(c: ContainerRecord, opts: { size?: { rw: number; rootfs: number } } = {}): Record<string, unknown> {
  return {
    Id: c.ID,
    Created: c.Created,
    Path: c.Path,
    Args: c.Args,
    State: c.State,
    Image: c.Image,
    ResolvConfPath: c.ResolvConfPath,
    HostnamePath: c.HostnamePath,
    HostsPath: c.HostsPath,
    LogPath: c.LogPath,
    Name: c.Name,
    RestartCount: c.RestartCount,
    Driver: c.Driver,
    Platform: c.Platform,
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: c.HostConfig,
    GraphDriver: { Name: c.Driver, Data: null },
    ...(opts.size ? { SizeRw: opts.size.rw, SizeRootFs: opts.size.rootfs } : {}),
    Mounts: inspectMounts(c.MountPoints ?? []),
    Config: c.Config,
    NetworkSettings: networkSettings(c),
  };
}

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  Ports: unknown[];
  SizeRw?: number;
  SizeRootFs?: number;
  Labels: Record<string, string>;
  State: string;
  Status: string;
  HostConfig: { NetworkMode: string };
  NetworkSettings: { Networks: Record<string, unknown> };
  Mounts: unknown[];
}

export function containerSummary(c: ContainerRecord): ContainerSummary {
  return {
    Id: c.ID,
    Names: [c.Name],
    Image: c.Config.Image ?? '',
    ImageID: c.Image,
    Command: [c.Path, ...c.Args].map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(' '),
    Created: Math.floor(new Date(c.Created).getTime() / 1000),
    Ports: summaryPorts(c),
    Labels: c.Config.Labels ?? {},
    State: c.State.Status,
    Status: statusText(c),
    HostConfig: { NetworkMode: c.HostConfig.NetworkMode ?? 'default' },
    NetworkSettings: { Networks: (networkSettings(c).Networks as Record<string, unknown>) },
    Mounts: inspectMounts(c.MountPoints ?? []),
  };
}

export type ListFilters = Record<string, string[]>;

/** Parses the API's `filters` query: {"status":["running"]} (or the legacy {"status":{"running":true}}). */
export function parseFilters(text: string | null): ListFilters {
  if (!text) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw invalid(`invalid filters: ${text}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalid(`invalid filters: ${text}`);
  const out: ListFilters = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (Array.isArray(v)) out[k] = v.map(String);
    else if (v && typeof v === 'object') out[k] = Object.keys(v);
    else throw invalid(`invalid filter value for ${k}`);
  }
  return out;
}

/** `publish`/`expose` filter values ("80", "80/udp", "8000-8010/tcp") as a set of "port/proto". */
function portSet(values: readonly string[], filter: string): Set<string> {
  const out = new Set<string>();
  for (const v of values) {
    const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/.exec(v);
    if (!m || Number(m[2] ?? m[1]) < Number(m[1]) || Number(m[2] ?? m[1]) > 65535) throw invalid(`invalid filter '${filter}=${v}'`);
    for (let p = Number(m[1]); p <= Number(m[2] ?? m[1]); p++) out.add(`${p}/${m[3] ?? 'tcp'}`);
  }
  return out;
}

/** As Docker's list: `expose` matches a container port of the container's ports, `publish` a host port. */
function portsMatch(c: ContainerRecord, exposed: Set<string>, published: Set<string>): boolean {
  if (!exposed.size && !published.size) return true;
  return summaryPorts(c).some((p) => exposed.has(`${p.PrivatePort}/${p.Type}`) || (p.PublicPort !== undefined && published.has(`${p.PublicPort}/${p.Type}`)));
}

const LIST_FILTERS = new Set(['ancestor', 'before', 'expose', 'exited', 'health', 'id', 'isolation', 'is-task', 'label', 'name', 'network', 'publish', 'since', 'status', 'volume']);
const STATUSES = new Set(['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead']);

/**
 * `docker ps` selection: all or running only, filters, and newest first; `limit`/`latest` keep
 * the newest. `imageIds(ref)` resolves an ancestor filter to the image IDs it names.
 */
export function selectContainers(all: ContainerRecord[], q: { all: boolean; limit?: number; filters: ListFilters }, find: (ref: string) => ContainerRecord | undefined, imageIds: (ref: string) => string[]): ContainerRecord[] {
  const f = q.filters;
  for (const k of Object.keys(f)) if (!LIST_FILTERS.has(k)) throw invalid(`invalid filter '${k}'`);
  for (const s of f.status ?? []) if (!STATUSES.has(s)) throw invalid(`invalid filter 'status=${s}'`);
  const before = f.before?.[0] ? find(f.before[0]) : undefined;
  const since = f.since?.[0] ? find(f.since[0]) : undefined;
  const ancestors = (f.ancestor ?? []).flatMap((a) => imageIds(a));
  const exposed = portSet(f.expose ?? [], 'expose');
  const published = portSet(f.publish ?? [], 'publish');
  let list = [...all].sort((a, b) => b.Created.localeCompare(a.Created));
  const keepAll = q.all || (q.limit !== undefined && q.limit > 0) || !!f.status?.length || !!f.exited?.length;
  list = list.filter((c) => {
    if (!keepAll && !c.State.Running) return false;
    const has = (k: string, test: (v: string) => boolean) => !f[k]?.length || f[k]!.some(test);
    return has('status', (s) => s === c.State.Status)
      && has('id', (v) => c.ID.startsWith(v))
      && has('name', (v) => new RegExp(v).test(c.Name.slice(1)) || c.Name === v)
      && labelsMatch(c.Config.Labels, f.label)
      && has('exited', (v) => !c.State.Running && c.HasBeenStarted && c.State.ExitCode === Number(v))
      && (!f.ancestor?.length || ancestors.includes(c.Image))
      && has('health', (v) => (c.State.Health?.Status ?? 'none') === v)
      && has('network', (v) => (c.HostConfig.NetworkMode === v) || v in c.Networks)
      && has('volume', (v) => volumeNames(c.MountPoints ?? []).includes(v) || (c.MountPoints ?? []).some((m) => m.Destination === v))
      && portsMatch(c, exposed, published)
      && (!before || c.Created < before.Created)
      && (!since || c.Created > since.Created);
  });
  if (q.limit !== undefined && q.limit > 0) list = list.slice(0, q.limit);
  return list;
}
