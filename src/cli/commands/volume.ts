// volume create, ls, inspect, rm, prune.
import type { Volume } from '../../client/types.js';
import type { Command } from '../command.js';
import { UsageError } from '../flags.js';
import { renderItems, resolveFormat } from '../output/format.js';
import { markRow } from '../template/docker-funcs.js';
import { humanSize } from '../output/units.js';
import { kindInspectCommand } from './inspect.js';
import { kvMap } from './container-opts.js';
import { confirm } from './prompt.js';
import { forEachArg, naturalCompare, parseFilters } from './util.js';

function volumeRow(v: Volume): Record<string, unknown> {
  const labels = v.Labels ?? {};
  const row = {
    Availability: 'N/A',
    Driver: v.Driver,
    Group: 'N/A',
    Labels: Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(','),
    Links: v.UsageData ? String(v.UsageData.RefCount) : 'N/A',
    Mountpoint: v.Mountpoint,
    Name: v.Name,
    Scope: v.Scope,
    Size: v.UsageData && v.UsageData.Size >= 0 ? humanSize(v.UsageData.Size) : 'N/A',
    Status: 'N/A',
  };
  Object.defineProperty(row, 'Label', { enumerable: false, value: (k: string) => labels[k] ?? '' });
  return markRow(row);
}

const create: Command = {
  name: 'create',
  usage: '[OPTIONS] [VOLUME]',
  summary: 'Create a volume',
  flags: [
    { name: 'driver', short: 'd', type: 'string', help: 'Specify volume driver name', default: 'local' },
    { name: 'label', type: 'list', help: 'Set metadata for a volume' },
    { name: 'name', type: 'string', help: 'Specify volume name', hidden: true },
    { name: 'opt', short: 'o', type: 'list', help: 'Set driver specific options', valueName: 'map' },
  ],
  maxArgs: 1,
  run: async (ctx, f, args) => {
    if (args[0] && f.str('name') && args[0] !== f.str('name')) {
      throw new UsageError(`conflicting options: cannot specify a volume-name through both --name and as a positional arg`);
    }
    const api = await ctx.api();
    const v = await api.createVolume({ Driver: f.str('driver'), DriverOpts: kvMap(f.list('opt')), Labels: kvMap(f.list('label')), Name: args[0] ?? f.str('name') ?? '' });
    ctx.stdout.write(`${v.Name}\n`);
  },
};

const ls: Command = {
  name: 'ls',
  aliases: ['list'],
  usage: '[OPTIONS]',
  summary: 'List volumes',
  flags: [
    { name: 'cluster', type: 'bool', help: 'Display only cluster volumes, and use cluster volume list formatting', hidden: true },
    { name: 'filter', short: 'f', type: 'list', help: "Provide filter values (e.g. 'dangling=true')", valueName: 'filter' },
    { name: 'format', type: 'string', help: 'Format output using a custom template' },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Only display volume names' },
  ],
  maxArgs: 0,
  run: async (ctx, f) => {
    const api = await ctx.api();
    const res = await api.listVolumes(parseFilters(f.list('filter')));
    const vols = [...(res.Volumes ?? [])].sort((a, b) => naturalCompare(a.Name, b.Name));
    const format = f.bool('quiet') ? '{{.Name}}' : resolveFormat(f.str('format'), 'table {{.Driver}}\t{{.Name}}');
    ctx.stdout.write(renderItems(format, vols.map(volumeRow), {
      Name: 'VOLUME NAME', Driver: 'DRIVER', Scope: 'SCOPE', Mountpoint: 'MOUNTPOINT', Labels: 'LABELS', Links: 'LINKS', Size: 'SIZE',
      Group: 'GROUP', Availability: 'AVAILABILITY', Status: 'STATUS',
    }));
    for (const w of res.Warnings ?? []) ctx.stderr.write(`${w}\n`);
  },
};

const rm: Command = {
  name: 'rm',
  aliases: ['remove'],
  usage: '[OPTIONS] VOLUME [VOLUME...]',
  summary: 'Remove one or more volumes',
  flags: [{ name: 'force', short: 'f', type: 'bool', help: 'Force the removal of one or more volumes' }],
  minArgs: 1,
  run: async (ctx, f, args) => {
    const api = await ctx.api();
    return forEachArg(ctx, args, async (name) => {
      await api.removeVolume(name, f.bool('force'));
      return name;
    });
  },
};

const prune: Command = {
  name: 'prune',
  usage: '[OPTIONS]',
  summary: 'Remove unused local volumes',
  flags: [
    { name: 'all', short: 'a', type: 'bool', help: 'Remove all unused volumes, not just anonymous ones' },
    { name: 'filter', type: 'list', help: 'Provide filter values (e.g. "label=<label>")', valueName: 'filter' },
    { name: 'force', short: 'f', type: 'bool', help: 'Do not prompt for confirmation' },
  ],
  maxArgs: 0,
  run: async (ctx, f) => {
    const warning = f.bool('all')
      ? 'WARNING! This will remove all local volumes not used by at least one container.'
      : 'WARNING! This will remove anonymous local volumes not used by at least one container.';
    if (!f.bool('force') && !(await confirm(ctx, warning))) return;
    const api = await ctx.api();
    const filters = parseFilters(f.list('filter'));
    if (f.bool('all')) filters.all = ['true'];
    const r = await api.pruneVolumes(filters);
    if (r.VolumesDeleted?.length) ctx.stdout.write(`Deleted Volumes:\n${r.VolumesDeleted.join('\n')}\n\n`);
    ctx.stdout.write(`Total reclaimed space: ${humanSize(r.SpaceReclaimed ?? 0)}\n`);
  },
};

export const volumeCommand: Command = {
  name: 'volume',
  summary: 'Manage volumes',
  subcommands: [create, kindInspectCommand('volume'), ls, prune, rm],
};
