// IPv4 addresses and prefixes as plain numbers: parsing, formatting, containment and overlap,
// and the MAC address Docker derives from an endpoint's address.

/** An IPv4 prefix: `base` is the network address (host bits zero), `bits` the prefix length. */
export interface Prefix {
  base: number;
  bits: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** The address as an unsigned 32-bit number, or undefined when `s` is not a dotted quad. */
export function parseIp(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function maskOf(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** `a.b.c.d/n` with host bits possibly set: the address and the length (undefined when malformed). */
export function parseCidr(s: string): { ip: number; bits: number } | undefined {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  if (!m) return undefined;
  const ip = parseIp(m[1]!);
  const bits = Number(m[2]);
  if (ip === undefined || bits > 32) return undefined;
  return { ip, bits };
}

export function prefixOf(ip: number, bits: number): Prefix {
  return { base: (ip & maskOf(bits)) >>> 0, bits };
}

/** The prefix a CIDR lies in, host bits cleared ("10.0.0.5/24" → 10.0.0.0/24; "10.0.0.5" is a /32). */
export function enclosingPrefix(s: string): Prefix | undefined {
  const c = parseCidr(s.includes('/') ? s : `${s}/32`);
  return c && prefixOf(c.ip, c.bits);
}

export function formatPrefix(p: Prefix): string {
  return `${formatIp(p.base)}/${p.bits}`;
}

/** A well-formed prefix whose host bits are zero, or undefined. */
export function parsePrefix(s: string): Prefix | undefined {
  const c = parseCidr(s);
  if (!c) return undefined;
  const p = prefixOf(c.ip, c.bits);
  return p.base === c.ip ? p : undefined;
}

export function lastOf(p: Prefix): number {
  return (p.base | ~maskOf(p.bits)) >>> 0;
}

export function contains(p: Prefix, ip: number): boolean {
  return ((ip & maskOf(p.bits)) >>> 0) === p.base;
}

export function overlaps(a: Prefix, b: Prefix): boolean {
  const bits = Math.min(a.bits, b.bits);
  return prefixOf(a.base, bits).base === prefixOf(b.base, bits).base;
}

/** True when `inner` lies entirely inside `outer`. */
export function within(inner: Prefix, outer: Prefix): boolean {
  return inner.bits >= outer.bits && contains(outer, inner.base);
}

/** Docker's MAC for an address: 02:42 followed by the four octets (172.17.0.2 → 02:42:ac:11:00:02). */
export function macForIp(ip: number): string {
  const o = [ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255];
  return ['02', '42', ...o.map((x) => x.toString(16).padStart(2, '0'))].join(':');
}

export function isMac(s: string): boolean {
  return /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(s);
}

/** RFC 1918 ranges: where a free subnet for the default bridge may be picked. */
export const PRIVATE_RANGES: Prefix[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map((s) => parsePrefix(s)!);
