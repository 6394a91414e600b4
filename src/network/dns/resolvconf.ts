// resolv.conf: reading the host's (the embedded DNS forwards to its nameservers) and writing a
// container's, as Docker writes them.
import { readFileSync, statSync } from 'node:fs';

export interface ResolvConf {
  nameservers: string[];
  search: string[];
  options: string[];
}

export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { nameservers: [], search: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0]) out.nameservers.push(rest[0]);
    else if (key === 'search' || key === 'domain') out.search = rest;
    else if (key === 'options') out.options.push(...rest);
  }
  return out;
}

/** The host's resolv.conf, read again only when the file changes. */
export class HostResolvConf {
  private cached: ResolvConf = { nameservers: [], search: [], options: [] };
  private stamp = '';

  constructor(readonly path = '/etc/resolv.conf') {}

  get(): ResolvConf {
    let stamp: string;
    try {
      const st = statSync(this.path);
      stamp = `${st.ino}:${st.mtimeMs}:${st.size}`;
    } catch {
      return { nameservers: [], search: [], options: [] };
    }
    if (stamp !== this.stamp) {
      try {
        this.cached = parseResolvConf(readFileSync(this.path, 'utf8'));
        this.stamp = stamp;
      } catch {
        // unreadable for now: keep what was read before
      }
    }
    return this.cached;
  }
}

const isLoopback = (ip: string): boolean => ip.startsWith('127.') || ip === '::1';

export interface ContainerDnsOptions {
  /** --dns */
  dns?: string[];
  /** --dns-search */
  dnsSearch?: string[];
  /** --dns-option */
  dnsOptions?: string[];
}

/**
 * A container's /etc/resolv.conf, as Docker makes it. With an embedded DNS server (user-defined
 * networks) it is the only nameserver and `ndots:0` is added; the --dns servers then become its
 * upstreams. Without one (the default bridge), the --dns servers or the host's, minus loopback
 * ones the container cannot reach, or Google's public servers when none is left.
 */
export function containerResolvConf(host: ResolvConf, embedded: string | undefined, o: ContainerDnsOptions = {}): string {
  let servers: string[];
  if (embedded) servers = [embedded];
  else if (o.dns?.length) servers = o.dns;
  else {
    servers = host.nameservers.filter((s) => !isLoopback(s));
    if (servers.length === 0) servers = ['8.8.8.8', '8.8.4.4'];
  }
  const search = o.dnsSearch?.length ? o.dnsSearch : host.search;
  const options = o.dnsOptions?.length ? [...o.dnsOptions] : [...host.options];
  if (embedded && !options.some((x) => x.startsWith('ndots:'))) options.push('ndots:0');
  const lines = servers.map((s) => `nameserver ${s}`);
  if (search.length && !(search.length === 1 && search[0] === '.')) lines.push(`search ${search.join(' ')}`);
  if (options.length) lines.push(`options ${options.join(' ')}`);
  return `${lines.join('\n')}\n`;
}
