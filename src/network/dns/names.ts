// What the embedded DNS answers from the network state. A query is answered for the networks of
// the container that asks (found by its source address on the network whose server it asked), as
// Docker's per-container resolver does, so a container sees the names of all its user-defined
// networks and of no other; an unknown source (the host) sees that one network.
import type { StoredEndpoint, StoredNetwork } from '../types.js';
import { aRecord, ptrRecord, ptrToIp, TYPE, type Answer, type Question } from './message.js';

const TTL = 600;

export interface NameView {
  networks: StoredNetwork[];
  /** The network has a running embedded DNS server (user-defined bridge networks). */
  served(net: StoredNetwork): boolean;
  /** The network leads outside (bridge, not internal). */
  external(net: StoredNetwork): boolean;
}

/** Names the embedded DNS answers for an endpoint: container name, aliases, short ID. */
export function dnsNames(ep: StoredEndpoint): string[] {
  return [...new Set([ep.containerName, ...ep.aliases, ep.containerId.slice(0, 12)])];
}

function client(v: NameView, netId: string, from: string): { net?: StoredNetwork; ep?: StoredEndpoint } {
  const net = v.networks.find((n) => n.id === netId);
  return { net, ep: net && Object.values(net.endpoints).find((e) => e.ip === from) };
}

function attached(v: NameView, containerId: string): StoredNetwork[] {
  return v.networks.filter((n) => n.endpoints[containerId]);
}

function scope(v: NameView, netId: string, from: string): StoredNetwork[] {
  const { net, ep } = client(v, netId, from);
  if (!net) return [];
  if (!ep) return [net];
  return attached(v, ep.containerId).filter((n) => v.served(n));
}

/**
 * Records for `q` asked by `from` on network `netId`, or undefined to forward it: A records
 * (shuffled) for a container name, alias, short ID or NAME.NETWORK; no record (NOERROR) for
 * AAAA and MX of such a name; PTR for a container address.
 */
export function lookupName(v: NameView, netId: string, q: Question, from: string): Answer[] | undefined {
  const nets = scope(v, netId, from);
  if (q.type === TYPE.PTR) {
    const ip = ptrToIp(q.name);
    if (!ip) return undefined;
    for (const n of nets) {
      const ep = Object.values(n.endpoints).find((e) => e.ip === ip);
      if (ep) return [ptrRecord(`${ep.containerName}.${n.name}`, TTL)];
    }
    return undefined;
  }
  const ips = new Set<string>();
  for (const n of nets) {
    const suffix = `.${n.name.toLowerCase()}`;
    const bare = q.name.endsWith(suffix) ? q.name.slice(0, -suffix.length) : q.name;
    for (const ep of Object.values(n.endpoints)) {
      if (ep.ip && dnsNames(ep).some((x) => [bare, q.name].includes(x.toLowerCase()))) ips.add(ep.ip);
    }
  }
  if (ips.size === 0) return undefined;
  if (q.type === TYPE.A) return shuffle([...ips]).map((ip) => aRecord(ip, TTL));
  if (q.type === TYPE.AAAA || q.type === TYPE.MX) return [];
  return undefined;
}

/** Whether `from` may have other names resolved outside: not when all its networks are internal. */
export function mayForward(v: NameView, netId: string, from: string): boolean {
  const { net, ep } = client(v, netId, from);
  if (!net) return false;
  return ep ? attached(v, ep.containerId).some((n) => v.external(n)) : v.external(net);
}

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
