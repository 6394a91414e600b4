// Published ports: checking requests, telling conflicts apart, probing whether a host process holds
// a port (by binding it for a moment), and the ephemeral range. IPv4 is forwarded by DNAT in
// nftables.ts; IPv6 bindings (Docker's implicit [::] twin of a 0.0.0.0 binding, or an explicit
// IPv6 host address) by berthd's proxy (port-proxies.ts), since the kernel cannot NAT IPv6 to IPv4.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { readFile } from 'node:fs/promises';
import { BerthError, invalid } from '../common/errors.js';
import { parseIp } from './ipv4.js';
import { canonicalIpv6 } from './ipv6.js';
import type { PortBinding, PortRequest, Proto } from './types.js';

/** Docker's portallocator default when the kernel's range cannot be read. */
const FALLBACK_RANGE: [number, number] = [32768, 60999];

export type Family = 4 | 6;

export const familyOf = (hostIp: string): Family => (hostIp.includes(':') ? 6 : 4);

/** Every address of a family: a binding there covers every other binding of the family on its port. */
const ANY: Record<Family, string> = { 4: '0.0.0.0', 6: '::' };

export async function ephemeralRange(): Promise<[number, number]> {
  try {
    const [lo, hi] = (await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')).trim().split(/\s+/).map(Number);
    if (lo && hi && lo <= hi) return [lo, hi];
  } catch {
    // not Linux, or /proc not mounted: Docker's default
  }
  return FALLBACK_RANGE;
}

/** A host address as Docker reads it: IPv4 as given, IPv6 written canonically (IPv4-mapped ones as IPv4); undefined when neither. */
function hostAddress(s: string): string | undefined {
  return parseIp(s) !== undefined ? s : canonicalIpv6(s);
}

/**
 * Checks requests and fills the host address. Each request gives the bindings that are to share
 * one host port: its own, and — for a request without a host address on a network whose default
 * is 0.0.0.0, when `ipv6` (the host can listen on IPv6) — `::` too, as Docker adds it. An explicit
 * 0.0.0.0 stays IPv4 only and an explicit IPv6 address IPv6 only, as in Docker (20.10 and since).
 * hostPort 0 still means "pick one".
 */
export function normalizeRequests(reqs: PortRequest[], defaultHostIp: string, ipv6: boolean): PortBinding[][] {
  return reqs.map((r) => {
    if (r.proto !== 'tcp' && r.proto !== 'udp') throw invalid(`invalid proto ${JSON.stringify(r.proto)}: use tcp or udp`);
    if (!Number.isInteger(r.containerPort) || r.containerPort < 1 || r.containerPort > 65535) throw invalid(`invalid containerPort: ${String(r.containerPort)}`);
    const hostPort = r.hostPort ?? 0;
    if (!Number.isInteger(hostPort) || hostPort < 0 || hostPort > 65535) throw invalid(`invalid hostPort: ${String(r.hostPort)}`);
    const given = r.hostIp ? r.hostIp : undefined;
    const hostIp = hostAddress(given ?? defaultHostIp);
    if (hostIp === undefined) throw invalid(`invalid host IP address: ${given ?? defaultHostIp}`);
    const binding = (ip: string): PortBinding => ({ proto: r.proto, containerPort: r.containerPort, hostIp: ip, hostPort });
    const implicitV6 = given === undefined && hostIp === ANY[4] && ipv6;
    return implicitV6 ? [binding(hostIp), binding(ANY[6])] : [binding(hostIp)];
  });
}

/** Two bindings compete for the same host port: same protocol, port and family, and one address covers the other. */
export function conflicts(a: PortBinding, b: PortBinding): boolean {
  if (a.proto !== b.proto || a.hostPort !== b.hostPort) return false;
  const family = familyOf(a.hostIp);
  if (family !== familyOf(b.hostIp)) return false;
  return a.hostIp === b.hostIp || a.hostIp === ANY[family] || b.hostIp === ANY[family];
}

/** Docker's words, and its way of writing the address (":::8080" for IPv6). */
export function allocatedError(b: PortBinding): BerthError {
  return new BerthError('ALREADY_EXISTS', `Bind for ${b.hostIp}:${b.hostPort} failed: port is already allocated`);
}

/**
 * Binds and releases the port at once: 'ok', 'in-use' (a host process holds it) or another errno
 * code. IPv6 is probed v6-only, as the proxy listens: an IPv4 holder of the port is not a conflict.
 */
export function probeBind(proto: Proto, hostIp: string, port: number): Promise<string> {
  const ipv6Only = familyOf(hostIp) === 6;
  return new Promise((resolve) => {
    if (proto === 'tcp') {
      const srv = createServer();
      srv.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE' ? 'in-use' : (err.code ?? 'error')));
      srv.listen({ host: hostIp, port, exclusive: true, ipv6Only }, () => srv.close(() => resolve('ok')));
    } else {
      const sock = createSocket({ type: ipv6Only ? 'udp6' : 'udp4', ipv6Only });
      sock.once('error', (err: NodeJS.ErrnoException) => {
        sock.close();
        resolve(err.code === 'EADDRINUSE' ? 'in-use' : (err.code ?? 'error'));
      });
      sock.bind({ address: hostIp, port, exclusive: true }, () => sock.close(() => resolve('ok')));
    }
  });
}

/**
 * Whether the host can listen on IPv6 at all: Docker's test (bind [::1]:0), false when the kernel
 * has no IPv6 or it is disabled. Without it no implicit [::] binding is made, quietly, as in Docker.
 */
export async function ipv6Listenable(): Promise<boolean> {
  return (await probeBind('tcp', '::1', 0)) === 'ok';
}

/** The error for a probe result that is neither 'ok' nor 'in-use' (e.g. an address the host does not have). */
export function probeError(b: PortBinding, code: string): BerthError {
  const why = code === 'EADDRNOTAVAIL' ? 'cannot assign requested address' : code;
  return invalid(`cannot publish ${b.hostIp}:${b.hostPort}/${b.proto}: bind: ${why}`);
}

/**
 * Host ports for `wanted` (checked requests of one container, each a group of bindings sharing
 * one host port): an explicit port must be free of `taken` (every container's bindings) and
 * bindable; port 0 takes the next ephemeral port after `cursor` (per protocol and addresses, so a
 * released port is not reused at once) that is free for every binding of the group, so a port and
 * its [::] twin get the same number. A binding the container already has is returned as it is.
 * Returns the answer to the request and the bindings that are new; throws before anything is kept.
 */
export async function chooseBindings(wanted: PortBinding[][], taken: PortBinding[], mine: PortBinding[], cursor: Record<string, number>): Promise<{ result: PortBinding[]; added: PortBinding[] }> {
  const added: PortBinding[] = [];
  const result: PortBinding[] = [];
  for (const group of wanted) {
    if (group[0]!.hostPort === 0) {
      const port = await ephemeralPort(group, [...taken, ...added], cursor);
      for (const b of group) b.hostPort = port;
      added.push(...group);
      result.push(...group.map((b) => ({ ...b })));
      continue;
    }
    for (const b of group) {
      const same = mine.find((x) => x.proto === b.proto && x.containerPort === b.containerPort && x.hostIp === b.hostIp && x.hostPort === b.hostPort);
      if (same) {
        result.push({ ...same });
        continue;
      }
      if ([...taken, ...added].some((x) => conflicts(x, b))) throw allocatedError(b);
      const probe = await probeBind(b.proto, b.hostIp, b.hostPort);
      if (probe === 'in-use') throw allocatedError(b);
      if (probe !== 'ok') throw probeError(b, probe);
      added.push(b);
      result.push({ ...b });
    }
  }
  return { result, added };
}

async function ephemeralPort(group: PortBinding[], taken: PortBinding[], cursor: Record<string, number>): Promise<number> {
  const [lo, hi] = await ephemeralRange();
  const size = hi - lo + 1;
  const proto = group[0]!.proto;
  const addresses = group.map((b) => b.hostIp).join(' and ');
  const key = `${proto}/${addresses}`;
  const start = cursor[key] ?? lo + Math.floor(Math.random() * size);
  const free = async (port: number): Promise<boolean> => {
    for (const b of group) {
      if (taken.some((x) => conflicts(x, { ...b, hostPort: port }))) return false;
      if ((await probeBind(proto, b.hostIp, port)) !== 'ok') return false;
    }
    return true;
  };
  for (let i = 0; i < size; i++) {
    const port = lo + ((((start - lo + i) % size) + size) % size); // the cursor may lie outside a range changed since
    if (!(await free(port))) continue;
    cursor[key] = port + 1;
    return port;
  }
  throw new BerthError('UNAVAILABLE', `no free host port for ${addresses}/${proto} in ${lo}-${hi}`);
}
