// A pull unpacks each layer as its bytes arrive, the layers side by side, and commits them in
// order: a registry stand-in (a small HTTP server, so a download can be held half way) holds the
// first layer's blob after part of it, and the test watches files of that layer appear in its
// snapshot directory, and the second layer unpack whole, while neither is committed; released,
// both are committed, each on its parent. Also: progress comes at most ten times a second.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { cleanupDir, waitFor } from '../../helpers/runtime.js';
import { digestOf } from '../../../src/common/digest.js';
import { chainIds } from '../../../src/image/chain-id.js';
import { MediaType } from '../../../src/image/manifest.js';
import { parseReference } from '../../../src/image/reference.js';
import { tarEntry, TAR_END } from '../../../src/image/tar-writer.js';
import { LeaseStore } from '../../../src/supervisor/content/leases.js';
import { ContentStore } from '../../../src/supervisor/content/store.js';
import { OverlaySnapshotter } from '../../../src/supervisor/snapshots/overlay.js';
import { writableLayerDir } from '../../../src/supervisor/snapshots/types.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { pullImage, type PullDeps, type PullProgress } from '../../../src/supervisor/images/pull.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-pullstream-'));

describe('pull, unpacking as the bytes arrive', () => {
  // Random bytes: gzip cannot shrink them, so the first file is unpacked long before the blob's end.
  const tars = [
    Buffer.concat([tarEntry({ name: 'one/first', type: 'file' }, Buffer.from('first of layer one')), tarEntry({ name: 'one/bulk', type: 'file' }, randomBytes(6 << 20)), tarEntry({ name: 'one/last', type: 'file' }, Buffer.from('last of layer one')), TAR_END]),
    Buffer.concat([tarEntry({ name: 'two/file', type: 'file' }, randomBytes(1 << 20)), TAR_END]),
  ];
  const blobs = tars.map((t) => gzipSync(t, { level: 1 }));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: tars.map((t) => digestOf(t)) } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: digestOf(config), size: config.length },
    layers: blobs.map((b) => ({ mediaType: MediaType.ociLayerGzip, digest: digestOf(b), size: b.length })),
  }));
  const HELD_AT = 4 << 20; // of the first blob, sent before the hold
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let server: Server;
  let host = '';
  /** The pull under test: after() lets it end before removing its directory, also when the test failed. */
  let pulling: Promise<unknown> = Promise.resolve();

  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/v2/') return res.writeHead(200).end('{}');
      if (req.url!.includes('/manifests/')) return res.writeHead(200, { 'content-type': MediaType.ociManifest }).end(manifest);
      if (req.url!.endsWith(digestOf(config))) return res.writeHead(200).end(config);
      if (req.url!.endsWith(digestOf(blobs[1]!))) return res.writeHead(200).end(blobs[1]);
      if (req.url!.endsWith(digestOf(blobs[0]!))) {
        res.writeHead(200, { 'content-length': blobs[0]!.length });
        res.write(blobs[0]!.subarray(0, HELD_AT));
        return void released.then(() => res.end(blobs[0]!.subarray(HELD_AT)));
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(async () => {
    release();
    await pulling.catch(() => {});
    server?.close();
    cleanupDir(dir);
  });

  it('unpacks layers side by side before their blobs are whole, and commits them in order once they are', async () => {
    const deps: PullDeps = {
      content: new ContentStore(join(dir, 'content')), leases: new LeaseStore(join(dir, 'leases')),
      snapshotter: new OverlaySnapshotter(join(dir, 'snapshots')), whiteouts: 'overlay', registry: new RegistryClient(),
    };
    const chain = chainIds(tars.map((t) => digestOf(t)));
    const progress: Array<PullProgress & { at: number }> = [];
    const pull = pullImage(deps, parseReference(`${host}/stream:1`), { onProgress: (p) => progress.push({ ...p, at: performance.now() }) });
    pulling = pull;
    pull.catch(() => {});
    /** The directory a layer is being unpacked into: its active snapshot's, found by the file it holds. */
    const activeDirWith = (file: string) => deps.snapshotter.list().filter((s) => s.kind === 'active')
      .map((s) => writableLayerDir(deps.snapshotter.mounts(s.key))).find((d) => existsSync(join(d, file)));
    await waitFor(() => activeDirWith('one/first') !== undefined && activeDirWith('two/file') !== undefined, 20_000);
    // Layer two is staged (fetched, checked and unpacked) once its download is reported complete.
    await waitFor(() => progress.some((p) => p.id === digestOf(blobs[1]!).slice(7, 19) && p.status === 'Download complete'), 20_000);
    assert.ok(deps.content.has(digestOf(blobs[1]!)));
    // Layer one: its first file is there while its blob is still coming (and so not in the store).
    assert.equal(readFileSync(join(activeDirWith('one/first')!, 'one/first'), 'utf8'), 'first of layer one');
    assert.equal(existsSync(join(activeDirWith('one/first')!, 'one/last')), false, 'the rest is not here yet');
    assert.equal(deps.content.has(digestOf(blobs[0]!)), false, 'the first blob is not whole');
    // Layer two: fetched and unpacked whole beside it, but not committed before its parent is.
    assert.ok(readFileSync(join(activeDirWith('two/file')!, 'two/file')).equals(tars[1]!.subarray(512, 512 + (1 << 20))));
    assert.deepEqual(deps.snapshotter.list().filter((s) => s.kind === 'committed'), [], 'nothing committed while a blob is unchecked');
    release();
    const pulled = await pull;
    assert.deepEqual(pulled.chainIds, chain);
    assert.equal(deps.snapshotter.stat(chain[0]!).parent, undefined);
    assert.equal(deps.snapshotter.stat(chain[1]!).parent, chain[0], 'layer two, unpacked before its parent was committed, sits on it');
    assert.deepEqual(deps.snapshotter.list().map((s) => `${s.key}:${s.kind}`).sort(), chain.map((c) => `${c}:committed`).sort(), 'no unpack snapshot left');
    // Progress: Docker's messages, Downloading at most every 100 ms but for the last, which is whole.
    for (const [i, b] of blobs.entries()) {
      const id = digestOf(b).slice(7, 19);
      const downloading = progress.filter((p) => p.id === id && p.status === 'Downloading');
      assert.ok(downloading.length >= 1, `layer ${i}: Downloading`);
      assert.equal(downloading.at(-1)!.progressDetail?.current, b.length);
      for (let k = 1; k < downloading.length - 1; k++) assert.ok(downloading[k]!.at - downloading[k - 1]!.at >= 99, `layer ${i}: updates ${(downloading[k]!.at - downloading[k - 1]!.at).toFixed(0)} ms apart`);
      const statuses = progress.filter((p) => p.id === id).map((p) => p.status);
      assert.deepEqual(statuses.filter((s) => s !== 'Downloading'), ['Pulling fs layer', 'Download complete', 'Extracting', 'Pull complete']);
    }
    deps.leases.delete(pulled.leaseId);
  });
});
