// containerd's hosts.toml (its `config_path`, as containerd 1.6 reads it): per registry, the hosts
// to try in order (mirrors, each trusted for some operations only) and then the upstream server,
// each with its own TLS material, extra headers and API root. Files live in the certs.d directory
// beside Docker's certificates: `<certsDir>/<registry>/hosts.toml`, `_default/hosts.toml` for
// registries without a directory of their own.
//
// This file finds and parses them; endpoints.ts turns the result into the hosts requests go to.
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, posix } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { errnoOf, invalid } from '../common/errors.js';

/** What a host may be asked: `resolve` a tag to a digest, `pull` content by digest, `push`. */
export type Capability = 'pull' | 'resolve' | 'push';
export const ALL_CAPABILITIES: readonly Capability[] = ['pull', 'resolve', 'push'];

/** One host of a hosts.toml: a `[host."URL"]` table, or the file's top level (the server). */
export interface HostSettings {
  /**
   * The API root requests are made under ("https://mirror.example/v2"); undefined for a server the
   * file does not name, which is the registry itself (docker.io: https://registry-1.docker.io).
   */
  root?: string;
  /** The root is used as written, without "/v2" added (for a server left unnamed: its bare URL). */
  overridePath: boolean;
  capabilities: Capability[];
  /** CA certificate files (absolute paths), trusted besides the usual ones. */
  ca?: string[];
  /** Client certificates; a pair without a key has the key in the certificate's file. */
  client?: Array<{ cert: string; key?: string }>;
  skipVerify?: boolean;
  /** Extra request headers; a list is sent as repeated header lines. */
  header?: Record<string, string[]>;
  /** containerd 2's `dial_timeout`: how long connecting may take before the next host is tried. */
  dialTimeoutMs?: number;
  /** Where the settings come from in the file, for messages: `[host."https://m.example"]` or "the top level". */
  table: string;
}

export interface HostsFile {
  file: string;
  /** The `[host."URL"]` tables in file order, then the server. */
  hosts: HostSettings[];
}

const TOP = 'the top level';
const HOST_KEYS = new Set(['capabilities', 'ca', 'client', 'skip_verify', 'header', 'override_path', 'dial_timeout']);
// `referrers` (containerd 2) is accepted and has no use in berth.
const KNOWN_CAPABILITIES = new Set([...ALL_CAPABILITIES, 'referrers']);

/**
 * The hosts.toml that applies to `registry` ("host" or "host:port"), as containerd looks for it:
 * the first directory that exists among `host_port_`, `host:port` and `_default`; that directory's
 * hosts.toml, or none (then only Docker's certificate files in it apply).
 */
export function findHostsFile(certsDir: string, registry: string): string | undefined {
  const port = registry.lastIndexOf(':');
  const names = [...(port > 0 ? [`${registry.slice(0, port)}_${registry.slice(port + 1)}_`] : []), registry, '_default'];
  for (const name of names) {
    const dir = join(certsDir, name);
    try {
      statSync(dir);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') continue;
      throw invalid(`cannot read the registry configuration directory ${dir}: ${(err as Error).message}`);
    }
    const file = join(dir, 'hosts.toml');
    try {
      // An empty file counts as none, as in containerd.
      return statSync(file).size > 0 ? file : undefined;
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return undefined;
      throw invalid(`cannot read ${file}: ${(err as Error).message}`);
    }
  }
  return undefined;
}

/** Reads and parses a hosts.toml; a bad file is an INVALID_ARGUMENT error naming the file and key. */
export function readHostsFile(file: string): HostsFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw invalid(`cannot read ${file}: ${(err as Error).message}`);
  }
  return parseHostsFile(text, file);
}

/** Parses hosts.toml text; relative paths in it are relative to the file's directory. */
export function parseHostsFile(text: string, file: string): HostsFile {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (err) {
    const where = err instanceof TomlError ? ` at line ${err.line}, column ${err.column}` : '';
    throw invalid(`${file}: not valid TOML${where}: ${(err as Error).message.split('\n')[0]}`);
  }
  const bad = (table: string, key: string, what: string) => invalid(`${file}: "${key}" in ${table}: ${what}`);
  const top = TOP;
  for (const key of Object.keys(doc)) {
    if (key !== 'server' && key !== 'host' && !HOST_KEYS.has(key)) throw bad(top, key, 'unknown key (known: server, host, capabilities, ca, client, skip_verify, header, override_path, dial_timeout)');
  }
  const hosts: HostSettings[] = [];
  if (doc.host !== undefined) {
    if (!isTable(doc.host)) throw bad(top, 'host', 'must be tables: [host."https://mirror.example"]');
    // smol-toml keeps keys in the order they first appear: the order the hosts are tried.
    for (const [url, settings] of Object.entries(doc.host)) {
      const table = `[host."${url}"]`;
      if (!isTable(settings)) throw bad(top, `host."${url}"`, 'must be a table');
      hosts.push(hostSettings(settings, table, url, file, bad));
    }
  }
  if (doc.server !== undefined && typeof doc.server !== 'string') throw bad(top, 'server', 'must be a string: server = "https://registry.example"');
  const server = hostSettings(doc, top, doc.server || undefined, file, bad);
  // An unnamed server is the registry itself, asked for everything, as containerd does.
  if (!doc.server) server.capabilities = [...ALL_CAPABILITIES];
  hosts.push(server);
  return { file, hosts };
}

type Bad = (table: string, key: string, what: string) => Error;

function hostSettings(t: Record<string, unknown>, table: string, url: string | undefined, file: string, bad: Bad): HostSettings {
  if (table !== TOP) {
    for (const key of Object.keys(t)) if (!HOST_KEYS.has(key)) throw bad(table, key, `unknown key (known: ${[...HOST_KEYS].join(', ')})`);
  }
  const hostDir = dirname(file);
  const path = (p: string) => (isAbsolute(p) ? p : join(hostDir, p));
  if (t.override_path !== undefined && typeof t.override_path !== 'boolean') throw bad(table, 'override_path', 'must be true or false');
  const overridePath = t.override_path === true;
  const s: HostSettings = { overridePath, capabilities: capabilities(t.capabilities, table, bad), table };
  if (url !== undefined) s.root = apiRoot(url, overridePath, () => invalid(`${file}: ${table === TOP ? 'server' : table}: "${url}" is not a URL: write it as "https://host[:port][/path]"`));
  if (t.ca !== undefined) s.ca = stringList(t.ca, () => bad(table, 'ca', 'must be a path or a list of paths')).map(path);
  if (t.client !== undefined) s.client = clientPairs(t.client, () => bad(table, 'client', 'must be a path, a list of paths, or a list of [certificate, key] pairs')).map((c) => (c.key ? { cert: path(c.cert), key: path(c.key) } : { cert: path(c.cert) }));
  if (t.skip_verify !== undefined) {
    if (typeof t.skip_verify !== 'boolean') throw bad(table, 'skip_verify', 'must be true or false');
    s.skipVerify = t.skip_verify;
  }
  if (t.header !== undefined) {
    if (!isTable(t.header)) throw bad(table, 'header', 'must be a table of header names to a string or a list of strings');
    s.header = {};
    for (const [name, value] of Object.entries(t.header)) s.header[name] = stringList(value, () => bad(table, `header.${name}`, 'must be a string or a list of strings'));
  }
  if (t.dial_timeout !== undefined) {
    const ms = typeof t.dial_timeout === 'string' ? durationMs(t.dial_timeout) : undefined;
    if (ms === undefined) throw bad(table, 'dial_timeout', 'must be a duration such as "1s" or "500ms"');
    s.dialTimeoutMs = ms;
  }
  return s;
}

function capabilities(value: unknown, table: string, bad: Bad): Capability[] {
  if (value === undefined) return [...ALL_CAPABILITIES];
  if (!Array.isArray(value) || value.some((c) => typeof c !== 'string')) throw bad(table, 'capabilities', 'must be a list such as ["pull", "resolve"]');
  for (const c of value as string[]) if (!KNOWN_CAPABILITIES.has(c.toLowerCase())) throw bad(table, 'capabilities', `unknown capability "${c}" (known: pull, resolve, push)`);
  const given = new Set((value as string[]).map((c) => c.toLowerCase()));
  // An empty list, as in containerd, means every capability.
  return given.size ? ALL_CAPABILITIES.filter((c) => given.has(c)) : [...ALL_CAPABILITIES];
}

/** "mirror.example" → "https://mirror.example/v2"; the path gets "/v2" unless it ends so or override_path says it is the root. */
export function apiRoot(url: string, overridePath: boolean, bad: () => Error): string {
  let u: URL;
  try {
    u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `https://${url}`);
  } catch {
    throw bad();
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || !u.host) throw bad();
  let path = u.pathname === '/' ? '' : posix.normalize(u.pathname).replace(/\/+$/, '');
  if (!overridePath && !path.endsWith('/v2')) path += '/v2';
  return `${u.protocol}//${u.host}${path}`;
}

function stringList(value: unknown, bad: () => Error): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  throw bad();
}

function clientPairs(value: unknown, bad: () => Error): Array<{ cert: string; key?: string }> {
  if (typeof value === 'string') return [{ cert: value }];
  if (!Array.isArray(value)) throw bad();
  return value.map((v: unknown) => {
    if (typeof v === 'string') return { cert: v };
    if (Array.isArray(v) && v.length === 2 && v.every((p) => typeof p === 'string')) return v[1] ? { cert: v[0] as string, key: v[1] as string } : { cert: v[0] as string };
    throw bad();
  });
}

/** A Go duration ("1s", "1m30s", "500ms") in milliseconds; undefined if it is not one. */
export function durationMs(text: string): number | undefined {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== text) return undefined;
  return parts.reduce((ms, p) => ms + Number(p[1]) * units[p[2]!]!, 0);
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}
