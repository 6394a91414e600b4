// containerd's hosts.toml with Debian's docker-registry as the mirror of a made-up upstream
// (registry.k8s.io, never reached: the tests run offline). Recording proxies in front of the
// registries show which host was asked what: the mirror's ?ns=, tags only from hosts trusted to
// resolve them, fallback past hosts that are down, broken (503) or lack the image (404),
// override_path, extra headers, push hosts, TLS and credentials per host, and bad files.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { cleanupDir } from '../../helpers/runtime.js';
import { digestOf } from '../../../src/common/digest.js';
import { parseReference } from '../../../src/image/reference.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { makePki, type Pki } from './pki.js';
import { startProxy, type ProxyOptions, type RecordingProxy } from './recording-proxy.js';
import { pullAndCheck, push, type SmallImage } from './roundtrip.js';

const PAUSE = 'registry.k8s.io/pause:3.9';
const pullResolve = (url: string, extra = '') => `[host."${url}"]\n  capabilities = ["pull", "resolve"]\n${extra}`;

describe('hosts.toml', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-hosts-toml-'));
  const proxies: RecordingProxy[] = [];
  const registries: TestRegistry[] = [];
  /** Has pause:3.9 (as 127.0.0.1:PORT/pause:3.9). */
  let mirror: TestRegistry;
  /** Has nothing. */
  let empty: TestRegistry;
  /** A registry reached by its own name, for the server's turn. */
  let upstream: TestRegistry;
  let pki: Pki;
  let image: SmallImage;
  /** "127.0.0.1:PORT" with nothing listening. */
  let down = '';
  let n = 0;

  /** A fresh certs.d whose `registry` directory holds `text` as hosts.toml; returns the directory and the file. */
  function certs(registry: string, text: string): { certsDir: string; file: string } {
    const certsDir = join(dir, `certs-${++n}.d`);
    mkdirSync(join(certsDir, registry), { recursive: true });
    writeFileSync(join(certsDir, registry, 'hosts.toml'), text);
    return { certsDir, file: join(certsDir, registry, 'hosts.toml') };
  }
  const client = (registry: string, text: string) => new RegistryClient({ certsDir: certs(registry, text).certsDir });
  const proxy = async (target: string, opts?: ProxyOptions) => {
    const p = await startProxy(target, opts);
    proxies.push(p);
    return p;
  };
  const registry = async (opts?: Parameters<typeof startRegistry>[0]) => {
    const r = await startRegistry(opts);
    registries.push(r);
    return r;
  };

  before(async () => {
    mirror = await registry();
    empty = await registry();
    upstream = await registry();
    down = `127.0.0.1:${await freePort()}`;
    image = await push(new RegistryClient(), `${mirror.host}/pause:3.9`);
    mkdirSync(join(dir, 'pki'));
    pki = makePki(join(dir, 'pki'));
  });
  after(async () => {
    for (const p of proxies) await p.stop();
    for (const r of registries) await r.stop();
    cleanupDir(dir);
  });

  it('pulls registry.k8s.io/pause:3.9 through a mirror that has it, each request with ?ns=registry.k8s.io', async () => {
    const p = await proxy(mirror.host);
    await pullAndCheck(client('registry.k8s.io', pullResolve(p.url)), PAUSE, image);
    assert.ok(p.seen.some((r) => r.url === '/v2/pause/manifests/3.9?ns=registry.k8s.io'), 'the tag from the mirror');
    assert.ok(p.seen.some((r) => r.url === `/v2/pause/blobs/${digestOf(image.layer)}?ns=registry.k8s.io`), 'the layer from the mirror');
    for (const r of p.seen) assert.match(r.url, /^\/v2\/pause\/(manifests|blobs)\/[^?]+\?ns=registry\.k8s\.io$/);
  });

  it('a mirror that is down, answers 503 or lacks the image gives way to the next host, and the last to the server', async () => {
    const broken = await proxy(mirror.host, { status: 503 });
    const lacking = await proxy(empty.host);
    const good = await proxy(mirror.host);
    const toml = [`http://${down}`, broken.url, lacking.url, good.url].map((u) => pullResolve(u)).join('');
    await pullAndCheck(client('registry.k8s.io', toml), PAUSE, image);
    for (const p of [broken, lacking, good]) assert.ok(p.seen.some((r) => r.url === '/v2/pause/manifests/3.9?ns=registry.k8s.io'), 'each host asked in turn');
    assert.ok(lacking.seen.some((r) => r.url.startsWith('/v2/pause/blobs/')), 'blobs too');

    // Only the upstream (the registry the name names, the unnamed server) has this one.
    const only = await push(new RegistryClient(), `${upstream.host}/team/only-upstream:1`);
    await pullAndCheck(client(upstream.host, toml), `${upstream.host}/team/only-upstream:1`, only);
    assert.ok(good.seen.some((r) => r.url === `/v2/team/only-upstream/manifests/1?ns=${encodeURIComponent(upstream.host)}`));
  });

  it('when no host has it, the most telling answer is the error, as in containerd: a 5xx over a 404 over a refused connection', async () => {
    const broken = await proxy(mirror.host, { status: 503 });
    const lacking = await proxy(empty.host);
    const ref = parseReference('registry.k8s.io/pause:nowhere');
    const server = `server = "http://${down}"\n`;
    await assert.rejects(client('registry.k8s.io', server + pullResolve(`http://${down}`) + pullResolve(lacking.url)).getManifest(ref),
      new RegExp(`manifest for registry\\.k8s\\.io/pause:nowhere not found in registry\\.k8s\\.io \\(mirror ${lacking.host}\\)`));
    await assert.rejects(client('registry.k8s.io', server + pullResolve(lacking.url) + pullResolve(broken.url)).getManifest(ref),
      new RegExp(`registry\\.k8s\\.io \\(mirror ${broken.host}\\) answered 503 to manifest`));
    await assert.rejects(client('registry.k8s.io', server).getManifest(ref), /ECONNREFUSED/);
  });

  it('a mirror without "resolve" is asked for content by digest, never for a tag', async () => {
    const pullOnly = await proxy(mirror.host);
    const resolver = await proxy(mirror.host);
    const c = client('registry.k8s.io', `[host."${pullOnly.url}"]\n  capabilities = ["pull"]\n${pullResolve(resolver.url)}`);
    await pullAndCheck(c, PAUSE, image);
    assert.deepEqual(pullOnly.seen.filter((r) => r.url.includes('/manifests/3.9')), [], 'never asked for the tag');
    assert.ok(resolver.seen.some((r) => r.url === '/v2/pause/manifests/3.9?ns=registry.k8s.io'), 'the tag from the host trusted to resolve');
    assert.ok(pullOnly.seen.some((r) => r.url.startsWith('/v2/pause/blobs/')), 'blobs from the first pull host');
    assert.deepEqual(resolver.seen.filter((r) => r.url.includes('/blobs/')), [], 'so none from the second');
    await c.getManifest(parseReference(PAUSE), digestOf(image.manifest));
    assert.ok(pullOnly.seen.some((r) => r.url === `/v2/pause/manifests/${digestOf(image.manifest)}?ns=registry.k8s.io`), 'a manifest by digest from the pull-only host');

    // Only pull-only mirrors and a server that is down: the tag is asked of the server alone.
    const before = pullOnly.seen.length;
    await assert.rejects(client('registry.k8s.io', `server = "http://${down}"\n[host."${pullOnly.url}"]\n  capabilities = ["pull"]\n`).getManifest(parseReference(PAUSE)), /ECONNREFUSED/);
    assert.equal(pullOnly.seen.length, before);
    // Nobody may resolve: said so, with the file.
    const { certsDir, file } = certs('registry.k8s.io', `server = "http://${down}"\ncapabilities = ["pull"]\n`);
    await assert.rejects(new RegistryClient({ certsDir }).getManifest(parseReference(PAUSE)),
      new RegExp(`no host in ${file} may be asked to resolve tags for registry\\.k8s\\.io: give one "resolve" in its capabilities`));
  });

  it('override_path: the host URL’s path is the API root, no /v2 added', async () => {
    const nonCompliant = await proxy(mirror.host, { rewrite: (p) => (p.startsWith('/api/k8s/') ? `/v2/${p.slice('/api/k8s/'.length)}` : undefined) });
    const server = `server = "http://${down}"\n`;
    await pullAndCheck(client('registry.k8s.io', server + pullResolve(`${nonCompliant.url}/api/k8s`, '  override_path = true\n')), PAUSE, image);
    assert.ok(nonCompliant.seen.length > 0);
    for (const r of nonCompliant.seen) assert.match(r.url, /^\/api\/k8s\/pause\/(manifests|blobs)\//);
    // Without it, /v2 is added under the path.
    nonCompliant.seen.length = 0;
    await assert.rejects(client('registry.k8s.io', server + pullResolve(`${nonCompliant.url}/api/k8s`)).getManifest(parseReference(PAUSE)));
    assert.equal(nonCompliant.seen[0]?.url, '/api/k8s/v2/pause/manifests/3.9?ns=registry.k8s.io');
  });

  it('[host."…".header] is sent to that host, on every request, and not to others', async () => {
    const plain = await proxy(empty.host);
    const withHeaders = await proxy(mirror.host);
    const toml = `[host."${plain.url}"]\n  capabilities = ["pull"]\n${pullResolve(withHeaders.url, `  [host."${withHeaders.url}".header]\n    x-mirror-token = "s3cret"\n    x-multi = ["a", "b"]\n`)}`;
    await pullAndCheck(client('registry.k8s.io', toml), PAUSE, image);
    assert.ok(withHeaders.seen.length >= 4 && plain.seen.length >= 2);
    for (const r of withHeaders.seen) {
      assert.deepEqual(r.headers.filter(([k]) => k.startsWith('x-')), [['x-mirror-token', 's3cret'], ['x-multi', 'a'], ['x-multi', 'b']], r.url);
    }
    for (const r of plain.seen) assert.deepEqual(r.headers.filter(([k]) => k.startsWith('x-')), [], r.url);
  });

  it('pushes go to the first host that may push: the server, unless a host is given "push"', async () => {
    const readOnly = await proxy(mirror.host);
    const a = await push(client(upstream.host, pullResolve(readOnly.url)), `${upstream.host}/team/pushed:1`);
    await pullAndCheck(new RegistryClient(), `${upstream.host}/team/pushed:1`, a);
    assert.deepEqual(readOnly.seen, [], 'the read-only mirror is not asked');

    const pushMirror = await proxy(mirror.host);
    const b = await push(client(upstream.host, `[host."${pushMirror.url}"]\n  capabilities = ["pull", "resolve", "push"]\n`), `${upstream.host}/team/pushed:2`);
    await pullAndCheck(new RegistryClient(), `${mirror.host}/team/pushed:2`, b);
    assert.ok(pushMirror.seen.some((r) => r.method === 'PUT' && r.url === `/v2/team/pushed/manifests/2?ns=${encodeURIComponent(upstream.host)}`));
    await assert.rejects(new RegistryClient().getManifest(parseReference(`${upstream.host}/team/pushed:2`)), /not found/);

    const { certsDir, file } = certs(upstream.host, `server = "http://${upstream.host}"\ncapabilities = ["pull", "resolve"]\n`);
    await assert.rejects(push(new RegistryClient({ certsDir }), `${upstream.host}/team/pushed:3`),
      new RegExp(`no host in ${file} may be pushed to for ${upstream.host}: give the server \\(or a host\\) "push" in its capabilities`));
  });

  it('a bad hosts.toml fails the pull with the file and the key; mended, it is read again without a new client', async () => {
    const { certsDir, file } = certs('registry.k8s.io', `[host."${mirror.url}"]\n  capabilities = ["pull", "resovle"]\n`);
    const c = new RegistryClient({ certsDir });
    await assert.rejects(c.getManifest(parseReference(PAUSE)), (err: Error & { code?: string }) => {
      assert.equal(err.message, `${file}: "capabilities" in [host."${mirror.url}"]: unknown capability "resovle" (known: pull, resolve, push)`);
      assert.equal(err.code, 'INVALID_ARGUMENT');
      return true;
    });
    writeFileSync(file, '[host."http://\n');
    await assert.rejects(c.getManifest(parseReference(PAUSE)), (err: Error) => err.message.startsWith(`${file}: not valid TOML at line 1`));
    writeFileSync(file, pullResolve(mirror.url));
    await pullAndCheck(c, PAUSE, image);
  });

  it('TLS per host: the ca a host names (relative to the file), skip_verify, and a message that points at the file', async () => {
    const tlsMirror = await registry({ tls: { certificate: pki.serverCert, key: pki.serverKey } });
    const onTls = await push(new RegistryClient({ insecure: [tlsMirror.host] }), `${tlsMirror.host}/pause:3.9`);
    const server = `server = "http://${down}"\n`;
    const withCa = certs('registry.k8s.io', server + pullResolve(`https://${tlsMirror.host}`, '  ca = "mirror-ca.pem"\n'));
    copyFileSync(pki.caCert, join(withCa.certsDir, 'registry.k8s.io', 'mirror-ca.pem'));
    await pullAndCheck(new RegistryClient({ certsDir: withCa.certsDir }), PAUSE, onTls);
    await pullAndCheck(client('registry.k8s.io', server + pullResolve(`https://${tlsMirror.host}`, '  skip_verify = true\n')), PAUSE, onTls);
    const without = certs('registry.k8s.io', server + pullResolve(`https://${tlsMirror.host}`));
    await assert.rejects(new RegistryClient({ certsDir: without.certsDir }).getManifest(parseReference(PAUSE)),
      (err: Error) => err.message.endsWith(`or name it with "ca" (or set skip_verify) in ${without.file} [host."https://${tlsMirror.host}"]`));
    // Docker's certs.d file of the mirror's own host still applies.
    mkdirSync(join(without.certsDir, tlsMirror.host));
    copyFileSync(pki.caCert, join(without.certsDir, tlsMirror.host, 'ca.crt'));
    await pullAndCheck(new RegistryClient({ certsDir: without.certsDir }), PAUSE, onTls);
  });

  it('credentials per host: a mirror’s challenge is answered with the mirror’s credentials', async () => {
    const htpasswd = join(dir, 'htpasswd');
    const alice = { username: 'alice', password: 'mirror-pass' };
    writeFileSync(htpasswd, execFileSync('htpasswd', ['-Bbn', alice.username, alice.password]));
    const locked = await registry({ htpasswd });
    const onLocked = await push(new RegistryClient({ credentials: () => alice }), `${locked.host}/pause:3.9`);
    const { certsDir } = certs('registry.k8s.io', `server = "http://${down}"\n${pullResolve(locked.url)}`);
    const asked: string[] = [];
    const c = new RegistryClient({ certsDir, credentials: (host) => (asked.push(host), host === locked.host ? alice : undefined) });
    await pullAndCheck(c, PAUSE, onLocked);
    assert.deepEqual([...new Set(asked)], [locked.host]);
    await assert.rejects(new RegistryClient({ certsDir }).getManifest(parseReference(PAUSE)), new RegExp(`no basic auth credentials for ${locked.host}: run login first`));
  });
});
