// Network configuration: parsing and validating `.conflist` and `.conf` files, and picking the one
// in use from a conf dir as go-cni does for containerd's CRI: the files ending in .conf, .conflist
// or .json, sorted by name; the first one is the network, and if it is broken the network is not
// ready (go-cni does not skip to the next file either). A `.conf` (or a `.json` without a
// "plugins" array) is a single plugin and becomes a list of one.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, errnoOf } from '../../common/errors.js';
import { CNI_NAME_PATTERN, SUPPORTED_CNI_VERSIONS, type NetworkConfigList, type PluginConf } from './types.js';

export const CONF_EXTENSIONS = ['.conf', '.conflist', '.json'] as const;

/** containerd's built-in loopback network, set up on "lo" before the conf dir's network. */
export const LOOPBACK_NETWORK: NetworkConfigList = Object.freeze({
  cniVersion: '0.3.1',
  name: 'cni-loopback',
  disableCheck: false,
  plugins: [{ type: 'loopback' }],
  source: 'built-in loopback network',
});

const configError = (source: string, what: string): BerthError => new BerthError('FAILED_PRECONDITION', `CNI config ${source}: ${what}`);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkVersion(source: string, field: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') throw configError(source, `${field} is required (a string such as "1.0.0")`);
  if (!(SUPPORTED_CNI_VERSIONS as readonly string[]).includes(v)) {
    throw configError(source, `${field} "${v}" is not supported (supported: ${SUPPORTED_CNI_VERSIONS.join(', ')})`);
  }
  return v;
}

function checkName(source: string, field: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') throw configError(source, `${field} is required (the network's name)`);
  if (!CNI_NAME_PATTERN.test(v)) throw configError(source, `${field} "${v}" has characters other than letters, digits, "_", "." and "-" (or does not start with a letter or digit)`);
  return v;
}

function checkPlugin(source: string, field: string, v: unknown): PluginConf {
  if (!isObject(v)) throw configError(source, `${field} must be an object`);
  const type = v['type'];
  if (typeof type !== 'string' || type === '') throw configError(source, `${field}.type is required (the plugin's name, e.g. "bridge")`);
  if (type.includes('/') || type === '.' || type === '..') throw configError(source, `${field}.type "${type}" must be a plain file name`);
  const caps = v['capabilities'];
  if (caps !== undefined) {
    if (!isObject(caps)) throw configError(source, `${field}.capabilities must be an object of booleans`);
    for (const [k, b] of Object.entries(caps)) {
      if (typeof b !== 'boolean') throw configError(source, `${field}.capabilities.${k} must be true or false`);
    }
  }
  return v as PluginConf;
}

function parseJson(text: string, source: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw configError(source, `invalid JSON: ${(err as Error).message}`);
  }
  if (!isObject(v)) throw configError(source, 'must be a JSON object');
  return v;
}

/** A network configuration list (`.conflist`). */
export function parseConfList(text: string, source: string): NetworkConfigList {
  const raw = parseJson(text, source);
  const cniVersion = checkVersion(source, 'cniVersion', raw['cniVersion']);
  const name = checkName(source, 'name', raw['name']);
  const disableCheck = raw['disableCheck'];
  if (disableCheck !== undefined && typeof disableCheck !== 'boolean') throw configError(source, 'disableCheck must be true or false');
  const plugins = raw['plugins'];
  if (!Array.isArray(plugins)) throw configError(source, 'plugins is required (an array of plugin configurations)');
  if (plugins.length === 0) throw configError(source, 'plugins is empty: a network needs at least one plugin');
  return {
    cniVersion, name, disableCheck: disableCheck === true, source,
    plugins: plugins.map((p, i) => checkPlugin(source, `plugins[${i}]`, p)),
  };
}

/** A single plugin's configuration (`.conf`), as a list of one. */
export function parseConf(text: string, source: string): NetworkConfigList {
  const raw = parseJson(text, source);
  const cniVersion = checkVersion(source, 'cniVersion', raw['cniVersion']);
  const name = checkName(source, 'name', raw['name']);
  return { cniVersion, name, disableCheck: false, source, plugins: [checkPlugin(source, 'the configuration', raw)] };
}

/** Parses a file's text by its name: `.conflist` is a list; `.conf`/`.json` a single plugin unless it holds "plugins". */
export function parseConfFile(text: string, path: string): NetworkConfigList {
  if (path.endsWith('.conflist')) return parseConfList(text, path);
  const raw = parseJson(text, path);
  return Array.isArray(raw['plugins']) && raw['type'] === undefined ? parseConfList(text, path) : parseConf(text, path);
}

/** The configuration files of `confDir`, sorted as libcni sorts them; [] when the directory is missing. */
export async function confFiles(confDir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(confDir, { withFileTypes: true });
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return [];
    throw new BerthError('FAILED_PRECONDITION', `cannot read the CNI conf dir ${confDir}: ${(err as Error).message}`);
  }
  return entries
    .filter((e) => !e.isDirectory() && CONF_EXTENSIONS.some((x) => e.name.endsWith(x)))
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((n) => join(confDir, n));
}

/** Thrown when the conf dir holds no configuration: the CRI's "cni plugin not initialized". */
export class NoNetworkConfigError extends BerthError {
  constructor(confDir: string) {
    super('FAILED_PRECONDITION', `cni plugin not initialized: no network config found in ${confDir}`);
  }
}

/** The network in use: the lexically first configuration file of `confDir`, validated. */
export async function loadNetwork(confDir: string): Promise<NetworkConfigList> {
  const [first] = await confFiles(confDir);
  if (first === undefined) throw new NoNetworkConfigError(confDir);
  let text: string;
  try {
    text = await readFile(first, 'utf8');
  } catch (err) {
    throw configError(first, `cannot be read: ${(err as Error).message}`);
  }
  return parseConfFile(text, first);
}
