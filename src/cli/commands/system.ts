// version, info, events, system df, system prune, container prune.
import type { IncomingMessage } from 'node:http';
import { jsonStream } from '../../client/streams.js';
import type { EventMessage } from '../../client/types.js';
import { DaemonUnreachableError } from '../../client/errors.js';
import { BerthError } from '../../common/errors.js';
import { MAX_API_VERSION } from '../../client/engine.js';
import type { Command, Context } from '../command.js';
import { renderItems, renderOne, resolveFormat } from '../output/format.js';
import { tabwrite } from '../output/tabwriter.js';
import { rfc3339NanoFixed } from '../output/time.js';
import { dockerTemplate } from '../template/docker-funcs.js';
import { bytesSize, humanDuration, humanSize } from '../output/units.js';
import { CLIENT_VERSION } from '../version.js';
import { confirm } from './prompt.js';
import { errorText, parseFilters, shortId, toApiTimestamp } from './util.js';

// ------------------------------------------------------------------ version

const VERSION_TEMPLATE = `{{with .Client -}}
Client:{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}
 Version:\t{{.Version}}
 API version:\t{{.APIVersion}}{{if ne .APIVersion .DefaultAPIVersion}} (downgraded from {{.DefaultAPIVersion}}){{end}}
 Node.js version:\t{{.GoVersion}}
 Git commit:\t{{.GitCommit}}
 Built:\t{{.BuildTime}}
 OS/Arch:\t{{.Os}}/{{.Arch}}
 Context:\t{{.Context}}
{{- end}}

{{- if .ServerOK}}{{with .Server}}

Server:{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}
 {{- range $component := .Components}}
 {{$component.Name}}:
  {{- if eq $component.Name "Engine" }}
  Version:\t{{.Version}}
  API version:\t{{index .Details "ApiVersion"}} (minimum version {{index .Details "MinAPIVersion"}})
  Go version:\t{{index .Details "GoVersion"}}
  Git commit:\t{{index .Details "GitCommit"}}
  Built:\t{{index .Details "BuildTime"}}
  OS/Arch:\t{{index .Details "Os"}}/{{index .Details "Arch"}}
  Experimental:\t{{index .Details "Experimental"}}
  {{- else }}
  Version:\t{{$component.Version}}
  {{- $detailsOrder := getDetailsOrder $component}}
  {{- range $key := $detailsOrder}}
  {{$key}}:\t{{index $component.Details $key}}
   {{- end}}
  {{- end}}
 {{- end}}
 {{- end}}{{- end}}`;

/** docker's reformatDate: an RFC 3339 build time shown as time.ANSIC, in its own zone. */
export function reformatDate(value: string): string {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(value);
  if (!m) return value;
  const [, y, mo, d, hh, mm, ss] = m as unknown as string[];
  const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  return `${days[date.getUTCDay()]} ${months[Number(mo) - 1]} ${String(Number(d)).padStart(2, ' ')} ${hh}:${mm}:${ss} ${y}`;
}

const ARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' };

export const versionCommand: Command = {
  name: 'version',
  usage: '[OPTIONS]',
  summary: 'Show the berth version information',
  flags: [{ name: 'format', short: 'f', type: 'string', help: 'Format output using a custom template' }],
  maxArgs: 0,
  run: async (ctx, f) => {
    const client = {
      Platform: { Name: '' }, Version: CLIENT_VERSION, APIVersion: MAX_API_VERSION, DefaultAPIVersion: MAX_API_VERSION,
      GoVersion: process.version, GitCommit: '', BuildTime: '', Os: 'linux', Arch: ARCH[process.arch] ?? process.arch, Context: 'default',
    };
    let server: Record<string, unknown> | undefined;
    let serverErr: unknown;
    try {
      const api = await ctx.api();
      server = await api.version();
      if (typeof server.BuildTime === 'string') server.BuildTime = reformatDate(server.BuildTime);
      for (const c of (server.Components as { Details?: Record<string, string> }[] | undefined) ?? []) {
        if (c.Details?.BuildTime) c.Details.BuildTime = reformatDate(c.Details.BuildTime);
      }
      client.APIVersion = await api.client.apiVersion();
    } catch (err) {
      serverErr = err;
    }
    const data = { Client: client, Server: server ?? null, ServerOK: server !== undefined };
    if (f.str('format')) {
      const fmt = f.str('format') === 'json' ? '{{json .}}' : f.str('format')!;
      ctx.stdout.write(`${renderOne(fmt, data)}\n`);
    } else {
      const tmpl = dockerTemplate(VERSION_TEMPLATE, {
        getDetailsOrder: (c: unknown) => Object.keys((c as { Details?: Record<string, string> }).Details ?? {}).sort(),
      });
      const text = tmpl.execute(data);
      ctx.stdout.write(tabwrite(`${text}\n`, { minWidth: 20, padding: 1 }));
    }
    if (serverErr) {
      if (serverErr instanceof DaemonUnreachableError || serverErr instanceof BerthError) throw serverErr;
      throw serverErr;
    }
  },
};

// ------------------------------------------------------------------ info

function printInfo(ctx: Context, info: Record<string, unknown>): void {
  const out: string[] = [];
  const w = (s: string) => out.push(s);
  const get = <T = unknown>(k: string) => info[k] as T;
  w(`Client:\n Version:    ${CLIENT_VERSION}\n Context:    default\n Debug Mode: ${ctx.debug}\n`);
  w('Server:');
  w(` Containers: ${get('Containers') ?? 0}`);
  w(`  Running: ${get('ContainersRunning') ?? 0}`);
  w(`  Paused: ${get('ContainersPaused') ?? 0}`);
  w(`  Stopped: ${get('ContainersStopped') ?? 0}`);
  w(` Images: ${get('Images') ?? 0}`);
  w(` Server Version: ${get('ServerVersion') ?? ''}`);
  w(` Storage Driver: ${get('Driver') ?? ''}`);
  for (const [k, v] of get<[string, string][] | null>('DriverStatus') ?? []) w(`  ${k}: ${v}`);
  w(` Logging Driver: ${get('LoggingDriver') ?? ''}`);
  w(` Cgroup Driver: ${get('CgroupDriver') ?? ''}`);
  if (get('CgroupVersion')) w(` Cgroup Version: ${get('CgroupVersion')}`);
  const plugins = get<Record<string, string[] | null> | undefined>('Plugins');
  if (plugins) {
    w(' Plugins:');
    for (const k of ['Volume', 'Network', 'Authorization', 'Log']) if (plugins[k]?.length) w(`  ${k}: ${plugins[k]!.join(' ')}`);
  }
  const swarm = get<{ LocalNodeState?: string } | undefined>('Swarm');
  w(` Swarm: ${swarm?.LocalNodeState || 'inactive'}`);
  const runtimes = get<Record<string, unknown> | undefined>('Runtimes');
  if (runtimes) w(` Runtimes: ${Object.keys(runtimes).sort().join(' ')}`);
  w(` Default Runtime: ${get('DefaultRuntime') ?? ''}`);
  w(` Init Binary: ${get('InitBinary') ?? ''}`);
  const commit = (k: string) => (get<{ ID?: string } | undefined>(k)?.ID ?? '');
  w(` containerd version: ${commit('ContainerdCommit')}`);
  w(` runc version: ${commit('RuncCommit')}`);
  w(` init version: ${commit('InitCommit')}`);
  const sec = get<string[] | null>('SecurityOptions') ?? [];
  if (sec.length) {
    w(' Security Options:');
    for (const o of sec) {
      const kv = Object.fromEntries(o.split(',').map((p) => p.split('=') as [string, string]));
      w(`  ${kv.name ?? o}`);
      for (const [k, v] of Object.entries(kv)) if (k !== 'name') w(`   ${k === 'profile' ? 'Profile' : k}: ${v}`);
    }
  }
  w(` Kernel Version: ${get('KernelVersion') ?? ''}`);
  w(` Operating System: ${get('OperatingSystem') ?? ''}`);
  w(` OSType: ${get('OSType') ?? ''}`);
  w(` Architecture: ${get('Architecture') ?? ''}`);
  w(` CPUs: ${get('NCPU') ?? 0}`);
  w(` Total Memory: ${bytesSize(get<number>('MemTotal') ?? 0)}`);
  w(` Name: ${get('Name') ?? ''}`);
  w(` ID: ${get('ID') ?? ''}`);
  w(` Docker Root Dir: ${get('DockerRootDir') ?? ''}`);
  w(` Debug Mode: ${get('Debug') ?? false}`);
  for (const k of ['HttpProxy', 'HttpsProxy', 'NoProxy']) if (get(k)) w(` ${k === 'HttpProxy' ? 'HTTP Proxy' : k === 'HttpsProxy' ? 'HTTPS Proxy' : 'No Proxy'}: ${get(k)}`);
  w(` Experimental: ${get('ExperimentalBuild') ?? false}`);
  const reg = get<{ InsecureRegistryCIDRs?: string[]; IndexConfigs?: Record<string, { Secure?: boolean; Mirrors?: string[] }>; Mirrors?: string[] } | undefined>('RegistryConfig');
  if (reg) {
    const insecure = [...Object.entries(reg.IndexConfigs ?? {}).filter(([, v]) => v.Secure === false).map(([k]) => k), ...(reg.InsecureRegistryCIDRs ?? [])];
    if (insecure.length) w(` Insecure Registries:\n${insecure.map((i) => `  ${i}`).join('\n')}`);
    const mirrors = reg.IndexConfigs?.['docker.io']?.Mirrors ?? reg.Mirrors ?? [];
    if (mirrors.length) w(` Registry Mirrors:\n${mirrors.map((m) => `  ${m}`).join('\n')}`);
  }
  w(` Live Restore Enabled: ${get('LiveRestoreEnabled') ?? false}`);
  for (const warning of get<string[] | null>('Warnings') ?? []) ctx.stderr.write(`${warning}\n`);
  ctx.stdout.write(`${out.join('\n')}\n\n`);
}

export const infoCommand: Command = {
  name: 'info',
  usage: '[OPTIONS]',
  summary: 'Display system-wide information',
  flags: [{ name: 'format', short: 'f', type: 'string', help: 'Format output using a custom template' }],
  maxArgs: 0,
  run: async (ctx, f) => {
    const api = await ctx.api();
    const info = await api.info();
    if (f.str('format')) {
      const fmt = f.str('format') === 'json' ? '{{json .}}' : f.str('format')!;
      ctx.stdout.write(`${renderOne(fmt, { ...info, ClientInfo: { Debug: ctx.debug, Context: 'default', Version: CLIENT_VERSION } })}\n`);
      return;
    }
    printInfo(ctx, info);
  },
};

// ------------------------------------------------------------------ events

/** docker's default event line. */
export function eventLine(e: EventMessage): string {
  let s = '';
  if (e.timeNano) s += `${rfc3339NanoFixed(BigInt(e.timeNano))} `;
  else if (e.time) s += `${rfc3339NanoFixed(BigInt(e.time) * 1_000_000_000n)} `;
  s += `${e.Type} ${e.Action} ${e.Actor?.ID ?? ''}`;
  const attrs = e.Actor?.Attributes ?? {};
  const keys = Object.keys(attrs).sort();
  if (keys.length) s += ` (${keys.map((k) => `${k}=${attrs[k]}`).join(', ')})`;
  return `${s}\n`;
}

export const eventsCommand: Command = {
  name: 'events',
  usage: '[OPTIONS]',
  summary: 'Get real time events from the server',
  aliasPaths: ['system events', 'events'],
  flags: [
    { name: 'filter', short: 'f', type: 'list', help: 'Filter output based on conditions provided', valueName: 'filter' },
    { name: 'format', type: 'string', help: 'Format output using a custom template' },
    { name: 'since', type: 'string', help: 'Show all events created since timestamp' },
    { name: 'until', type: 'string', help: 'Stream events until this timestamp' },
  ],
  maxArgs: 0,
  run: async (ctx, f) => {
    const api = await ctx.api();
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const format = f.str('format');
    const tmpl = format ? dockerTemplate(format === 'json' ? '{{json .}}' : format.replace(/\\t/g, '\t').replace(/\\n/g, '\n')) : undefined;
    let res: IncomingMessage;
    try {
      res = await api.events({
        since: f.str('since') ? toApiTimestamp(f.str('since')!) : undefined,
        until: f.str('until') ? toApiTimestamp(f.str('until')!) : undefined,
        filters: parseFilters(f.list('filter')),
      }, controller.signal);
    } catch (err) {
      if (controller.signal.aborted) return 0;
      throw err;
    }
    try {
      for await (const e of jsonStream<EventMessage & { ID?: string }>(res, { exactIntegers: ['timeNano'] })) {
        if (tmpl) {
          const timeNano = e.timeNano === undefined ? undefined : Number(e.timeNano);
          const row = { ...e, timeNano, ID: e.id ?? e.Actor?.ID, Status: e.status, From: e.from, Time: e.time, TimeNano: timeNano, Scope: e.scope };
          ctx.stdout.write(`${tmpl.execute(row)}\n`);
        } else {
          ctx.stdout.write(eventLine(e));
        }
      }
    } catch (err) {
      if (!controller.signal.aborted) throw err;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    return 0;
  },
};

// ------------------------------------------------------------------ df

interface DfImage { Containers: number; Size: number; SharedSize: number; VirtualSize?: number; Id: string; RepoTags: string[] | null; Created: number }
interface DfContainer { Id: string; Names: string[]; Image: string; Command: string; State: string; Status: string; SizeRw?: number; SizeRootFs?: number; Created: number; Mounts?: unknown[] }
interface DfVolume { Name: string; UsageData?: { Size: number; RefCount: number } | null; Labels?: Record<string, string> | null }
interface DfCache { ID: string; Type?: string; Size: number; InUse: boolean; Shared: boolean; CreatedAt?: string; LastUsedAt?: string; UsageCount?: number; Description?: string }

const withPercent = (reclaimable: number, total: number): string =>
  total > 0 ? `${humanSize(reclaimable)} (${Math.trunc((reclaimable * 100) / total)}%)` : humanSize(reclaimable);

export const dfCommand: Command = {
  name: 'df',
  usage: '[OPTIONS]',
  summary: 'Show berth disk usage',
  flags: [
    { name: 'format', type: 'string', help: 'Format output using a custom template' },
    { name: 'verbose', short: 'v', type: 'bool', help: 'Show detailed information on space usage' },
  ],
  maxArgs: 0,
  run: async (ctx, f) => {
    const api = await ctx.api();
    const df = await api.df();
    const images = (df.Images as DfImage[] | null) ?? [];
    const containers = (df.Containers as DfContainer[] | null) ?? [];
    const volumes = (df.Volumes as DfVolume[] | null) ?? [];
    const cache = (df.BuildCache as DfCache[] | null) ?? [];
    const layers = (df.LayersSize as number | undefined) ?? 0;
    let usedImages = 0;
    for (const i of images) if (i.Containers > 0 && i.SharedSize !== -1) usedImages += (i.Size ?? 0) - (i.SharedSize ?? 0);
    const ctrSize = containers.reduce((a, c) => a + (c.SizeRw ?? 0), 0);
    const ctrReclaim = containers.filter((c) => c.State !== 'running').reduce((a, c) => a + (c.SizeRw ?? 0), 0);
    const volSize = volumes.reduce((a, v) => a + (v.UsageData && v.UsageData.Size !== -1 ? v.UsageData.Size : 0), 0);
    const volReclaim = volumes.filter((v) => (v.UsageData?.RefCount ?? 0) === 0).reduce((a, v) => a + (v.UsageData && v.UsageData.Size !== -1 ? v.UsageData.Size : 0), 0);
    const cacheSize = cache.filter((c) => !c.Shared).reduce((a, c) => a + c.Size, 0);
    const cacheReclaim = cache.filter((c) => !c.Shared && !c.InUse).reduce((a, c) => a + c.Size, 0);
    const rows = [
      { Type: 'Images', TotalCount: String(images.length), Active: String(images.filter((i) => i.Containers > 0).length), Size: humanSize(layers), Reclaimable: withPercent(layers - usedImages, layers) },
      { Type: 'Containers', TotalCount: String(containers.length), Active: String(containers.filter((c) => c.State === 'running').length), Size: humanSize(ctrSize), Reclaimable: withPercent(ctrReclaim, ctrSize) },
      { Type: 'Local Volumes', TotalCount: String(volumes.length), Active: String(volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length), Size: humanSize(volSize), Reclaimable: withPercent(volReclaim, volSize) },
      { Type: 'Build Cache', TotalCount: String(cache.length), Active: String(cache.filter((c) => c.InUse).length), Size: humanSize(cacheSize), Reclaimable: humanSize(cacheReclaim) },
    ];
    if (!f.bool('verbose') || f.str('format')) {
      const format = resolveFormat(f.str('format'), 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}');
      ctx.stdout.write(renderItems(format, rows, { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' }));
      return;
    }
    const now = Date.now();
    const ago = (sec: number) => `${humanSizeAgo(now - sec * 1000)}`;
    const imgRows = images.flatMap((i) => {
      const tags = (i.RepoTags ?? []).length ? i.RepoTags! : ['<none>:<none>'];
      return tags.map((t) => {
        const at = t.lastIndexOf(':');
        return { Repository: t.slice(0, at), Tag: t.slice(at + 1), ID: shortId(i.Id), CreatedSince: ago(i.Created), Size: humanSize(i.Size), SharedSize: humanSize(i.SharedSize < 0 ? 0 : i.SharedSize), UniqueSize: humanSize(i.Size - Math.max(0, i.SharedSize)), Containers: String(i.Containers) };
      });
    });
    ctx.stdout.write(`Images space usage:\n\n${renderItems('table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}', imgRows, { Repository: 'REPOSITORY', Tag: 'TAG', ID: 'IMAGE ID', CreatedSince: 'CREATED', Size: 'SIZE', SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE', Containers: 'CONTAINERS' })}\n`);
    const ctrRows = containers.map((c) => ({ ID: shortId(c.Id), Image: c.Image, Command: JSON.stringify(c.Command.length > 20 ? `${c.Command.slice(0, 19)}…` : c.Command), LocalVolumes: String(c.Mounts?.length ?? 0), Size: humanSize(c.SizeRw ?? 0), RunningFor: ago(c.Created), Status: c.Status, Names: (c.Names ?? []).map((n) => n.replace(/^\//, '')).join(',') }));
    ctx.stdout.write(`Containers space usage:\n\n${renderItems('table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}', ctrRows, { ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', LocalVolumes: 'LOCAL VOLUMES', Size: 'SIZE', RunningFor: 'CREATED', Status: 'STATUS', Names: 'NAMES' })}\n`);
    const volRows = volumes.map((v) => ({ Name: v.Name, Links: String(v.UsageData?.RefCount ?? 0), Size: humanSize(v.UsageData?.Size ?? 0) }));
    ctx.stdout.write(`Local Volumes space usage:\n\n${renderItems('table {{.Name}}\t{{.Links}}\t{{.Size}}', volRows, { Name: 'VOLUME NAME', Links: 'LINKS', Size: 'SIZE' })}\n`);
    const cacheRows = cache.map((c) => ({ ID: c.ID, Type: c.Type ?? '', Size: humanSize(c.Size), CreatedSince: c.CreatedAt ? humanSizeAgo(now - Date.parse(c.CreatedAt)) : '', LastUsedSince: c.LastUsedAt ? humanSizeAgo(now - Date.parse(c.LastUsedAt)) : '', UsageCount: String(c.UsageCount ?? 0), Shared: String(c.Shared) }));
    ctx.stdout.write(`Build cache usage: ${humanSize(cacheSize)}\n\n${renderItems('table {{.ID}}\t{{.Type}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}', cacheRows, { ID: 'CACHE ID', Type: 'CACHE TYPE', Size: 'SIZE', CreatedSince: 'CREATED', LastUsedSince: 'LAST USED', UsageCount: 'USAGE', Shared: 'SHARED' })}`);
  },
};

const humanSizeAgo = (ms: number) => `${humanDuration(ms)} ago`;

// ------------------------------------------------------------------ prune

export const containerPruneCommand: Command = {
  name: 'prune',
  usage: '[OPTIONS]',
  summary: 'Remove all stopped containers',
  flags: [
    { name: 'filter', type: 'list', help: 'Provide filter values (e.g. "until=<timestamp>")', valueName: 'filter' },
    { name: 'force', short: 'f', type: 'bool', help: 'Do not prompt for confirmation' },
  ],
  maxArgs: 0,
  run: async (ctx, f) => {
    if (!f.bool('force') && !(await confirm(ctx, 'WARNING! This will remove all stopped containers.'))) return;
    const api = await ctx.api();
    const r = await api.pruneContainers(parseFilters(f.list('filter')));
    if (r.ContainersDeleted?.length) ctx.stdout.write(`Deleted Containers:\n${r.ContainersDeleted.join('\n')}\n\n`);
    ctx.stdout.write(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}\n`);
  },
};

export const systemPruneCommand: Command = {
  name: 'prune',
  usage: '[OPTIONS]',
  summary: 'Remove unused data',
  flags: [
    { name: 'all', short: 'a', type: 'bool', help: 'Remove all unused images not just dangling ones' },
    { name: 'filter', type: 'list', help: 'Provide filter values (e.g. "label=<key>=<value>")', valueName: 'filter' },
    { name: 'force', short: 'f', type: 'bool', help: 'Do not prompt for confirmation' },
    { name: 'volumes', type: 'bool', help: 'Prune anonymous volumes' },
  ],
  maxArgs: 0,
  run: async (ctx, f) => {
    const items = [
      'all stopped containers',
      'all networks not used by at least one container',
      ...(f.bool('volumes') ? ['all anonymous volumes not used by at least one container'] : []),
      f.bool('all') ? 'all images without at least one container associated to them' : 'all dangling images',
      f.bool('all') ? 'all build cache' : 'unused build cache',
    ];
    const warning = `WARNING! This will remove:\n${items.map((i) => `  - ${i}`).join('\n')}\n`;
    if (!f.bool('force') && !(await confirm(ctx, warning))) return;
    const api = await ctx.api();
    const filters = parseFilters(f.list('filter'));
    let space = 0;
    const c = await api.pruneContainers(filters);
    space += c.SpaceReclaimed ?? 0;
    if (c.ContainersDeleted?.length) ctx.stdout.write(`Deleted Containers:\n${c.ContainersDeleted.join('\n')}\n\n`);
    const n = await api.pruneNetworks(filters);
    if (n.NetworksDeleted?.length) ctx.stdout.write(`Deleted Networks:\n${n.NetworksDeleted.join('\n')}\n\n`);
    if (f.bool('volumes')) {
      const v = await api.pruneVolumes(filters);
      space += v.SpaceReclaimed ?? 0;
      if (v.VolumesDeleted?.length) ctx.stdout.write(`Deleted Volumes:\n${v.VolumesDeleted.join('\n')}\n\n`);
    }
    const i = await api.pruneImages({ ...filters, dangling: [f.bool('all') ? 'false' : 'true'] });
    space += i.SpaceReclaimed ?? 0;
    if (i.ImagesDeleted?.length) {
      ctx.stdout.write('Deleted Images:\n');
      for (const d of i.ImagesDeleted) ctx.stdout.write(d.Untagged ? `untagged: ${d.Untagged}\n` : `deleted: ${d.Deleted}\n`);
      ctx.stdout.write('\n');
    }
    try {
      const b = await api.pruneBuildCache();
      space += b.SpaceReclaimed ?? 0;
      if (b.CachesDeleted?.length) ctx.stdout.write(`Deleted build cache objects:\n${b.CachesDeleted.join('\n')}\n\n`);
    } catch (err) {
      // a daemon without a builder has no build cache to prune
      if (ctx.debug) ctx.stderr.write(`build cache: ${errorText(err)}\n`);
    }
    ctx.stdout.write(`Total reclaimed space: ${humanSize(space)}\n`);
  },
};
