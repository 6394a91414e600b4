// The registry client against Debian's real docker-registry: a busybox image pushed (blobs
// uploaded, then found, then mounted across repositories) and pulled back byte for byte, and the
// errors a user sees for an unknown tag, a cut-short blob and a registry that is not there.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { makeBusyboxRootfs } from '../../helpers/busybox.js';
import { freePort, startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { cleanupDir } from '../../helpers/runtime.js';
import { digestOf } from '../../../src/common/digest.js';
import { MediaType, parseManifest } from '../../../src/image/manifest.js';
import { parseReference } from '../../../src/image/reference.js';
import { RegistryClient } from '../../../src/registry/client.js';

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of source) parts.push(b);
  return Buffer.concat(parts);
}

describe('registry client', () => {
  let registry: TestRegistry;
  const dir = mkdtempSync(join(tmpdir(), 'berth-regtest-'));
  const client = new RegistryClient();
  let layer: Buffer;
  let config: Buffer;
  let manifest: Buffer;

  before(async () => {
    registry = await startRegistry();
    const rootfs = join(dir, 'rootfs');
    makeBusyboxRootfs(rootfs);
    const tar = execFileSync('tar', ['-C', rootfs, '-cf', '-', '.'], { maxBuffer: 1 << 28 });
    layer = gzipSync(tar);
    config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [digestOf(tar)] } }));
    manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: MediaType.dockerManifest,
      config: { mediaType: MediaType.dockerConfig, digest: digestOf(config), size: config.length },
      layers: [{ mediaType: MediaType.dockerLayer, digest: digestOf(layer), size: layer.length }],
    }));
  });
  after(async () => {
    await registry?.stop();
    cleanupDir(dir);
  });

  it('pushes an image, skips what the registry has, and mounts across repositories', async () => {
    const ref = parseReference(`${registry.host}/test/bb:v1`);
    assert.equal(await client.putBlob(ref, digestOf(config), config.length, () => once(config)), 'uploaded');
    assert.equal(await client.putBlob(ref, digestOf(layer), layer.length, () => once(layer)), 'uploaded');
    assert.equal(await client.putManifest(ref, manifest, MediaType.dockerManifest), digestOf(manifest));
    assert.equal(await client.putBlob(ref, digestOf(layer), layer.length, () => once(layer)), 'exists');
    const other = parseReference(`${registry.host}/test/other:v1`);
    assert.equal(await client.putBlob(other, digestOf(layer), layer.length, () => once(layer), 'test/bb'), 'mounted');
  });

  it('pulls it back byte for byte, by tag and by digest', async () => {
    const ref = parseReference(`${registry.host}/test/bb:v1`);
    const byTag = await client.getManifest(ref);
    assert.equal(byTag.digest, digestOf(manifest));
    assert.equal(byTag.mediaType, MediaType.dockerManifest);
    const parsed = parseManifest(byTag.bytes, byTag.mediaType);
    assert.equal(parsed.kind, 'manifest');
    const byDigest = await client.getManifest(parseReference(`${registry.host}/test/bb@${digestOf(manifest)}`));
    assert.ok(byDigest.bytes.equals(manifest));
    const got = await collect(client.getBlob(ref, digestOf(layer), layer.length));
    assert.ok(got.equals(layer));
    assert.ok((await collect(client.getBlob(parseReference(`${registry.host}/test/other:v1`), digestOf(layer)))).equals(layer), 'the mounted blob');
  });

  it('follows a registry\'s redirects for reads (blobs served from elsewhere)', async () => {
    const front = createServer((req, res) => {
      if (req.url === '/v2/') return res.writeHead(200).end('{}');
      res.writeHead(307, { location: `http://${registry.host}${req.url}` }).end();
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    try {
      const ref = parseReference(`127.0.0.1:${(front.address() as { port: number }).port}/test/bb:v1`);
      assert.equal((await client.getManifest(ref)).digest, digestOf(manifest));
      assert.ok((await collect(client.getBlob(ref, digestOf(layer), layer.length))).equals(layer));
    } finally {
      front.close();
    }
  });

  it('says what is wrong: unknown tag, a short blob, no registry', async () => {
    await assert.rejects(client.getManifest(parseReference(`${registry.host}/test/bb:nope`)), /manifest for 127\.0\.0\.1:\d+\/test\/bb:nope not found .*check the name and tag/);
    await assert.rejects(collect(client.getBlob(parseReference(`${registry.host}/test/bb:v1`), digestOf(layer), layer.length + 1)), /was cut short/);
    const down = `127.0.0.1:${await freePort()}`;
    await assert.rejects(client.getManifest(parseReference(`${down}/x:1`)), /ECONNREFUSED/);
  });
});
