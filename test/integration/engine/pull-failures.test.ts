// Pulls that fail: a registry stand-in (a small HTTP server: the failures are ones a real registry
// will not produce on demand) serves a blob with the wrong bytes, a download cut short, a layer
// that is not what the config's diff ID says, an unknown media type, an index for another
// platform only, 401/404/500 answers, and nothing at all. Each gives an error naming the image and
// what to do, records no image, and leaves nothing once GC ran.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { makeImageService } from '../../helpers/images.js';
import { freePort } from '../../helpers/registry.js';
import { cleanupDir } from '../../helpers/runtime.js';
import { digestOf } from '../../../src/common/digest.js';
import { MediaType } from '../../../src/image/manifest.js';
import { tarEntry, TAR_END } from '../../../src/image/tar-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-pullfail-'));

describe('pull failures', () => {
  let server: Server;
  let host = '';
  const svc = makeImageService(join(dir, 'stores'));
  const layerTar = Buffer.concat([tarEntry({ name: 'file', type: 'file' }, randomBytes(300_000)), TAR_END]);
  const layer = gzipSync(layerTar);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf(layerTar)] } }));
  // A config whose diff ID is not the layer's: the blob is right, what it unpacks to is not.
  const wrongDiffId = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf('another layer')] } }));
  const manifest = (layerType: string = MediaType.ociLayerGzip, cfg = config) => Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: digestOf(cfg), size: cfg.length },
    layers: [{ mediaType: layerType, digest: digestOf(layer), size: layer.length }],
  }));
  const armOnly = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ mediaType: MediaType.ociManifest, digest: digestOf(manifest()), size: manifest().length, platform: { os: 'linux', architecture: 'arm64' } }] }));

  before(async () => {
    server = createServer((req, res) => {
      const [, name, kind] = /^\/v2\/([^/]+)\/(manifests|blobs)\//.exec(req.url!) ?? [];
      if (req.url === '/v2/') return res.writeHead(200).end('{}');
      if (name === 'denied') return res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end();
      if (name === 'broken') return res.writeHead(500).end('{"errors":[{"code":"UNKNOWN","message":"disk on fire"}]}');
      if (req.url!.includes('/manifests/')) {
        const body = name === 'mediatype' ? manifest('application/x-unknown-layer') : name === 'arm' ? armOnly : name === 'diffid' ? manifest(MediaType.ociLayerGzip, wrongDiffId) : manifest();
        return res.writeHead(200, { 'content-type': name === 'arm' ? MediaType.ociIndex : MediaType.ociManifest }).end(body);
      }
      if (req.url!.includes(digestOf(config))) return res.writeHead(200).end(config);
      if (req.url!.includes(digestOf(wrongDiffId))) return res.writeHead(200).end(wrongDiffId);
      if (name === 'wrongbytes') return res.writeHead(200).end(Buffer.alloc(layer.length, 1));
      if (name === 'truncated') {
        res.writeHead(200, { 'content-length': layer.length });
        res.write(layer.subarray(0, 1000));
        return setTimeout(() => res.destroy(), 20);
      }
      if ((name === 'ok' || name === 'diffid') && kind === 'blobs') return res.writeHead(200).end(layer);
      res.writeHead(404).end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => {
    server?.close();
    cleanupDir(dir);
  });

  const cases: Array<[string, RegExp]> = [
    ['wrongbytes', /blob sha256:[0-9a-f]{64} of 127\.0\.0\.1:\d+\/wrongbytes:1: .* sent content with digest sha256:/],
    ['truncated', /blob sha256:[0-9a-f]{64} of 127\.0\.0\.1:\d+\/truncated:1: got 1000 bytes, want \d+: the download was cut short|the download broke off after 1000 of \d+ bytes \(aborted\): pull again/],
    ['diffid', /layer content has diff ID sha256:[0-9a-f]{64}, want sha256:[0-9a-f]{64}: the layer does not match the image's config/],
    ['mediatype', /unknown layer media type application\/x-unknown-layer/],
    ['arm', /no matching manifest for linux\/amd64 in the manifest list entries \(the image offers linux\/arm64\): pull with --platform/],
    ['denied', /no basic auth credentials for .*: run login first/],
    ['missing', /not found in 127\.0\.0\.1:\d+.*check the name and tag/],
    ['broken', /answered 500 to manifest for 127\.0\.0\.1:\d+\/broken:1: UNKNOWN: disk on fire/],
  ];
  for (const [name, error] of cases) {
    it(`${name}: a clear error, no image, nothing left after GC`, async () => {
      await assert.rejects(svc.pull(`${host}/${name}:1`), error);
      assert.deepEqual(svc.list(), []);
      assert.deepEqual(svc.deps.leases.list(), [], 'the pull gave its lease back');
      svc.collectGarbage();
      assert.deepEqual([svc.deps.content.list(), svc.deps.content.listIngests(), svc.deps.snapshotter.list()], [[], [], []]);
    });
  }

  it('a registry that is not there: the error says so', async () => {
    await assert.rejects(svc.pull(`127.0.0.1:${await freePort()}/gone:1`), /127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  });

  it('and after all that, a good pull works', async () => {
    const img = await svc.pull(`${host}/ok:1`);
    assert.equal(img.manifestDigest, digestOf(manifest()));
  });
});
