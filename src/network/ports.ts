// Published ports: checking requests, telling conflicts apart, probing whether a host process holds
// a port (by binding it for a moment), and the ephemeral range. The forwarding itself is DNAT in
// nftables.ts; no proxy process or socket is kept per port.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { readFile } from 'node:fs/promises';
import { BerthError, invalid } from '../common/errors.js';
import { parseIp } from './ipv4.js';
import type { PortBinding, PortRequest, Proto } from './types.js';

/** Docker's portallocator default when the kernel's range cannot be read. */
const FALLBACK_RANGE: [number, number] = [32768, 60999];

export async function ephemeralRange(): Promise<[number, number]> {
  try {
    const [lo, hi] = (await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')).trim().split(/\s+/).map(Number);
    if (lo && hi && lo <= hi) return [lo, hi];
  } catch {
    // not Linux, or /proc not mounted: Docker's default
  }
  return FALLBACK_RANGE;
}

/** Checks requests and fills the host address; hostPort 0 still means "pick one". */
export function normalizeRequests(reqs: PortRequest[], defaultHostIp: string): PortBinding[] {
  return reqs.map((r) => {
    if (r.proto !== 'tcp' && r.proto !== 'udp') throw invalid(`invalid proto ${JSON.stringify(r.proto)}: use tcp or udp`);
    if (!Number.isInteger(r.containerPort) || r.containerPort < 1 || r.containerPort > 65535) throw invalid(`invalid containerPort: ${String(r.containerPort)}`);
    const hostPort = r.hostPort ?? 0;
    if (!Number.isInteger(hostPort) || hostPort < 0 || hostPort > 65535) throw invalid(`invalid hostPort: ${String(r.hostPort)}`);
    const hostIp = r.hostIp ? r.hostIp : defaultHostIp;
    if (parseIp(hostIp) === undefined) {
      if (hostIp.includes(':')) throw new BerthError('NOT_IMPLEMENTED', `publishing on IPv6 address ${hostIp} is not supported yet`);
      throw invalid(`invalid host IP address: ${hostIp}`);
    }
    return { proto: r.proto, containerPort: r.containerPort, hostIp, hostPort };
  });
}

/** Two bindings compete for the same host port: same protocol and port, and one address covers the other. */
export function conflicts(a: PortBinding, b: PortBinding): boolean {
  return a.proto === b.proto && a.hostPort === b.hostPort && (a.hostIp === b.hostIp || a.hostIp === '0.0.0.0' || b.hostIp === '0.0.0.0');
}

export function allocatedError(b: PortBinding): BerthError {
  return new BerthError('ALREADY_EXISTS', `Bind for ${b.hostIp}:${b.hostPort} failed: port is already allocated`);
}

/** Binds and releases the port at once: 'ok', 'in-use' (a host process holds it) or another errno code. */
export function probeBind(proto: Proto, hostIp: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    if (proto === 'tcp') {
      const srv = createServer();
      srv.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE' ? 'in-use' : (err.code ?? 'error')));
      srv.listen({ host: hostIp, port, exclusive: true }, () => srv.close(() => resolve('ok')));
    } else {
      const sock = createSocket('udp4');
      sock.once('error', (err: NodeJS.ErrnoException) => {
        sock.close();
        resolve(err.code === 'EADDRINUSE' ? 'in-use' : (err.code ?? 'error'));
      });
      sock.bind({ address: hostIp, port, exclusive: true }, () => sock.close(() => resolve('ok')));
    }
  });
}

/** The error for a probe result that is neither 'ok' nor 'in-use' (e.g. an address the host does not have). */
export function probeError(b: PortBinding, code: string): BerthError {
  const why = code === 'EADDRNOTAVAIL' ? 'cannot assign requested address' : code;
  return invalid(`cannot publish ${b.hostIp}:${b.hostPort}/${b.proto}: bind: ${why}`);
}

/**
 * Host ports for `wanted` (checked requests of one container): an explicit port must be free of
 * `taken` (every container's bindings) and bindable; port 0 takes the next free ephemeral port
 * after `cursor` (per protocol and address, so a released port is not reused at once). A binding
 * the container already has is returned as it is. Returns the answer to the request and the
 * bindings that are new; throws before anything is kept.
 */
export async function chooseBindings(wanted: PortBinding[], taken: PortBinding[], mine: PortBinding[], cursor: Record<string, number>): Promise<{ result: PortBinding[]; added: PortBinding[] }> {
  const added: PortBinding[] = [];
  const result: PortBinding[] = [];
  for (const b of wanted) {
    if (b.hostPort !== 0) {
      const same = mine.find((x) => x.proto === b.proto && x.containerPort === b.containerPort && x.hostIp === b.hostIp && x.hostPort === b.hostPort);
      if (same) {
        result.push({ ...same });
        continue;
      }
      if ([...taken, ...added].some((x) => conflicts(x, b))) throw allocatedError(b);
      const probe = await probeBind(b.proto, b.hostIp, b.hostPort);
      if (probe === 'in-use') throw allocatedError(b);
      if (probe !== 'ok') throw probeError(b, probe);
    } else {
      b.hostPort = await ephemeralPort(b, [...taken, ...added], cursor);
    }
    added.push(b);
    result.push({ ...b });
  }
  return { result, added };
}

async function ephemeralPort(b: PortBinding, taken: PortBinding[], cursor: Record<string, number>): Promise<number> {
  const [lo, hi] = await ephemeralRange();
  const size = hi - lo + 1;
  const key = `${b.proto}/${b.hostIp}`;
  const start = cursor[key] ?? lo + Math.floor(Math.random() * size);
  for (let i = 0; i < size; i++) {
    const port = lo + ((start - lo + i) % size);
    if (taken.some((x) => conflicts(x, { ...b, hostPort: port }))) continue;
    if ((await probeBind(b.proto, b.hostIp, port)) !== 'ok') continue;
    cursor[key] = port + 1;
    return port;
  }
  throw new BerthError('UNAVAILABLE', `no free host port for ${b.hostIp}/${b.proto} in ${lo}-${hi}`);
}
