// IP address management, pure: checking a network's IPAM config as Docker does, picking a free
// subnet from a pool, and handing out and taking back endpoint addresses. The state lives in the
// network record (StoredIpam), so it is persisted with it.
import { BerthError, invalid, precondition } from '../common/errors.js';
import { contains, formatIp, formatPrefix, lastOf, overlaps, parseCidr, parseIp, parsePrefix, prefixOf, type Prefix } from './ipv4.js';
import type { IpamConfig, StoredIpam } from './types.js';

/** Docker's default pools: 172.17-31.0.0/16, then 192.168.0-255.0/24. */
export function defaultPool(): string[] {
  const out: string[] = [];
  for (let i = 17; i <= 31; i++) out.push(`172.${i}.0.0/16`);
  for (let i = 0; i <= 255; i++) out.push(`192.168.${i}.0/24`);
  return out;
}

export const POOL_OVERLAP = 'Pool overlaps with other one on this address space';

/** The first pool entry that overlaps none of `taken`, or undefined. */
export function pickSubnet(pool: string[], taken: Prefix[]): string | undefined {
  for (const s of pool) {
    const p = parsePrefix(s);
    if (p && !taken.some((t) => overlaps(p, t))) return formatPrefix(p);
  }
  return undefined;
}

function parseCidrOrThrow(what: string, s: string): { ip: number; bits: number } {
  const c = parseCidr(s);
  if (!c) {
    if (s.includes(':')) throw new BerthError('NOT_IMPLEMENTED', `${what} ${s}: IPv6 networks are not supported yet`);
    throw invalid(`invalid CIDR address: ${s}`);
  }
  return c;
}

/**
 * Checks a create request's IPAM config (at most one IPv4 entry) and returns the network's IPAM
 * state. `subnet` is taken from the config, or else from `autoSubnet()` (called only then).
 * Errors are Docker's: "invalid network config:\n…" (400), a pool overlap (409).
 */
export function resolveIpam(configs: IpamConfig[] | undefined, taken: Prefix[], autoSubnet: () => string): StoredIpam {
  const list = (configs ?? []).filter((c) => c.Subnet || c.Gateway || c.IPRange);
  if (list.length > 1) throw new BerthError('NOT_IMPLEMENTED', 'only one IPv4 subnet per network is supported');
  const cfg = list[0] ?? {};
  const errs: string[] = [];
  let subnet: Prefix;
  if (cfg.Subnet) {
    const c = parseCidrOrThrow('subnet', cfg.Subnet);
    subnet = prefixOf(c.ip, c.bits);
    if (subnet.base !== c.ip) errs.push(`invalid subnet ${cfg.Subnet}: it should be ${formatPrefix(subnet)}`);
    else if (c.bits > 30) errs.push(`invalid subnet ${cfg.Subnet}: too small for a network (at most /30)`);
  } else {
    if (cfg.Gateway || cfg.IPRange) throw invalid('invalid network config:\na gateway or ip-range needs a subnet');
    subnet = parsePrefix(autoSubnet())!;
  }
  let ipRange: Prefix | undefined;
  if (cfg.IPRange) {
    const c = parseCidrOrThrow('ip-range', cfg.IPRange);
    ipRange = prefixOf(c.ip, c.bits);
    if (c.bits < subnet.bits) errs.push(`invalid ip-range ${cfg.IPRange}: CIDR block is bigger than its parent subnet ${formatPrefix(subnet)}`);
    if (ipRange.base !== c.ip) errs.push(`invalid ip-range ${cfg.IPRange}: it should be ${formatPrefix(ipRange)}`);
    if (!overlaps(subnet, ipRange)) errs.push(`invalid ip-range ${cfg.IPRange}: parent subnet ${formatPrefix(subnet)} doesn't contain ip-range`);
  }
  let gateway = subnet.base + 1;
  if (cfg.Gateway) {
    const g = parseIp(cfg.Gateway);
    if (g === undefined) {
      if (cfg.Gateway.includes(':')) throw new BerthError('NOT_IMPLEMENTED', `gateway ${cfg.Gateway}: IPv6 networks are not supported yet`);
      throw invalid(`invalid network config:\ninvalid gateway ${cfg.Gateway}: not an IPv4 address`);
    }
    if (!contains(subnet, g)) errs.push(`invalid gateway ${cfg.Gateway}: parent subnet ${formatPrefix(subnet)} doesn't contain this address`);
    else if (g === subnet.base || g === lastOf(subnet)) errs.push(`invalid gateway ${cfg.Gateway}: it is the network or broadcast address of ${formatPrefix(subnet)}`);
    gateway = g;
  }
  if (errs.length) throw invalid(`invalid network config:\n${errs.join('\n')}`);
  if (taken.some((t) => overlaps(t, subnet))) throw precondition(POOL_OVERLAP);
  const out: StoredIpam = { subnet: formatPrefix(subnet), gateway: formatIp(gateway), allocated: {} };
  if (ipRange) out.ipRange = formatPrefix(ipRange);
  return out;
}

export function prefixLength(ipam: StoredIpam): number {
  return parsePrefix(ipam.subnet)!.bits;
}

function reserved(ipam: StoredIpam, subnet: Prefix, ip: number): boolean {
  return ip === subnet.base || ip === lastOf(subnet) || formatIp(ip) === ipam.gateway;
}

/**
 * Allocates an address for `owner`: the requested one (inside the subnet, free) or the next free
 * one after the last handed out, inside the ip-range when there is one.
 */
export function allocate(ipam: StoredIpam, owner: string, networkName: string, requested?: string): string {
  const subnet = parsePrefix(ipam.subnet)!;
  if (requested) {
    const ip = parseIp(requested);
    if (ip === undefined) throw invalid(`invalid IPv4 address: ${requested}`);
    if (!contains(subnet, ip)) throw invalid(`invalid endpoint settings:\nno configured subnet contains IP address ${requested}`);
    const s = formatIp(ip);
    if (reserved(ipam, subnet, ip) || ipam.allocated[s] !== undefined) {
      throw new BerthError('ALREADY_EXISTS', `Address already in use: ${s} is taken on network ${networkName}`);
    }
    ipam.allocated[s] = owner;
    return s;
  }
  const range = ipam.ipRange ? parsePrefix(ipam.ipRange)! : subnet;
  const first = range.base;
  const last = lastOf(range);
  const size = last - first + 1;
  const prev = ipam.last !== undefined ? parseIp(ipam.last) : undefined;
  const start = prev !== undefined && prev >= first && prev <= last ? prev + 1 : first;
  for (let i = 0; i < size; i++) {
    const ip = first + ((start - first + i) % size);
    const s = formatIp(ip);
    if (reserved(ipam, subnet, ip) || ipam.allocated[s] !== undefined) continue;
    ipam.allocated[s] = owner;
    ipam.last = s;
    return s;
  }
  throw new BerthError('UNAVAILABLE', `no available addresses on this pool: network ${networkName} has no free address in ${ipam.ipRange ?? ipam.subnet}`);
}

export function release(ipam: StoredIpam, ip: string): void {
  delete ipam.allocated[ip];
}

/** Releases every address held by `owner`; returns how many. */
export function releaseOwner(ipam: StoredIpam, owner: string): number {
  let n = 0;
  for (const [ip, o] of Object.entries(ipam.allocated)) {
    if (o === owner) {
      delete ipam.allocated[ip];
      n++;
    }
  }
  return n;
}
