// Certificates made at test time with the openssl CLI: a CA, a server certificate for 127.0.0.1
// (an IP SAN, as Go's TLS wants), a client certificate, and a self-signed key pair for signing
// tokens. EC P-256 keys, which openssl makes in milliseconds.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function newKey(path: string): void {
  openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path);
}

/** A certificate for `key` signed by the CA in `dir`, with the extensions given. */
function issue(dir: string, name: string, subject: string, extensions: string[]): void {
  newKey(join(dir, `${name}.key`));
  openssl('req', '-new', '-key', join(dir, `${name}.key`), '-subj', subject, '-out', join(dir, `${name}.csr`));
  writeFileSync(join(dir, `${name}.ext`), `${extensions.join('\n')}\n`);
  openssl('x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial',
    '-days', '2', '-extfile', join(dir, `${name}.ext`), '-out', join(dir, `${name}.crt`));
}

/** A CA named `cn` and, signed by it, a server certificate for 127.0.0.1 and a client certificate. */
export function makePki(dir: string, cn = 'berth test CA'): Pki {
  newKey(join(dir, 'ca.key'));
  openssl('req', '-x509', '-new', '-key', join(dir, 'ca.key'), '-subj', `/CN=${cn}`, '-days', '2',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', join(dir, 'ca.crt'));
  issue(dir, 'server', '/CN=127.0.0.1', ['subjectAltName=IP:127.0.0.1', 'extendedKeyUsage=serverAuth']);
  issue(dir, 'client', '/CN=berth test client', ['extendedKeyUsage=clientAuth']);
  return {
    caCert: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'), serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.crt'), clientKey: join(dir, 'client.key'),
  };
}

/** A self-signed certificate and its key, for signing tokens the registry trusts. */
export function makeSigningCert(dir: string): { cert: string; key: string } {
  const key = join(dir, 'token.key');
  const cert = join(dir, 'token.crt');
  newKey(key);
  openssl('req', '-x509', '-new', '-key', key, '-subj', '/CN=berth test token issuer', '-days', '2', '-out', cert);
  return { cert, key };
}
