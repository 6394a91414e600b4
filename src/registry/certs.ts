// Per-registry TLS material the way Docker's certs.d works: `<dir>/<host:port>/*.crt` are CA
// certificates trusted besides the usual ones, and each `<name>.cert` with its `<name>.key` is a
// client certificate. A .cert without its .key (or the reverse) is an error, as in Docker, so a
// misnamed CA (ca.cert) is not silently ignored.
import { readdirSync, readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { errnoOf, invalid } from '../common/errors.js';
import type { TlsOptions } from './http.js';

export const DEFAULT_CERTS_DIR = '/etc/berth/certs.d';

/** The TLS options for `host` ("host:port" as the directory is named); empty when it has no directory. */
export function loadCerts(dir: string, host: string): TlsOptions {
  const hostDir = join(dir, host);
  let names: string[];
  try {
    names = readdirSync(hostDir).sort();
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return {};
    throw invalid(`cannot read the certificates directory ${hostDir}: ${(err as Error).message}`);
  }
  const read = (name: string) => readFileSync(join(hostDir, name));
  const ca: Buffer[] = [];
  const pairs: Array<{ cert: Buffer; key: Buffer }> = [];
  for (const name of names) {
    if (name.endsWith('.crt')) {
      const pem = read(name);
      try {
        new X509Certificate(pem);
      } catch {
        throw invalid(`${join(hostDir, name)} is not a PEM certificate`);
      }
      ca.push(pem);
    } else if (name.endsWith('.cert')) {
      const key = `${name.slice(0, -'.cert'.length)}.key`;
      if (!names.includes(key)) throw invalid(`missing key ${key} for client certificate ${join(hostDir, name)}: CA certificates must use the extension .crt`);
      pairs.push({ cert: read(name), key: read(key) });
    } else if (name.endsWith('.key')) {
      const cert = `${name.slice(0, -'.key'.length)}.cert`;
      if (!names.includes(cert)) throw invalid(`missing client certificate ${cert} for key ${join(hostDir, name)}`);
    }
  }
  const tls: TlsOptions = {};
  // node's `ca` replaces its bundled roots, where Docker adds to the system pool: add them back.
  if (ca.length) tls.ca = [...rootCertificates, ...ca];
  // node presents one client certificate per connection: the first pair by name.
  if (pairs.length) {
    tls.cert = [pairs[0]!.cert];
    tls.key = [pairs[0]!.key];
  }
  return tls;
}

/** TLS files a hosts.toml names for one host (absolute paths), and its skip_verify. */
export interface NamedTlsFiles {
  ca?: string[];
  client?: Array<{ cert: string; key?: string }>;
  skipVerify?: boolean;
}

/**
 * `base` (the host's certs.d material) with what a hosts.toml adds: its CAs are trusted too, its
 * first client certificate is presented instead, and skip_verify decides about verification.
 * `namedIn` ("/etc/berth/certs.d/x/hosts.toml [host."…"]") is for messages.
 */
export function withNamedFiles(base: TlsOptions, files: NamedTlsFiles, namedIn: string): TlsOptions {
  const read = (path: string, key: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw invalid(`cannot read ${path}, named by "${key}" in ${namedIn}: ${(err as Error).message}`);
    }
  };
  const tls: TlsOptions = { ...base };
  if (files.ca?.length) {
    const ca = files.ca.map((path) => {
      const pem = read(path, 'ca');
      try {
        new X509Certificate(pem);
      } catch {
        throw invalid(`${path}, named by "ca" in ${namedIn}, is not a PEM certificate`);
      }
      return pem;
    });
    tls.ca = [...(base.ca ?? rootCertificates), ...ca];
  }
  const pair = files.client?.[0];
  if (pair) {
    const cert = read(pair.cert, 'client');
    // Without a key file, the key is in the certificate's file (PEM blocks side by side).
    const key = pair.key ? read(pair.key, 'client') : cert;
    if (!key.includes('PRIVATE KEY-----')) throw invalid(`no private key for the client certificate ${pair.cert} named by "client" in ${namedIn}: give it as ["cert", "key"]`);
    tls.cert = [cert];
    tls.key = [key];
  }
  if (files.skipVerify !== undefined) tls.rejectUnauthorized = !files.skipVerify;
  return tls;
}

/** Node's codes for a server certificate that does not verify. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_UNTRUSTED', 'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID', 'CERT_SIGNATURE_FAILURE', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** How a TLS failure reads: the server's certificate is not trusted, the server refused ours, or neither. */
export function tlsFailure(err: unknown): 'untrusted' | 'refused' | undefined {
  const code = errnoOf(err) ?? '';
  if (UNTRUSTED.has(code)) return 'untrusted';
  // A TLS alert from the server: it wanted a client certificate it could verify.
  if (/^ERR_SSL_(SSLV3|TLSV1|TLSV13)_ALERT_/.test(code)) return 'refused';
  return undefined;
}
