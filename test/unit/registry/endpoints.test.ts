// The ordered list of hosts the registry client asks (Endpoints.forRegistry): from a hosts.toml
// (mirrors, then the server; capabilities, API roots, ?ns=, headers, TLS material) or, without
// one, Docker's mirrors and the registry. No request is made: only names outside loopback.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Endpoints, type Endpoint } from '../../../src/registry/endpoints.js';
import { cleanupDir } from '../../helpers/runtime.js';
import { makePki, type Pki } from '../../integration/registry/pki.js';

/** What a test compares of an endpoint. */
async function summary(e: Endpoint): Promise<{ root: string; caps: string[]; ns?: string; creds: string }> {
  return { root: await e.root(), caps: [...e.capabilities], ...(e.namespace ? { ns: e.namespace } : {}), creds: e.credentialsFor };
}

describe('registry endpoints', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-endpoints-'));
  const certsDir = join(dir, 'certs.d');
  let pki: Pki;
  const hostsToml = (registry: string, text: string) => {
    mkdirSync(join(certsDir, registry), { recursive: true });
    writeFileSync(join(certsDir, registry, 'hosts.toml'), text);
    return join(certsDir, registry, 'hosts.toml');
  };

  before(() => {
    mkdirSync(join(dir, 'pki'));
    pki = makePki(join(dir, 'pki'));
  });
  after(() => cleanupDir(dir));

  it('without a hosts.toml: Docker mirrors for reads, then the registry for everything', async () => {
    const e = new Endpoints({ certsDir, mirrors: { 'docker.io': ['https://mirror.example/'] } });
    const { hosts, file } = e.forRegistry('docker.io');
    assert.equal(file, undefined);
    assert.deepEqual(await Promise.all(hosts.map(summary)), [
      { root: 'https://mirror.example/v2', caps: ['pull', 'resolve'], creds: 'mirror.example' },
      { root: 'https://registry-1.docker.io/v2', caps: ['pull', 'resolve', 'push'], creds: 'docker.io' },
    ]);
    assert.deepEqual(await Promise.all(e.forRegistry('quay.example').hosts.map(summary)), [{ root: 'https://quay.example/v2', caps: ['pull', 'resolve', 'push'], creds: 'quay.example' }]);
  });

  it('with a hosts.toml: its hosts in order with ?ns=, then the server; Docker mirrors are not used', async () => {
    const file = hostsToml('docker.io', `
[host."https://public-mirror.example"]
  capabilities = ["pull"]
[host."http://127.0.0.1:5000"]
  capabilities = ["pull", "resolve"]
[host."https://non-compliant.example/v2/dockerhub"]
  capabilities = ["pull"]
  override_path = true
  [host."https://non-compliant.example/v2/dockerhub".header]
    x-mirror-token = ["a", "b"]
`);
    const e = new Endpoints({ certsDir, mirrors: { 'docker.io': ['https://docker-mirror.example'] } });
    const { hosts, file: from } = e.forRegistry('docker.io');
    assert.equal(from, file);
    assert.deepEqual(await Promise.all(hosts.map(summary)), [
      { root: 'https://public-mirror.example/v2', caps: ['pull'], ns: 'docker.io', creds: 'public-mirror.example' },
      { root: 'http://127.0.0.1:5000/v2', caps: ['pull', 'resolve'], ns: 'docker.io', creds: '127.0.0.1:5000' },
      { root: 'https://non-compliant.example/v2/dockerhub', caps: ['pull'], ns: 'docker.io', creds: 'non-compliant.example' },
      { root: 'https://registry-1.docker.io/v2', caps: ['pull', 'resolve', 'push'], creds: 'docker.io' },
    ]);
    assert.deepEqual(hosts[2]!.header, { 'x-mirror-token': ['a', 'b'] });
    assert.equal(hosts[0]!.configuredIn, `${file} [host."https://public-mirror.example"]`);
  });

  it('a named server is asked with ?ns= unless it is the registry; an unnamed one with override_path is its bare URL', async () => {
    hostsToml('registry.k8s.io', 'server = "https://k8s-mirror.example/k8s"\ncapabilities = ["pull", "resolve"]\n');
    const e = new Endpoints({ certsDir });
    assert.deepEqual(await Promise.all(e.forRegistry('registry.k8s.io').hosts.map(summary)), [
      { root: 'https://k8s-mirror.example/k8s/v2', caps: ['pull', 'resolve'], ns: 'registry.k8s.io', creds: 'k8s-mirror.example' },
    ]);
    hostsToml('own.example', 'server = "https://own.example"\n');
    assert.deepEqual(await Promise.all(e.forRegistry('own.example').hosts.map(summary)), [{ root: 'https://own.example/v2', caps: ['pull', 'resolve', 'push'], creds: 'own.example' }]);
    hostsToml('bare.example', 'override_path = true\n');
    assert.equal(await e.forRegistry('bare.example').hosts[0]!.root(), 'https://bare.example');
  });

  it('_default applies to registries without a directory, with ?ns= naming the registry', async () => {
    const d = join(dir, 'default.d');
    mkdirSync(join(d, '_default'), { recursive: true });
    writeFileSync(join(d, '_default', 'hosts.toml'), '[host."https://everything.example"]\n  capabilities = ["pull", "resolve"]\n');
    const e = new Endpoints({ certsDir: d });
    assert.deepEqual(await Promise.all(e.forRegistry('ghcr.example:8443').hosts.map(summary)), [
      { root: 'https://everything.example/v2', caps: ['pull', 'resolve'], ns: 'ghcr.example:8443', creds: 'everything.example' },
      { root: 'https://ghcr.example:8443/v2', caps: ['pull', 'resolve', 'push'], creds: 'ghcr.example:8443' },
    ]);
  });

  it('TLS: the hosts.toml ca, client and skip_verify on top of the host’s certs.d files', () => {
    const registry = 'tls.example';
    mkdirSync(join(certsDir, registry), { recursive: true });
    copyFileSync(pki.clientCert, join(certsDir, registry, 'client.pem'));
    writeFileSync(join(certsDir, registry, 'client.pem'), Buffer.concat([readFileSync(pki.clientCert), readFileSync(pki.clientKey)]));
    // The mirror's own certs.d directory, as Docker has it.
    mkdirSync(join(certsDir, 'mirror-b.example'), { recursive: true });
    copyFileSync(pki.caCert, join(certsDir, 'mirror-b.example', 'ca.crt'));
    hostsToml(registry, `
[host."https://mirror-a.example"]
  ca = "${pki.caCert}"
  client = [["${pki.clientCert}", "${pki.clientKey}"]]
[host."https://mirror-b.example"]
  skip_verify = true
[host."https://mirror-c.example"]
  client = "client.pem"
`);
    const [a, b, c, server] = new Endpoints({ certsDir }).forRegistry(registry).hosts;
    const ca = readFileSync(pki.caCert);
    assert.ok(a!.tls?.ca?.some((x) => Buffer.isBuffer(x) && x.equals(ca)), 'the named CA is trusted');
    assert.ok((a!.tls?.ca?.length ?? 0) > 1, 'besides the usual roots');
    assert.ok(a!.tls?.cert?.[0]?.equals(readFileSync(pki.clientCert)));
    assert.ok(a!.tls?.key?.[0]?.equals(readFileSync(pki.clientKey)));
    assert.equal(a!.tls?.rejectUnauthorized, undefined);
    assert.ok(b!.tls?.ca?.some((x) => Buffer.isBuffer(x) && x.equals(ca)), 'certs.d/mirror-b.example/ca.crt still applies');
    assert.equal(b!.tls?.rejectUnauthorized, false);
    assert.ok(c!.tls?.key?.[0]?.toString().includes('PRIVATE KEY'), 'the key from the certificate’s file');
    assert.deepEqual(server!.tls, {});
  });

  it('bad TLS files are errors naming the file, the table and the key', () => {
    hostsToml('badca.example', '[host."https://m.example"]\n  ca = "missing.pem"\n');
    assert.throws(() => new Endpoints({ certsDir }).forRegistry('badca.example'), new RegExp(`cannot read ${certsDir}/badca\\.example/missing\\.pem, named by "ca" in ${certsDir}/badca\\.example/hosts\\.toml \\[host\\."https://m\\.example"\\]: ENOENT`));
    hostsToml('badclient.example', `[host."https://m.example"]\n  client = "${pki.clientCert}"\n`);
    assert.throws(() => new Endpoints({ certsDir }).forRegistry('badclient.example'), /no private key for the client certificate .*client\.crt named by "client" in .*hosts\.toml \[host\."https:\/\/m\.example"\]: give it as \["cert", "key"\]/);
  });

  it('a changed file is read again; a bad one fails each lookup, not the constructor, until mended', async () => {
    const file = hostsToml('changing.example', '[host."https://one.example"]\n');
    const e = new Endpoints({ certsDir });
    assert.equal(await e.forRegistry('changing.example').hosts[0]!.root(), 'https://one.example/v2');
    writeFileSync(file, '[host."https://two.example"]\n  capabilities = ["pul"]\n');
    assert.throws(() => e.forRegistry('changing.example'), new RegExp(`${file}: "capabilities" in \\[host\\."https://two\\.example"\\]: unknown capability "pul"`));
    assert.throws(() => e.forRegistry('changing.example'), /unknown capability/);
    writeFileSync(file, '[host."https://two.example"]\n  capabilities = ["pull"]\n');
    assert.equal(await e.forRegistry('changing.example').hosts[0]!.root(), 'https://two.example/v2');
  });
});
