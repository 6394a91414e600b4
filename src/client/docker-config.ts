// Credentials in Docker's config file (~/.docker/config.json), on the CLI's side as in Docker, so
// `docker login` and `berth login` share them: `auths` entries keyed by server
// ("https://index.docker.io/v1/" for Docker Hub, otherwise the host), with `auth` (base64 of
// user:password) or `username`/`password`, and `identitytoken`; `credsStore` and `credHelpers` hand them to a docker-credential-* helper instead. The file is
// rewritten atomically, mode 0600, with the keys berth does not know left as they were.
import { mkdir, open, readFile, realpath, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { errnoOf, invalid } from '../common/errors.js';
import { helperErase, helperGet, helperStore } from './cred-helper.js';

/** A user's credentials for a registry (the registry client takes the same shape). */
export interface Credentials {
  username: string;
  password: string;
  /** An OAuth2 refresh token (Docker's "identitytoken"). */
  identityToken?: string;
}

export const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

export interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  [other: string]: unknown;
}

export interface DockerConfig {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [other: string]: unknown;
}

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, as the docker CLI looks. */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker'), 'config.json');
}

/** The key Docker files a registry's credentials under. */
export function serverKey(registry: string): string {
  return hostOf(registry) === 'docker.io' ? DOCKER_HUB_KEY : registry;
}

/** The registry a key names: "https://host/v1/" is "host"; Docker Hub's aliases are docker.io. */
function hostOf(key: string): string {
  const host = key.replace(/^https?:\/\//, '').split('/')[0]!;
  return ['index.docker.io', 'registry-1.docker.io', 'docker.io'].includes(host) ? 'docker.io' : host;
}

/** The keys of `entries` that name `registry` (an exact key first). */
function keysFor(entries: Record<string, unknown> | undefined, registry: string): string[] {
  const keys = Object.keys(entries ?? {}).filter((k) => hostOf(k) === hostOf(registry));
  return keys.sort((a, b) => Number(b === serverKey(registry)) - Number(a === serverKey(registry)));
}

export async function readDockerConfig(path: string): Promise<DockerConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return {};
    throw invalid(`cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    const config = JSON.parse(text) as unknown;
    if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new Error('not an object');
    return config as DockerConfig;
  } catch (err) {
    throw invalid(`${path} is not a Docker config file (${(err as Error).message}): fix or remove it`);
  }
}

/** Writes the whole file anew beside itself and renames it over the old one. */
async function writeDockerConfig(path: string, config: DockerConfig): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const target = await realpath(path).catch(() => path); // a symlinked config stays a symlink
  const tmp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const file = await open(tmp, 'wx', 0o600);
    try {
      await file.writeFile(`${JSON.stringify(config, null, '\t')}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, target);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** The helper that keeps `registry`'s credentials: its credHelpers entry, else credsStore. */
function helperFor(config: DockerConfig, registry: string): string | undefined {
  const key = keysFor(config.credHelpers, registry)[0];
  return (key ? config.credHelpers![key] : undefined) ?? config.credsStore;
}

function decodeEntry(entry: AuthEntry, key: string, path: string): Credentials | undefined {
  let { username = '', password = '' } = entry;
  if (entry.auth) {
    const text = Buffer.from(entry.auth, 'base64').toString();
    const colon = text.indexOf(':');
    if (colon < 0) throw invalid(`${path}: the "auth" of ${key} is not base64 of user:password: log in again`);
    username = text.slice(0, colon);
    password = text.slice(colon + 1);
  }
  if (!username && !password && !entry.identitytoken) return undefined;
  return { username, password, ...(entry.identitytoken ? { identityToken: entry.identitytoken } : {}) };
}

/** The credentials the config file (or its helper) has for `registry` ("docker.io", "host:port"). */
export async function getCredentials(registry: string, path = defaultConfigPath()): Promise<Credentials | undefined> {
  const config = await readDockerConfig(path);
  const helper = helperFor(config, registry);
  if (helper) return helperGet(helper, serverKey(registry), path);
  const key = keysFor(config.auths, registry)[0];
  return key ? decodeEntry(config.auths![key]!, key, path) : undefined;
}

/** What `docker login` keeps: the credentials in the helper, or base64 in `auths`. */
export async function storeCredentials(registry: string, creds: Credentials, path = defaultConfigPath()): Promise<void> {
  const config = await readDockerConfig(path);
  const helper = helperFor(config, registry);
  const auths = { ...config.auths };
  for (const k of keysFor(auths, registry)) delete auths[k];
  if (helper) {
    await helperStore(helper, serverKey(registry), creds, path);
    auths[serverKey(registry)] = {}; // Docker lists the registry, without secrets, when a helper keeps them
  } else {
    auths[serverKey(registry)] = {
      auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64'),
      ...(creds.identityToken ? { identitytoken: creds.identityToken } : {}),
    };
  }
  await writeDockerConfig(path, { ...config, auths });
}

/** What `docker logout` does; false when there was nothing to remove. */
export async function eraseCredentials(registry: string, path = defaultConfigPath()): Promise<boolean> {
  const config = await readDockerConfig(path);
  const helper = helperFor(config, registry);
  if (helper) await helperErase(helper, serverKey(registry), path);
  const keys = keysFor(config.auths, registry);
  if (keys.length === 0) return helper !== undefined;
  const auths = { ...config.auths };
  for (const k of keys) delete auths[k];
  await writeDockerConfig(path, { ...config, auths });
  return true;
}

/** A `credentials` option for RegistryClient that reads the config file at each lookup. */
export function configCredentials(path = defaultConfigPath()): (registry: string) => Promise<Credentials | undefined> {
  return (registry) => getCredentials(registry, path);
}
