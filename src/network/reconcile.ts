// What init() does to make the state and the kernel agree after a (re)start: endpoints of
// containers that are gone released, the predefined networks made (or the default bridge moved
// to a new bridge or subnet), live endpoints that lost their veth plugged in again, and a warning
// about other firewalls that would drop what berth forwards. Runs in the manager's queue.
import { existsSync } from 'node:fs';
import { BerthError } from '../common/errors.js';
import { OPT } from './drivers/bridge.js';
import { hostRoutes } from './exec.js';
import { defaultPool, pickSubnet } from './ipam.js';
import { enclosingPrefix, formatIp, formatPrefix, overlaps, parsePrefix, PRIVATE_RANGES, type Prefix } from './ipv4.js';
import { foreignForwardDrops } from './nftables.js';
import { newNetwork } from './records.js';
import type { NetworkState } from './state.js';
import type { Logger, StoredEndpoint, StoredNetwork } from './types.js';

/** A container that kept running while the daemon was away, and a network it is on. */
export type LiveEndpoint = { containerId: string; network: string };

/** The default bridge network as the daemon is configured. */
export interface DefaultBridge {
  bridge: string;
  /** Unset: 172.30.0.0/16, or a free private subnet when that overlaps a host route. */
  subnet?: string;
}

const PREFERRED_DEFAULT_SUBNET = '172.30.0.0/16';

/** Releases endpoints and addresses of containers that are not running any more. */
export async function releaseDead(state: NetworkState, live: LiveEndpoint[], log: Logger): Promise<void> {
  for (const net of state.networks) {
    const keep = new Set(live.filter((l) => l.network === net.name || l.network === net.id).map((l) => l.containerId));
    for (const ep of Object.values(net.endpoints)) {
      if (keep.has(ep.containerId)) continue;
      log('info', `releasing endpoint of ${ep.containerName} on ${net.name} (${ep.ip || 'no address'}): the container is gone`);
      await state.driver(net).leave(net, ep).catch((err: Error) => log('warn', err.message));
      delete net.endpoints[ep.containerId];
    }
    // Addresses whose owner has no endpoint here (none should exist: they are written together).
    for (const [ip, owner] of Object.entries(net.ipam.allocated)) {
      if (!net.endpoints[owner]) delete net.ipam.allocated[ip];
    }
  }
}

/** Adds host, none and bridge if missing; a default bridge configured anew is made again unless containers still use it. */
export async function ensurePredefined(state: NetworkState, want: DefaultBridge, live: LiveEndpoint[], log: Logger): Promise<void> {
  const byName = (n: string) => state.networks.find((x) => x.name === n && x.predefined);
  for (const [name, driver] of [['host', 'host'], ['none', 'null']] as const) {
    if (!byName(name)) state.networks.push(newNetwork(name, driver, true, { subnet: '', gateway: '', allocated: {} }, {}));
  }
  const current = byName('bridge');
  if (current) {
    const wantSubnet = want.subnet;
    const changed = current.bridge !== want.bridge || (wantSubnet !== undefined && wantSubnet !== current.ipam.subnet);
    if (!changed) return;
    if (live.some((l) => l.network === 'bridge' || l.network === current.id)) {
      log('warn', `the default bridge network keeps ${current.bridge} ${current.ipam.subnet}: containers still use it (restart them to move to ${want.bridge} ${wantSubnet ?? ''})`);
      return;
    }
    await state.driver(current).destroy(current);
    state.networks = state.networks.filter((n) => n !== current);
  }
  const others = state.networks.filter((n) => n.driver === 'bridge' && n.name !== 'bridge').map((n) => parsePrefix(n.ipam.subnet)!);
  const subnet = await defaultSubnet(want, others, log);
  const net = newNetwork('bridge', 'bridge', true, { subnet, gateway: formatIp(parsePrefix(subnet)!.base + 1), allocated: {} }, {
    [OPT.defaultBridge]: 'true', [OPT.icc]: 'true', [OPT.masquerade]: 'true', [OPT.hostBinding]: '0.0.0.0', [OPT.name]: want.bridge, [OPT.mtu]: '1500',
  });
  net.ipamOptions = null;
  net.bridge = want.bridge;
  state.networks.unshift(net);
}

/** The default bridge's subnet: the configured one, else 172.30.0.0/16 unless a host route or network overlaps it. */
async function defaultSubnet(want: DefaultBridge, others: Prefix[], log: Logger): Promise<string> {
  const routes = (await hostRoutes()).filter((r) => r.dev !== want.bridge);
  const taken = [...routes.flatMap((r) => enclosingPrefix(r.dst) ?? []), ...others];
  if (want.subnet) {
    const p = parsePrefix(want.subnet)!;
    if (taken.some((t) => overlaps(t, p))) log('warn', `default subnet ${want.subnet} overlaps a host route or network`);
    return formatPrefix(p);
  }
  const candidates = [PREFERRED_DEFAULT_SUBNET, ...defaultPool(), ...privateSlash16s()];
  const picked = pickSubnet(candidates, taken);
  if (!picked) throw new BerthError('UNAVAILABLE', 'no free private subnet for the default bridge network: set defaultSubnet');
  if (picked !== PREFERRED_DEFAULT_SUBNET) log('info', `${PREFERRED_DEFAULT_SUBNET} overlaps a host route: the default bridge network uses ${picked}`);
  return picked;
}

/** 10.x.0.0/16 candidates, after the Docker pools, for a default bridge on a crowded host. */
function privateSlash16s(): string[] {
  const out: string[] = [];
  const ten = PRIVATE_RANGES[0]!;
  for (let i = 0; i < 256; i++) out.push(formatPrefix({ base: ten.base + i * 65536, bits: 16 }));
  return out;
}

/** A live endpoint whose veth is gone (a crash while connecting, a lost link) is plugged in again. */
export async function repairEndpoint(state: NetworkState, net: StoredNetwork, ep: StoredEndpoint, log: Logger): Promise<void> {
  const d = state.driver(net);
  if (await d.present(net, ep)) return;
  if (!existsSync(ep.netnsPath)) {
    log('warn', `endpoint of ${ep.containerName} on ${net.name}: no veth and no namespace ${ep.netnsPath}; disconnect it`);
    return;
  }
  log('warn', `endpoint of ${ep.containerName} on ${net.name} had no veth: plugging it in again`);
  await d.join(net, ep).catch((err: Error) => log('error', err.message));
}

/** Warns about other tables' forward chains with policy drop: berth cannot override them, and never edits them. */
export async function warnForeignDrops(table: string, networks: StoredNetwork[], log: Logger): Promise<void> {
  const drops = await foreignForwardDrops(table);
  if (!drops.length) return;
  const bridges = networks.flatMap((n) => n.bridge ?? []).join(', ');
  log('warn', `forwarded traffic is dropped by base chains berth does not own (${drops.join('; ')}, policy drop): containers cannot reach the outside, ` +
    `published ports cannot be reached from other hosts, and with br_netfilter containers cannot even reach each other. nftables cannot override another ` +
    `table's drop and berth never edits other tables: accept berth's bridges (${bridges}) there, e.g. iptables -I DOCKER-USER -i BRIDGE -j ACCEPT and ` +
    `iptables -I DOCKER-USER -o BRIDGE -j ACCEPT, or set that chain's policy to accept`);
}
