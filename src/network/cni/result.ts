// Plugin results in one shape. 0.3.x and 0.4.0 results are 1.0.0's plus a "version" per address;
// 0.1.0/0.2.0 ones (ip4/ip6 objects) are converted too, in case an old plugin answers in them.
// Then the pod's view, as go-cni builds it for containerd: addresses grouped by interface name
// and the primary address picked out of the main interface.
import { BerthError } from '../../common/errors.js';
import type { CniDns, CniInterface, CniIpConfig, CniResult, CniRoute, PodIp, PodNetwork } from './types.js';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const invalidResult = (who: string, what: string): BerthError => new BerthError('INTERNAL', `${who} returned an invalid result: ${what}`);

/** "10.1.2.3/24" (or an IPv6 CIDR) → [address, prefix length], undefined when it is not one. */
export function splitCidr(cidr: string): [string, number] | undefined {
  const m = /^([0-9a-fA-F.:]+)\/(\d{1,3})$/.exec(cidr);
  if (!m) return undefined;
  const prefix = Number(m[2]);
  const v6 = m[1]!.includes(':');
  if (prefix > (v6 ? 128 : 32)) return undefined;
  if (!v6 && !/^(\d{1,3})(\.\d{1,3}){3}$/.test(m[1]!)) return undefined;
  return [m[1]!, prefix];
}

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : undefined;
}

function parseDns(v: unknown): CniDns {
  if (!isObject(v)) return {};
  const dns: CniDns = {};
  const nameservers = strings(v['nameservers']);
  if (nameservers?.length) dns.nameservers = nameservers;
  if (typeof v['domain'] === 'string' && v['domain']) dns.domain = v['domain'];
  const search = strings(v['search']);
  if (search?.length) dns.search = search;
  const options = strings(v['options']);
  if (options?.length) dns.options = options;
  return dns;
}

function parseRoute(who: string, field: string, v: unknown): CniRoute {
  if (!isObject(v) || typeof v['dst'] !== 'string') throw invalidResult(who, `${field}.dst is missing`);
  const route: CniRoute = { dst: v['dst'] };
  if (typeof v['gw'] === 'string') route.gw = v['gw'];
  for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) if (typeof v[k] === 'number') route[k] = v[k];
  return route;
}

function parseInterface(who: string, field: string, v: unknown): CniInterface {
  if (!isObject(v) || typeof v['name'] !== 'string') throw invalidResult(who, `${field}.name is missing`);
  const i: CniInterface = { name: v['name'] };
  if (typeof v['mac'] === 'string' && v['mac']) i.mac = v['mac'];
  if (typeof v['mtu'] === 'number') i.mtu = v['mtu'];
  if (typeof v['sandbox'] === 'string' && v['sandbox']) i.sandbox = v['sandbox'];
  if (typeof v['socketPath'] === 'string' && v['socketPath']) i.socketPath = v['socketPath'];
  if (typeof v['pciID'] === 'string' && v['pciID']) i.pciID = v['pciID'];
  return i;
}

function parseIp(who: string, field: string, v: unknown, interfaces: number): CniIpConfig {
  if (!isObject(v) || typeof v['address'] !== 'string' || !splitCidr(v['address'])) throw invalidResult(who, `${field}.address must be an address in CIDR notation`);
  const ip: CniIpConfig = { address: v['address'] };
  if (typeof v['gateway'] === 'string' && v['gateway']) ip.gateway = v['gateway'];
  if (v['interface'] !== undefined && v['interface'] !== null) {
    const idx = v['interface'];
    if (typeof idx !== 'number' || !Number.isInteger(idx) || idx < 0 || idx >= interfaces) {
      throw invalidResult(who, `${field}.interface ${String(idx)} is not an index into interfaces (${interfaces} of them)`);
    }
    ip.interface = idx;
  }
  return ip;
}

/** A 0.1.0/0.2.0 result's ip4/ip6 ({ ip, gateway, routes }) as 1.0.0 ips and routes. */
function fromLegacy(raw: Record<string, unknown>, who: string): Pick<CniResult, 'ips' | 'routes'> {
  const ips: CniIpConfig[] = [];
  const routes: CniRoute[] = [];
  for (const key of ['ip4', 'ip6']) {
    const v = raw[key];
    if (!isObject(v)) continue;
    ips.push(parseIp(who, key, { address: v['ip'], gateway: v['gateway'] }, 0));
    if (Array.isArray(v['routes'])) v['routes'].forEach((r, i) => routes.push(parseRoute(who, `${key}.routes[${i}]`, r)));
  }
  return { ips, routes };
}

/**
 * A plugin's result object in one shape. `confVersion` is used when the result names no version
 * (libcni does the same); `who` names the plugin for error messages.
 */
export function parseResult(raw: unknown, confVersion: string, who: string): CniResult {
  if (!isObject(raw)) throw invalidResult(who, 'not a JSON object');
  const cniVersion = typeof raw['cniVersion'] === 'string' && raw['cniVersion'] ? raw['cniVersion'] : confVersion;
  if (cniVersion === '0.1.0' || cniVersion === '0.2.0') {
    return { cniVersion, interfaces: [], ...fromLegacy(raw, who), dns: parseDns(raw['dns']) };
  }
  const interfaces = Array.isArray(raw['interfaces']) ? raw['interfaces'].map((v, i) => parseInterface(who, `interfaces[${i}]`, v)) : [];
  const ips = Array.isArray(raw['ips']) ? raw['ips'].map((v, i) => parseIp(who, `ips[${i}]`, v, interfaces.length)) : [];
  const routes = Array.isArray(raw['routes']) ? raw['routes'].map((v, i) => parseRoute(who, `routes[${i}]`, v)) : [];
  return { cniVersion, interfaces, ips, routes, dns: parseDns(raw['dns']) };
}

/**
 * The pod's view of its networks' results (go-cni's createResult): addresses attached to the
 * interface they name (or to `mainIfName` when they name none), and the primary address: the first
 * IPv4 address of `mainIfName`, else its first address.
 */
export function podNetworkOf(results: PodNetwork['results'], mainIfName: string): PodNetwork {
  const interfaces: PodNetwork['interfaces'] = { [mainIfName]: { ips: [] } };
  const routes: CniRoute[] = [];
  const dns: CniDns[] = [];
  for (const { result } of results) {
    for (const i of result.interfaces) {
      const entry: PodNetwork['interfaces'][string] = { ips: interfaces[i.name]?.ips ?? [] };
      if (i.mac) entry.mac = i.mac;
      if (i.sandbox) entry.sandbox = i.sandbox;
      interfaces[i.name] = entry;
    }
    for (const ipc of result.ips) {
      const name = ipc.interface !== undefined ? result.interfaces[ipc.interface]!.name : mainIfName;
      const [ip, prefixLength] = splitCidr(ipc.address)!;
      const podIp: PodIp = { ip, prefixLength };
      if (ipc.gateway) podIp.gateway = ipc.gateway;
      (interfaces[name] ??= { ips: [] }).ips.push(podIp);
    }
    routes.push(...result.routes);
    dns.push(result.dns);
  }
  const mainIps = interfaces[mainIfName]!.ips.map((p) => p.ip);
  const primary = mainIps.find((ip) => !ip.includes(':')) ?? mainIps[0] ?? '';
  return { ip: primary, additionalIps: mainIps.filter((ip) => ip !== primary), interfaces, routes, dns, results };
}
