// Manifests and indexes in both media-type families, bad documents, and platform selection.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { MediaType, parseManifest, parsePlatform, samePlatform, selectManifest, type Index, type Platform } from '../../../src/image/manifest.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const manifest = (mediaType: string, layerType: string) => JSON.stringify({
  schemaVersion: 2, mediaType, config: { mediaType: MediaType.ociConfig, digest: d('c'), size: 10 }, layers: [{ mediaType: layerType, digest: d('1'), size: 100 }],
});

it('reads Docker schema 2 and OCI manifests and indexes', () => {
  const docker = parseManifest(manifest(MediaType.dockerManifest, MediaType.dockerLayer));
  assert.equal(docker.kind, 'manifest');
  // Uncompressed Docker layers, as `ctr images import` records a docker-save archive's.
  assert.equal(parseManifest(manifest(MediaType.dockerManifest, 'application/vnd.docker.image.rootfs.diff.tar')).kind, 'manifest');
  const oci = parseManifest(manifest(MediaType.ociManifest, MediaType.ociLayerZstd));
  assert.equal(oci.kind === 'manifest' && oci.manifest.layers[0]!.size, 100);
  // No mediaType field: the registry's Content-Type says which it is.
  const noField = JSON.stringify({ schemaVersion: 2, manifests: [] });
  assert.equal(parseManifest(noField, `${MediaType.dockerManifestList}; charset=utf-8`).mediaType, MediaType.dockerManifestList);
});

it('refuses bad documents with a reason', () => {
  assert.throws(() => parseManifest('not json'), /not JSON/);
  assert.throws(() => parseManifest(JSON.stringify({ schemaVersion: 1 })), /schemaVersion 1 is not supported/);
  assert.throws(() => parseManifest(manifest('application/x-unknown', MediaType.ociLayer)), /unknown manifest media type application\/x-unknown/);
  assert.throws(() => parseManifest(manifest(MediaType.ociManifest, 'application/x-weird-layer')), /unknown layer media type/);
  assert.throws(() => parseManifest(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: 'x', digest: 'sha256:../../x', size: 1 }, layers: [] })), /invalid digest/);
});

it('picks the manifest for a platform, with arch aliases and default variants', () => {
  const entry = (c: string, platform: Platform) => ({ mediaType: MediaType.ociManifest, digest: d(c), size: 1, platform });
  const index: Index = { schemaVersion: 2, manifests: [
    entry('a', { os: 'linux', architecture: 'amd64' }),
    entry('b', { os: 'linux', architecture: 'arm64', variant: 'v8' }),
    entry('c', { os: 'linux', architecture: 'arm', variant: 'v6' }),
  ] };
  assert.equal(selectManifest(index, parsePlatform()).digest, d('a'));
  assert.equal(selectManifest(index, parsePlatform('linux/aarch64')).digest, d('b'));
  assert.equal(selectManifest(index, parsePlatform('linux/arm/v6')).digest, d('c'));
  assert.throws(() => selectManifest(index, parsePlatform('linux/s390x')), /no matching manifest for linux\/s390x in the manifest list entries \(the image offers linux\/amd64, linux\/arm64, linux\/arm\/v6\)/);
  assert.throws(() => parsePlatform('linux'), /want os\/arch/);
});

it('reads a bare architecture as Linux\'s, and compares platforms through their aliases', () => {
  assert.deepEqual(parsePlatform('arm64'), { os: 'linux', architecture: 'arm64' });
  assert.ok(samePlatform(parsePlatform('linux/aarch64'), { os: 'linux', architecture: 'arm64', variant: 'v8' }));
  assert.ok(samePlatform(parsePlatform('x86_64'), { os: 'linux', architecture: 'amd64' }));
  assert.ok(!samePlatform(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'amd64' }));
});
