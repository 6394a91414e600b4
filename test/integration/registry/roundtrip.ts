// A small image (a random layer, its config and a manifest) pushed with one client and read back,
// byte for byte, for the tests of how the client reaches and authenticates to registries.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { digestOf } from '../../../src/common/digest.js';
import { MediaType } from '../../../src/image/manifest.js';
import { parseReference, type ImageReference } from '../../../src/image/reference.js';
import type { RegistryClient } from '../../../src/registry/client.js';

export interface SmallImage {
  layer: Buffer;
  config: Buffer;
  manifest: Buffer;
}

export function smallImage(): SmallImage {
  const layer = randomBytes(4096);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf(layer)] } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: digestOf(config), size: config.length },
    layers: [{ mediaType: MediaType.ociLayer, digest: digestOf(layer), size: layer.length }],
  }));
  return { layer, config, manifest };
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

export async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of source) parts.push(b);
  return Buffer.concat(parts);
}

export async function push(client: RegistryClient, name: string, image = smallImage()): Promise<SmallImage> {
  const ref = parseReference(name);
  for (const b of [image.config, image.layer]) await client.putBlob(ref, digestOf(b), b.length, () => once(b));
  assert.equal(await client.putManifest(ref, image.manifest, MediaType.ociManifest), digestOf(image.manifest));
  return image;
}

/** Reads the image back by tag and checks every byte. */
export async function pullAndCheck(client: RegistryClient, name: string | ImageReference, image: SmallImage): Promise<void> {
  const ref = typeof name === 'string' ? parseReference(name) : name;
  const got = await client.getManifest(ref);
  assert.ok(got.bytes.equals(image.manifest), 'the manifest');
  assert.equal(got.digest, digestOf(image.manifest));
  assert.ok(await client.hasBlob(ref, digestOf(image.layer)));
  assert.ok((await collect(client.getBlob(ref, digestOf(image.layer), image.layer.length))).equals(image.layer), 'the layer');
  assert.ok((await collect(client.getBlob(ref, digestOf(image.config)))).equals(image.config), 'the config');
}
