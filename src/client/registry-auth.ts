// The X-Registry-Auth header: base64url of {"username","password","serveraddress"} (or
// {"identitytoken"}) from the user's credentials file, as the docker CLI sends it with pull and
// push. With no credentials Docker sends "{}" encoded, and so does berth.
import { configCredentials, defaultConfigPath, serverKey, type Credentials } from './docker-config.js';

export interface AuthConfig {
  username?: string;
  password?: string;
  serveraddress?: string;
  identitytoken?: string;
}

export function encodeAuth(auth: AuthConfig): string {
  return Buffer.from(JSON.stringify(auth)).toString('base64url').padEnd(Math.ceil(Buffer.byteLength(JSON.stringify(auth)) / 3) * 4, '=');
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
