// network create, ls, inspect, rm, prune, connect, disconnect.
import type { Network } from '../../client/types.js';
import type { Command } from '../command.js';
import { UsageError } from '../flags.js';
import { renderItems, resolveFormat } from '../output/format.js';
import { markRow } from '../template/docker-funcs.js';
import { goTimeString } from '../output/time.js';
import { kindInspectCommand } from './inspect.js';
import { kvMap } from './container-opts.js';
import { confirm } from './prompt.js';
import { forEachArg, naturalCompare, parseFilters, shortId } from './util.js';

function networkRow(n: Network, trunc: boolean): Record<string, unknown> {
  const labels = n.Labels ?? {};
  const row = {
    CreatedAt: n.Created ? goTimeString(new Date(n.Created)) : '',
    Driver: n.Driver,
    ID: trunc ? shortId(n.Id) : n.Id,
    IPv4: 'true',
    IPv6: String(!!n.EnableIPv6),
    Internal: String(!!n.Internal),
    Labels: Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(','),
    Name: n.Name,
    Scope: n.Scope,
  };
  Object.defineProperty(row, 'Label', { enumerable: false, value: (k: string) => labels[k] ?? '' });
  return markRow(row);
}

const create: Command = {
  name: 'create',
  usage: '[OPTIONS] NETWORK',
  summary: 'Create a network',
  flags: [
    { name: 'attachable', type: 'bool', help: 'Enable manual container attachment' },
    { name: 'aux-address', type: 'list', help: 'Auxiliary IPv4 or IPv6 addresses used by Network driver', valueName: 'map' },
    { name: 'config-from', type: 'string', help: 'The network from which to copy the configuration' },
    { name: 'config-only', type: 'bool', help: 'Create a configuration only network' },
    { name: 'driver', short: 'd', type: 'string', help: 'Driver to manage the Network', default: 'bridge' },
    { name: 'gateway', type: 'list', help: 'IPv4 or IPv6 Gateway for the master subnet', valueName: 'strings' },
    { name: 'ingress', type: 'bool', help: 'Create swarm routing-mesh network' },
    { name: 'internal', type: 'bool', help: 'Restrict external access to the network' },
    { name: 'ip-range', type: 'list', help: 'Allocate container ip from a sub-range', valueName: 'strings' },
    { name: 'ipam-driver', type: 'string', help: 'IP Address Management Driver', default: 'default' },
    { name: 'ipam-opt', type: 'list', help: 'Set IPAM driver specific options', valueName: 'map' },
    { name: 'ipv6', type: 'bool', help: 'Enable or disable IPv6 networking' },
    { name: 'label', type: 'list', help: 'Set metadata on a network' },
    { name: 'opt', short: 'o', type: 'list', help: 'Set driver specific options', valueName: 'map' },
    { name: 'scope', type: 'string', help: "Control the network's scope" },
    { name: 'subnet', type: 'list', help: 'Subnet in CIDR format that represents a network segment', valueName: 'strings' },
  ],
  minArgs: 1,
  maxArgs: 1,
  run: async (ctx, f, args) => {
    const subnets = f.list('subnet');
    const gateways = f.list('gateway');
    const ranges = f.list('ip-range');
    if (gateways.length > subnets.length) throw new UsageError('every ip-range or gateway must have a corresponding subnet');
    const config = subnets.map((s, i) => ({ Subnet: s, ...(ranges[i] ? { IPRange: ranges[i] } : {}), ...(gateways[i] ? { Gateway: gateways[i] } : {}), ...(f.list('aux-address').length ? { AuxiliaryAddresses: kvMap(f.list('aux-address')) } : {}) }));
    const api = await ctx.api();
    const res = await api.createNetwork({
      Name: args[0],
      CheckDuplicate: true,
      Driver: f.str('driver'),
      Scope: f.str('scope') ?? '',
      ...(f.has('ipv6') ? { EnableIPv6: f.bool('ipv6') } : {}),
      IPAM: { Driver: f.str('ipam-driver'), Options: kvMap(f.list('ipam-opt')), Config: config },
      Internal: f.bool('internal'),
      Attachable: f.bool('attachable'),
      Ingress: f.bool('ingress'),
      ConfigOnly: f.bool('config-only'),
      ConfigFrom: f.str('config-from') ? { Network: f.str('config-from') } : null,
      Options: kvMap(f.list('opt')),
      Labels: kvMap(f.list('label')),
    });
    if (res.Warning) ctx.stderr.write(`WARNING: ${res.Warning}\n`);
    ctx.stdout.write(`${res.Id}\n`);
  },
};

const ls: Command = {
  name: 'ls',
  aliases: ['list'],
  usage: '[OPTIONS]',
  summary: 'List networks',
  flags: [
    { name: 'filter', short: 'f', type: 'list', help: "Provide filter values (e.g. 'driver=bridge')", valueName: 'filter' },
    { name: 'format', type: 'string', help: 'Format output using a custom template' },
    { name: 'no-trunc', type: 'bool', help: 'Do not truncate the output' },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Only display network IDs' },
  ],
  maxArgs: 0,
  run: async (ctx, f) => {
    const api = await ctx.api();
    const nets = [...(await api.listNetworks(parseFilters(f.list('filter'))))].sort((a, b) => naturalCompare(a.Name, b.Name));
    const format = f.bool('quiet') ? '{{.ID}}' : resolveFormat(f.str('format'), 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}');
    ctx.stdout.write(renderItems(format, nets.map((n) => networkRow(n, !f.bool('no-trunc'))), {
      ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv4: 'IPV4', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS', CreatedAt: 'CREATED AT',
    }));
  },
};

const rm: Command = {
  name: 'rm',
  aliases: ['remove'],
  usage: 'NETWORK [NETWORK...]',
  summary: 'Remove one or more networks',
  flags: [{ name: 'force', short: 'f', type: 'bool', help: 'Do not error if the network does not exist' }],
  minArgs: 1,
  run: async (ctx, f, args) => {
    const api = await ctx.api();
    return forEachArg(ctx, args, async (name) => {
      // as docker: a look first, to ask before removing the routing-mesh network
      const nw = await api.inspectNetwork(name).catch(() => undefined);
      if (nw?.Ingress && !(await confirm(ctx, 'WARNING! Before removing the routing-mesh network, make sure all the nodes in your swarm run the same docker engine version. Otherwise, removal may not be effective and functionality of newly create ingress networks will be impaired.'))) return undefined;
      try {
        await api.removeNetwork(name);
      } catch (err) {
        if (f.bool('force') && (err as { status?: number }).status === 404) return undefined;
        throw err;
      }
      return name;
    });
  },
};

const prune: Command = {
  name: 'prune',
  usage: '[OPTIONS]',
  summary: 'Remove all unused networks',
  flags: [
    { name: 'filter', type: 'list', help: 'Provide filter values (e.g. "until=<timestamp>")', valueName: 'filter' },
    { name: 'force', short: 'f', type: 'bool', help: 'Do not prompt for confirmation' },
  ],
  maxArgs: 0,
  run: async (ctx, f) => {
    if (!f.bool('force') && !(await confirm(ctx, 'WARNING! This will remove all custom networks not used by at least one container.'))) return;
    const api = await ctx.api();
    const r = await api.pruneNetworks(parseFilters(f.list('filter')));
    if (r.NetworksDeleted?.length) ctx.stdout.write(`Deleted Networks:\n${r.NetworksDeleted.join('\n')}\n`);
  },
};

const connect: Command = {
  name: 'connect',
  usage: '[OPTIONS] NETWORK CONTAINER',
  summary: 'Connect a container to a network',
  flags: [
    { name: 'alias', type: 'list', help: 'Add network-scoped alias for the container', valueName: 'strings' },
    { name: 'driver-opt', type: 'list', help: 'driver options for the network', valueName: 'strings' },
    { name: 'ip', type: 'string', help: 'IPv4 address (e.g., "172.30.100.104")' },
    { name: 'ip6', type: 'string', help: 'IPv6 address (e.g., "2001:db8::33")' },
    { name: 'link', type: 'list', help: 'Add link to another container' },
    { name: 'link-local-ip', type: 'list', help: 'Add a link-local address for the container', valueName: 'strings' },
  ],
  minArgs: 2,
  maxArgs: 2,
  run: async (ctx, f, args) => {
    const api = await ctx.api();
    const ipam = f.str('ip') || f.str('ip6') || f.list('link-local-ip').length
      ? { IPv4Address: f.str('ip') ?? '', IPv6Address: f.str('ip6') ?? '', ...(f.list('link-local-ip').length ? { LinkLocalIPs: f.list('link-local-ip') } : {}) }
      : null;
    await api.connectNetwork(args[0]!, {
      Container: args[1]!,
      EndpointConfig: {
        IPAMConfig: ipam,
        Links: f.list('link').length ? f.list('link') : null,
        Aliases: f.list('alias').length ? f.list('alias') : null,
        DriverOpts: f.list('driver-opt').length ? kvMap(f.list('driver-opt')) : null,
      },
    });
  },
};

const disconnect: Command = {
  name: 'disconnect',
  usage: '[OPTIONS] NETWORK CONTAINER',
  summary: 'Disconnect a container from a network',
  flags: [{ name: 'force', short: 'f', type: 'bool', help: 'Force the container to disconnect from a network' }],
  minArgs: 2,
  maxArgs: 2,
  run: async (ctx, f, args) => {
    const api = await ctx.api();
    await api.disconnectNetwork(args[0]!, { Container: args[1]!, Force: f.bool('force') });
  },
};

export const networkCommand: Command = {
  name: 'network',
  summary: 'Manage networks',
  subcommands: [connect, create, disconnect, kindInspectCommand('network'), ls, prune, rm],
};
