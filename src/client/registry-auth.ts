// The X-Registry-Auth header: base64url of {"username","password","serveraddress"} (or
// {"identitytoken"}) from the user's credentials file, as the docker CLI sends it with pull and
// push. With no credentials Docker sends "{}" encoded, and so does berth. A build sends every
// registry's credentials at once (X-Registry-Config), for the images its FROM lines pull.
import { configCredentials, defaultConfigPath, getCredentials, readDockerConfig, serverKey, type Credentials, type DockerConfig } from './docker-config.js';

export interface AuthConfig {
  username?: string;
  password?: string;
  serveraddress?: string;
  identitytoken?: string;
}

/** Go's base64.URLEncoding (padded) of the JSON of `value`. */
function encodeJson(value: unknown): string {
  const json = JSON.stringify(value);
  return Buffer.from(json).toString('base64url').padEnd(Math.ceil(Buffer.byteLength(json) / 3) * 4, '=');
}

export function encodeAuth(auth: AuthConfig): string {
  return encodeJson(auth);
}

export function authConfigFor(registry: string, creds: Credentials | undefined): AuthConfig {
  if (!creds) return {};
  if (creds.identityToken) return { identitytoken: creds.identityToken, serveraddress: serverKey(registry) };
  return { username: creds.username, password: creds.password, serveraddress: serverKey(registry) };
}

/** The header value for an image on `registry`, from the config file at `configPath`. */
export async function registryAuthHeader(registry: string, configPath = defaultConfigPath()): Promise<string> {
  const creds = await configCredentials(configPath)(registry);
  return encodeAuth(authConfigFor(registry, creds));
}

/**
 * The X-Registry-Config header of a build: {"<config key>": AuthConfig} for every registry the
 * config file (or its credential helpers) has credentials for. As the docker CLI does, a file or
 * helper that cannot be read sends no credentials rather than failing the build.
 */
export async function registryConfigHeader(configPath = defaultConfigPath()): Promise<string> {
  const config = await readDockerConfig(configPath).catch((): DockerConfig => ({}));
  const keys = [...new Set([...Object.keys(config.auths ?? {}), ...Object.keys(config.credHelpers ?? {})])].sort();
  const all: Record<string, AuthConfig> = {};
  for (const key of keys) {
    const creds = await getCredentials(key, configPath).catch(() => undefined);
    if (creds) all[key] = authConfigFor(key, creds);
  }
  return encodeJson(all);
}
