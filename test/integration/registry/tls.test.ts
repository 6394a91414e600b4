// The client over TLS against Debian's docker-registry serving a certificate from a CA made here
// with openssl: without the CA the user is told where to put it; with it in certs.d
// (`<certsDir>/127.0.0.1:PORT/ca.crt`) push and pull work; a registry that asks for client
// certificates takes the client.cert/client.key pair from the same directory; and Docker's
// certs.d naming rules hold.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { cleanupDir } from '../../helpers/runtime.js';
import { parseReference } from '../../../src/image/reference.js';
import { loadCerts } from '../../../src/registry/certs.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { makePki, type Pki } from './pki.js';
import { pullAndCheck, push } from './roundtrip.js';

describe('registry over TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-tls-'));
  let pki: Pki;
  let registry: TestRegistry | undefined;
  let mutual: TestRegistry | undefined;

  /** A certs.d with `files` (name → source path) under the host's directory. */
  function certsDir(name: string, host: string, files: Record<string, string>): string {
    const d = join(dir, name);
    mkdirSync(join(d, host), { recursive: true });
    for (const [to, from] of Object.entries(files)) copyFileSync(from, join(d, host, to));
    return d;
  }

  before(async () => {
    mkdirSync(join(dir, 'pki'));
    pki = makePki(join(dir, 'pki'));
    registry = await startRegistry({ tls: { certificate: pki.serverCert, key: pki.serverKey } });
    mutual = await startRegistry({ tls: { certificate: pki.serverCert, key: pki.serverKey, clientCas: [pki.caCert] } });
  });
  after(async () => {
    await registry?.stop();
    await mutual?.stop();
    cleanupDir(dir);
  });

  it('without the CA: names the registry and says where to put the CA or to mark it insecure', async () => {
    const empty = join(dir, 'empty.d');
    const client = new RegistryClient({ certsDir: empty });
    const host = registry!.host;
    await assert.rejects(client.getManifest(parseReference(`${host}/tls/app:1`)), (err: Error) => {
      assert.match(err.message, new RegExp(`^${host}: the registry's TLS certificate is not trusted \\(.+\\): put the CA certificate that signed it at ${empty}/${host}/ca\\.crt, or mark ${host} as an insecure registry$`));
      return true;
    });
  });

  it('with <certsDir>/<host>/ca.crt: pushes and pulls over HTTPS', async () => {
    const host = registry!.host;
    const client = new RegistryClient({ certsDir: certsDir('ca.d', host, { 'ca.crt': pki.caCert }) });
    const image = await push(client, `${host}/tls/app:1`);
    await pullAndCheck(client, `${host}/tls/app:1`, image);
  });

  it('a registry marked insecure is reached without checking its certificate, as Docker does', async () => {
    const host = registry!.host;
    const client = new RegistryClient({ certsDir: join(dir, 'empty.d'), insecure: [host] });
    const image = await push(client, `${host}/tls/insecure:1`);
    await pullAndCheck(client, `${host}/tls/insecure:1`, image);
  });

  it('mutual TLS: refused without a client certificate, served with client.cert and client.key', async () => {
    const host = mutual!.host;
    const onlyCa = certsDir('mutual-ca.d', host, { 'ca.crt': pki.caCert });
    await assert.rejects(new RegistryClient({ certsDir: onlyCa }).getManifest(parseReference(`${host}/tls/app:1`)),
      new RegExp(`: ${host} refused the TLS connection \\(.+\\): if it wants a client certificate, put it and its key at ${onlyCa}/${host}/client\\.cert`));
    const withClient = certsDir('mutual.d', host, { 'ca.crt': pki.caCert, 'client.cert': pki.clientCert, 'client.key': pki.clientKey });
    const client = new RegistryClient({ certsDir: withClient });
    const image = await push(client, `${host}/tls/app:1`);
    await pullAndCheck(client, `${host}/tls/app:1`, image);
  });

  it("follows Docker's certs.d rules: .crt are CAs, a .cert needs its .key and a .key its .cert", () => {
    const host = 'registry.example:5000';
    assert.deepEqual(loadCerts(join(dir, 'none.d'), host), {}, 'no directory: nothing');
    const good = loadCerts(certsDir('rules.d', host, { 'ca.crt': pki.caCert, 'extra.crt': pki.caCert, 'a.cert': pki.clientCert, 'a.key': pki.clientKey }), host);
    assert.equal(good.cert?.length, 1);
    assert.ok(good.ca!.length > 2, "node's own roots stay trusted besides the two CAs");
    const noKey = certsDir('nokey.d', host, { 'client.cert': pki.clientCert });
    assert.throws(() => loadCerts(noKey, host), new RegExp(`missing key client\\.key for client certificate ${noKey}/${host}/client\\.cert: CA certificates must use the extension \\.crt`));
    const noCert = certsDir('nocert.d', host, { 'client.key': pki.clientKey });
    assert.throws(() => loadCerts(noCert, host), /missing client certificate client\.cert for key .*client\.key/);
    const notPem = certsDir('notpem.d', host, {});
    writeFileSync(join(notPem, host, 'ca.crt'), 'not a certificate');
    assert.throws(() => loadCerts(notPem, host), /ca\.crt is not a PEM certificate/);
  });
});
