// A container's endpoints on networks: the checks a connect request passes, what a new endpoint
// is given (address, MAC, interface and veth names, whether it carries the default route), that
// allocation undone, and the default route handed on when its endpoint leaves. Pure bookkeeping
// on the state, in the manager's queue; the drivers do the kernel work.
import { existsSync } from 'node:fs';
import { exists, invalid, notFound } from '../common/errors.js';
import { allocate, releaseOwner } from './ipam.js';
import { isMac, macForIp, parseIp } from './ipv4.js';
import { randomHex } from './records.js';
import type { NetworkState } from './state.js';
import type { ConnectRequest, Logger, StoredEndpoint, StoredNetwork } from './types.js';

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * Checks a connect request and makes the endpoint, its address allocated in `net.ipam` (undone by
 * undoAllocation). The endpoint is not recorded yet. `lastBefore` is the allocation cursor it moved.
 */
export function newEndpoint(state: NetworkState, net: StoredNetwork, req: ConnectRequest): { ep: StoredEndpoint; lastBefore: string | undefined } {
  const cid = req.containerId;
  if (typeof cid !== 'string' || !ID_RE.test(cid)) throw invalid(`invalid container ID ${JSON.stringify(cid)}`);
  const name = String(req.containerName ?? '').replace(/^\//, '');
  if (!name) throw invalid('a container name is required');
  if (net.endpoints[cid]) throw exists(`endpoint with name ${name} already exists in network ${net.name}`);
  const mine = state.endpointsOf(cid);
  const driver = state.driver(net);
  if (net.driver === 'host' || mine.some(([n]) => n.driver === 'host')) {
    if (mine.length) throw invalid('container sharing network namespace with another container or host cannot be connected to any other network');
  }
  if (net.driver === 'null' || mine.some(([n]) => n.driver === 'null')) {
    if (mine.length) throw invalid('container cannot be connected to multiple networks with one of the networks in private (none) mode');
  }
  const aliases = [...new Set((req.aliases ?? []).map(String).filter(Boolean))];
  if (net.predefined && req.ipv4Address) throw invalid('invalid endpoint settings:\nuser-specified IP address is supported on user-defined networks only');
  if (net.predefined && aliases.length) throw invalid('invalid endpoint settings:\nnetwork-scoped aliases are only supported for user-defined networks');
  if (req.macAddress && !isMac(req.macAddress)) throw invalid(`invalid MAC address: ${req.macAddress}`);
  const ep: StoredEndpoint = {
    containerId: cid, containerName: name, endpointId: randomHex(32), netnsPath: req.netnsPath ?? '', aliases,
    ip: '', mac: '', ifName: '', hostVeth: '', defaultRoute: false,
  };
  let lastBefore: string | undefined;
  if (driver.addressed) {
    if (typeof req.netnsPath !== 'string' || !req.netnsPath.startsWith('/') || /[\s"'\\]/.test(req.netnsPath)) {
      throw invalid(`invalid network namespace path ${JSON.stringify(req.netnsPath)}: an absolute path without white space or quotes`);
    }
    if (!existsSync(req.netnsPath)) throw notFound(`network namespace ${req.netnsPath} not found`);
    lastBefore = net.ipam.last;
    ep.ip = allocate(net.ipam, cid, net.name, req.ipv4Address);
    ep.mac = (req.macAddress ?? macForIp(parseIp(ep.ip)!)).toLowerCase();
    ep.ifName = nextIfName(mine.map(([, e]) => e.ifName));
    ep.hostVeth = `veth${randomHex(4).slice(0, 7)}`;
    ep.defaultRoute = !net.internal && !mine.some(([, e]) => e.defaultRoute);
  }
  return { ep, lastBefore };
}

/** Gives back the address newEndpoint allocated (a connect whose kernel work failed). */
export function undoAllocation(net: StoredNetwork, ep: StoredEndpoint, lastBefore: string | undefined): void {
  releaseOwner(net.ipam, ep.containerId);
  // The allocation cursor goes back only if no other endpoint has moved it since.
  if (net.ipam.last === ep.ip) {
    if (lastBefore === undefined) delete net.ipam.last;
    else net.ipam.last = lastBefore;
  }
}

/** After the default route's endpoint leaves, another external network of the container takes it. */
export async function moveDefaultRoute(state: NetworkState, cid: string, log: Logger): Promise<void> {
  const next = state.endpointsOf(cid).find(([n, e]) => !n.internal && e.ip && state.driver(n).firewall(n));
  if (!next) return;
  const [net, ep] = next;
  ep.defaultRoute = true;
  await state.driver(net).setDefaultRoute(net, ep).catch((err: Error) => log('warn', err.message));
}

function nextIfName(used: string[]): string {
  for (let i = 0; ; i++) if (!used.includes(`eth${i}`)) return `eth${i}`;
}
