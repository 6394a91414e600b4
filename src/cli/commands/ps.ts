// ps: the container table, and the row context that --format templates see (docker's
// ContainerContext: .ID .Image .Command .CreatedAt .RunningFor .Ports .State .Status .Size .Names
// .Labels .Label "k" .Mounts .LocalVolumes .Networks).
import type { ContainerSummary, Port } from '../../client/types.js';
import { familiarName, parseImageRef } from '../../client/reference.js';
import type { Command } from '../command.js';
import { renderItems, resolveFormat } from '../output/format.js';
import { markRow } from '../template/docker-funcs.js';
import { goTimeString } from '../output/time.js';
import { humanDuration, humanSize } from '../output/units.js';
import { parseFilters, shortId } from './util.js';

/** formatter.Ellipsis: at most n characters, the last one "…" when cut. */
export function ellipsis(s: string, n: number): string {
  const runes = [...s];
  if (runes.length <= n) return s;
  if (n <= 0) return '';
  if (n === 1) return runes[0]!;
  return `${runes.slice(0, n - 1).join('')}…`;
}

/** strconv.Quote for the printable text ps shows. */
export function goQuote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\r/g, '\\r')}"`;
}

/** formatter.DisplayablePorts: consecutive ports grouped into ranges, host mappings after. */
export function displayablePorts(ports: Port[]): string {
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0); // Go's byte order
  const sorted = [...ports].sort((a, b) =>
    a.PrivatePort - b.PrivatePort || cmp(a.IP ?? '', b.IP ?? '') || (a.PublicPort ?? 0) - (b.PublicPort ?? 0) || cmp(a.Type, b.Type));
  const groups = new Map<string, { first: number; last: number }>();
  const order: string[] = [];
  const result: string[] = [];
  const hostMappings: string[] = [];
  const formGroup = (key: string, first: number, last: number) => {
    const slash = key.lastIndexOf('/');
    const ip = slash >= 0 ? key.slice(0, slash) : '';
    const type = key.slice(slash + 1);
    let group = String(first);
    if (first !== last) group += `-${last}`;
    if (ip) group = `${ip}:${group}->${group}`;
    return `${group}/${type}`;
  };
  for (const p of sorted) {
    const current = p.PrivatePort;
    let key = p.Type;
    if (p.IP) {
      if (p.PublicPort !== current) {
        const host = p.IP.includes(':') ? `[${p.IP}]` : p.IP;
        hostMappings.push(`${host}:${p.PublicPort}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = `${p.IP}/${p.Type}`;
    }
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { first: current, last: current });
      order.push(key);
      continue;
    }
    if (current === g.last + 1) {
      g.last = current;
      continue;
    }
    result.push(formGroup(key, g.first, g.last));
    groups.set(key, { first: current, last: current });
  }
  for (const key of order) {
    const g = groups.get(key)!;
    result.push(formGroup(key, g.first, g.last));
  }
  return [...result, ...hostMappings].join(', ');
}

/** The row a --format template sees for one container. */
export function containerRow(c: ContainerSummary, trunc: boolean): Record<string, unknown> {
  const labels = c.Labels ?? {};
  const row = {
    get Command() {
      return goQuote(trunc ? ellipsis(c.Command, 20) : c.Command);
    },
    get CreatedAt() {
      return goTimeString(new Date(c.Created * 1000));
    },
    get ID() {
      return trunc ? shortId(c.Id) : c.Id;
    },
    get Image() {
      if (!c.Image) return '<no image>';
      if (trunc) {
        if (c.ImageID && shortId(c.ImageID) === shortId(c.Image)) return shortId(c.Image);
        try {
          const r = parseImageRef(c.Image);
          return r.tag ? `${familiarName(r)}:${r.tag}` : familiarName(r);
        } catch {
          return c.Image;
        }
      }
      return c.Image;
    },
    get Labels() {
      return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(',');
    },
    get LocalVolumes() {
      return String((c.Mounts ?? []).filter((m) => m.Driver === 'local').length);
    },
    get Mounts() {
      return (c.Mounts ?? []).map((m) => (m.Name ? (trunc ? ellipsis(m.Name, 15) : m.Name) : m.Source ?? '')).join(',');
    },
    get Names() {
      let names = (c.Names ?? []).map((n) => n.replace(/^\//, ''));
      if (trunc) {
        const top = names.find((n) => !n.includes('/'));
        if (top !== undefined) names = [top];
      }
      return names.join(',');
    },
    get Networks() {
      return Object.keys(c.NetworkSettings?.Networks ?? {}).sort().join(',');
    },
    Platform: null,
    get Ports() {
      return displayablePorts(c.Ports ?? []);
    },
    get RunningFor() {
      return `${humanDuration(Date.now() - c.Created * 1000)} ago`;
    },
    get Size() {
      const rw = humanSize(c.SizeRw ?? 0, 3);
      return c.SizeRootFs && c.SizeRootFs > 0 ? `${rw} (virtual ${humanSize(c.SizeRootFs, 3)})` : rw;
    },
    get State() {
      return c.State;
    },
    get Status() {
      return c.Status;
    },
  };
  Object.defineProperty(row, 'Label', { enumerable: false, value: (name: string) => labels[name] ?? '' });
  return markRow(row);
}

export const psHeaders = {
  ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', CreatedAt: 'CREATED AT', RunningFor: 'CREATED', Ports: 'PORTS', State: 'STATE',
  Status: 'STATUS', Size: 'SIZE', Names: 'NAMES', Labels: 'LABELS', Label: 'LABEL', Mounts: 'MOUNTS', LocalVolumes: 'LOCAL VOLUMES', Networks: 'NETWORKS',
  Platform: 'PLATFORM',
};

export const psCommand: Command = {
  name: 'ps',
  usage: '[OPTIONS]',
  summary: 'List containers',
  aliasPaths: ['container ls', 'container list', 'container ps', 'ps'],
  flags: [
    { name: 'all', short: 'a', type: 'bool', help: 'Show all containers (default shows just running)' },
    { name: 'filter', short: 'f', type: 'list', help: 'Filter output based on conditions provided', valueName: 'filter' },
    { name: 'format', type: 'string', help: 'Format output using a custom template' },
    { name: 'last', short: 'n', type: 'int', help: 'Show n last created containers (includes all states)', default: -1 },
    { name: 'latest', short: 'l', type: 'bool', help: 'Show the latest created container (includes all states)' },
    { name: 'no-trunc', type: 'bool', help: "Don't truncate output" },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Only display container IDs' },
    { name: 'size', short: 's', type: 'bool', help: 'Display total file sizes' },
  ],
  maxArgs: 0,
  run: async (ctx, f) => {
    const api = await ctx.api();
    let last = f.int('last') ?? -1;
    if (f.bool('latest') && last === -1) last = 1;
    const userFormat = f.str('format');
    const size = f.bool('size') || (!!userFormat && !f.bool('quiet') && /\.Size\b/.test(userFormat));
    const list = await api.listContainers({ all: f.bool('all'), limit: last, size, filters: parseFilters(f.list('filter')) });
    const def = `table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}${f.bool('size') ? '\t{{.Size}}' : ''}`;
    const format = f.bool('quiet') ? '{{.ID}}' : resolveFormat(userFormat, def);
    ctx.stdout.write(renderItems(format, list.map((c) => containerRow(c, !f.bool('no-trunc'))), psHeaders));
  },
};
