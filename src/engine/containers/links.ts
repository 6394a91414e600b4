// Docker's legacy links (`--link name:alias`). On the default bridge the linking container gets
// the linked one's address in /etc/hosts (under the alias, its hostname and its name) and
// environment variables naming its address, exposed ports and environment (DB_PORT_5432_TCP=…,
// DB_ENV_…, DB_NAME=/web/db). Docker resolves a link on a user-defined network through its DNS,
// for the linking container only; berth writes the same name into that container's /etc/hosts.
import { invalid } from '../../common/errors.js';
import type { HostConfig } from './api-types.js';
import type { ContainerRecord } from './record.js';
import { StartRefused } from './start-errors.js';

export interface Link {
  /** The linked container's name, with its "/". */
  target: string;
  /** The name the linking container knows it by. */
  alias: string;
}

const DEFAULT_BRIDGE = 'bridge';

/** "name:alias", "name", or Docker's stored form "/name:/linking/alias". */
export function parseLink(spec: string): Link {
  const [name = '', alias] = spec.split(':');
  const target = `/${name.replace(/^\/+/, '')}`;
  const shortAlias = (alias ?? name).split('/').filter(Boolean).at(-1) ?? '';
  if (target === '/' || !shortAlias) throw invalid(`invalid link format: "${spec}"`);
  return { target, alias: shortAlias };
}

/**
 * At create: every link names an existing container and the container has its own network.
 * Returns the links in Docker's stored form, "/target:/name/alias".
 */
export function checkLinks(h: HostConfig, name: string, find: (ref: string) => ContainerRecord | undefined): string[] | null {
  if (!h.Links?.length) return h.Links ?? null;
  if (h.NetworkMode === 'host') throw invalid("conflicting options: host type networking can't be used with links. This would result in undefined behavior");
  return h.Links.map((spec) => {
    const link = parseLink(spec);
    const target = find(link.target.slice(1));
    if (!target) throw invalid(`could not get container for ${link.target.slice(1)}: No such container: ${link.target.slice(1)}`);
    if (target.HostConfig.NetworkMode === 'host') throw invalid("conflicting options: host type networking can't be used with links. This would result in undefined behavior");
    return `${target.Name}:${name}/${link.alias}`;
  });
}

/** What a start adds for the container's links: lines for /etc/hosts and environment entries. */
export function linkSettings(c: ContainerRecord, find: (ref: string) => ContainerRecord | undefined): { hosts: string[]; env: string[] } {
  const hosts: string[] = [];
  const env: string[] = [];
  const onDefaultBridge = DEFAULT_BRIDGE in c.Networks;
  for (const spec of c.HostConfig.Links ?? []) {
    const link = parseLink(spec);
    const target = find(link.target.slice(1));
    if (!target?.State.Running) throw new StartRefused(`Cannot link to a non running container: ${link.target} AS ${c.Name}/${link.alias}`);
    const network = onDefaultBridge ? DEFAULT_BRIDGE : Object.keys(c.Networks).find((n) => n in target.Networks);
    const address = network ? target.Networks[network]?.IPAddress : undefined;
    if (!address) continue; // not on a network this container is on: nothing to reach it by
    const names = [link.alias, target.Config.Hostname, target.Name.slice(1)].filter((n, i, all): n is string => !!n && all.indexOf(n) === i);
    hosts.push(`${address}\t${names.join(' ')}`);
    if (onDefaultBridge) env.push(...linkEnv(link.alias, `${c.Name}/${link.alias}`, address, target));
  }
  return { hosts, env };
}

/** Docker's Link.ToEnv: the linked container's ports (lowest first) and environment, under its alias. */
function linkEnv(alias: string, fullName: string, address: string, target: ContainerRecord): string[] {
  const prefix = alias.toUpperCase().replace(/-/g, '_');
  const ports = Object.keys(target.Config.ExposedPorts ?? {}).map((p) => {
    const [port = '', proto = 'tcp'] = p.split('/');
    return { port: Number(port), proto };
  }).filter((p) => p.port > 0).sort((a, b) => a.port - b.port || a.proto.localeCompare(b.proto));
  const env: string[] = [];
  if (ports[0]) env.push(`${prefix}_PORT=${ports[0].proto}://${address}:${ports[0].port}`);
  for (const { port, proto } of ports) {
    const key = `${prefix}_PORT_${port}_${proto.toUpperCase()}`;
    env.push(`${key}=${proto}://${address}:${port}`, `${key}_ADDR=${address}`, `${key}_PORT=${port}`, `${key}_PROTO=${proto}`);
  }
  env.push(`${prefix}_NAME=${fullName}`);
  for (const e of target.Config.Env ?? []) {
    const eq = e.indexOf('=');
    if (eq < 0) continue;
    const key = e.slice(0, eq);
    if (key === 'HOME' || key === 'PATH') continue; // set by every image: not the linked one's own
    env.push(`${prefix}_ENV_${key}=${e.slice(eq + 1)}`);
  }
  return env;
}
