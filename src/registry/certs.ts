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
