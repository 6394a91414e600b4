// IPv6 host addresses, as far as publishing ports needs them (berth has no IPv6 networks):
// recognising one and writing it the way Docker reports it.
import { isIPv6 } from 'node:net';

/**
 * The address in canonical form (RFC 5952: lower case, the longest run of zero groups as "::",
 * as Go prints it), or undefined when `s` is not an IPv6 address; a zone ("%eth0") is refused,
 * as Docker's net.ParseIP refuses it. An IPv4-mapped address (::ffff:a.b.c.d) is returned as the
 * IPv4 address it maps, since Docker treats it as IPv4.
 */
export function canonicalIpv6(s: string): string | undefined {
  if (!isIPv6(s) || s.includes('%')) return undefined;
  // The WHATWG URL parser writes an IPv6 host in exactly that form.
  const text = new URL(`http://[${s}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(text);
  if (!mapped) return text;
  const [hi, lo] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
}
