// The daemon's settings: flags and /etc/berth/daemon.json (Docker's daemon.json keys where they
// mean the same), flags winning. Each path and name is configurable so that several daemons
// (tests, a real Docker) share one machine.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errnoOf, invalid } from '../common/errors.js';

export interface DaemonConfig {
  dataRoot: string;
  execRoot: string;
  /** Listen addresses: unix:///path or tcp://host:port (TCP only with TLS verification). */
  hosts: string[];
  /** The supervisor namespace the engine's objects live in. */
  namespace: string;
  defaultRuntime: string;
  /** Other OCI runtimes by name: runc-compatible binaries. */
  runtimes: Record<string, string>;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  insecureRegistries: string[];
  registryMirrors: string[];
  certsDir: string;
  /** Group owning the API socket (mode 0660), if it exists on the host. */
  group: string;
  tls?: { ca: string; cert: string; key: string };
}

export const DEFAULT_CONFIG_FILE = '/etc/berth/daemon.json';

export function defaultConfig(): DaemonConfig {
  return {
    dataRoot: '/var/lib/berth',
    execRoot: '/run/berth',
    hosts: [],
    namespace: 'moby',
    defaultRuntime: 'berth',
    runtimes: {},
    logLevel: 'info',
    insecureRegistries: [],
    registryMirrors: [],
    certsDir: '/etc/berth/certs.d',
    group: 'berth',
  };
}

/** The socket path of the default unix host. */
export function defaultSocket(c: Pick<DaemonConfig, 'execRoot'>): string {
  return join(c.execRoot, 'berth.sock');
}

interface DaemonJson {
  'data-root'?: string;
  'exec-root'?: string;
  hosts?: string[];
  'default-runtime'?: string;
  runtimes?: Record<string, { path: string }>;
  'log-level'?: DaemonConfig['logLevel'];
  'insecure-registries'?: string[];
  'registry-mirrors'?: string[];
  group?: string;
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
}

/** Reads daemon.json onto `base`; a missing file is no error, a malformed one is. */
export function applyConfigFile(base: DaemonConfig, path: string): DaemonConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return base;
    throw err;
  }
  let j: DaemonJson;
  try {
    j = JSON.parse(text) as DaemonJson;
  } catch (err) {
    throw invalid(`${path}: not valid JSON (${(err as Error).message})`);
  }
  const known = new Set(['data-root', 'exec-root', 'hosts', 'default-runtime', 'runtimes', 'log-level', 'insecure-registries', 'registry-mirrors', 'group', 'tlsverify', 'tlscacert', 'tlscert', 'tlskey']);
  const unknown = Object.keys(j).filter((k) => !known.has(k));
  if (unknown.length) throw invalid(`${path}: unknown keys ${unknown.join(', ')}`);
  return {
    ...base,
    dataRoot: j['data-root'] ?? base.dataRoot,
    execRoot: j['exec-root'] ?? base.execRoot,
    hosts: j.hosts ?? base.hosts,
    defaultRuntime: j['default-runtime'] ?? base.defaultRuntime,
    runtimes: { ...base.runtimes, ...Object.fromEntries(Object.entries(j.runtimes ?? {}).map(([k, v]) => [k, v.path])) },
    logLevel: j['log-level'] ?? base.logLevel,
    insecureRegistries: j['insecure-registries'] ?? base.insecureRegistries,
    registryMirrors: j['registry-mirrors'] ?? base.registryMirrors,
    group: j.group ?? base.group,
    tls: j.tlsverify && j.tlscacert && j.tlscert && j.tlskey ? { ca: j.tlscacert, cert: j.tlscert, key: j.tlskey } : base.tls,
  };
}
