// The files Docker writes for each container and binds into it: /etc/hostname, /etc/hosts and
// /etc/resolv.conf. With the host's network the host's own hosts and resolv.conf are copied; with
// a private network namespace the host's loopback resolvers cannot be reached, so they are
// dropped and Google's public resolvers stand in, as Docker does.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { invalid } from '../../common/errors.js';
import type { ContainerConfig, HostConfig } from './api-types.js';

export interface EtcFiles {
  hostname: string;
  hosts: string;
  resolvConf: string;
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

export function resolvConf(h: HostConfig, hostNetwork: boolean, hostFile = '/etc/resolv.conf'): string {
  const host = readOr(hostFile, '');
  let lines = host.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
  if (!hostNetwork) lines = lines.filter((l) => !/^\s*nameserver\s+(127\.|::1|localhost)/.test(l));
  if (h.Dns?.length) lines = [...lines.filter((l) => !/^\s*nameserver\s/.test(l)), ...h.Dns.map((d) => `nameserver ${d}`)];
  if (!lines.some((l) => /^\s*nameserver\s/.test(l))) lines.push('nameserver 8.8.8.8', 'nameserver 8.8.4.4');
  if (h.DnsSearch?.length) lines = [...lines.filter((l) => !/^\s*(search|domain)\s/.test(l)), `search ${h.DnsSearch.join(' ')}`];
  if (h.DnsOptions?.length) lines = [...lines.filter((l) => !/^\s*options\s/.test(l)), `options ${h.DnsOptions.join(' ')}`];
  return `${lines.join('\n')}\n`;
}

/** Docker's special --add-host address. */
export const HOST_GATEWAY = 'host-gateway';

export function hostsFile(c: ContainerConfig, h: HostConfig, hostNetwork: boolean, addresses: string[] = [], linkLines: readonly string[] = [], hostGateway?: string): string {
  const base = hostNetwork ? readOr('/etc/hosts', '') : [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    '',
  ].join('\n');
  const extra = (h.ExtraHosts ?? []).map((e) => {
    const i = e.indexOf(':');
    let ip = e.slice(i + 1).replace(/^\[(.*)\]$/, '$1'); // "[::1]" is ::1
    if (ip === HOST_GATEWAY) {
      // As Docker: the default bridge's gateway, the host's address on it.
      if (!hostGateway) throw invalid(`unable to derive the IP value for ${HOST_GATEWAY}: the daemon has no default bridge`);
      ip = hostGateway;
    }
    return `${ip}\t${e.slice(0, i)}`;
  });
  const self = hostNetwork ? [] : addresses.map((a) => `${a}\t${c.Hostname}${c.Domainname ? ` ${c.Hostname}.${c.Domainname}` : ''}`);
  return base + [...extra, ...linkLines, ...self].map((l) => `${l}\n`).join('');
}

/** Writes the three files into the container's directory; `linkLines` are its --link entries. */
export function writeEtcFiles(dir: string, c: ContainerConfig, h: HostConfig, o: { addresses?: string[]; resolvConf?: string; linkLines?: readonly string[]; hostGateway?: string } = {}): EtcFiles {
  const hostNetwork = h.NetworkMode === 'host';
  const paths = { hostname: join(dir, 'hostname'), hosts: join(dir, 'hosts'), resolvConf: join(dir, 'resolv.conf') };
  writeFileSync(paths.hostname, `${c.Hostname ?? ''}\n`);
  writeFileSync(paths.hosts, hostsFile(c, h, hostNetwork, o.addresses, o.linkLines, o.hostGateway));
  writeFileSync(paths.resolvConf, o.resolvConf ?? resolvConf(h, hostNetwork));
  return paths;
}
