// Making an image out of layer blobs and a config (import, load, commit, build): the config and a
// Docker schema 2 manifest go into the content store with the labels that make GC keep their
// children, and the layers are unpacked into chain-ID snapshots, all under the caller's lease.
import { digestOf } from '../../common/digest.js';
import { chainIds } from '../../image/chain-id.js';
import type { ImageConfig } from '../../image/config.js';
import { MediaType, type Descriptor } from '../../image/manifest.js';
import { storeBytes, unpackMissing, type LayerDeps } from './layers.js';

export interface ImageLayer {
  descriptor: Descriptor;
  diffId: string;
}

/** The config's bytes for `layers`: `config` with its rootfs set to their diff IDs. */
export function configFor(config: ImageConfig, layers: readonly ImageLayer[]): Buffer {
  return Buffer.from(JSON.stringify({ ...config, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) } }));
}

/**
 * Stores the config (its bytes kept exactly: they are the image ID) and a manifest, unpacks the
 * layers; returns the manifest's descriptor. The media types are OCI's: every registry takes
 * them, and OCI layout readers (skopeo, umoci) skip Docker's.
 */
export async function writeImage(deps: LayerDeps, leaseId: string, configBytes: Buffer, layers: readonly ImageLayer[]): Promise<Descriptor> {
  const configDesc: Descriptor = { mediaType: MediaType.ociConfig, digest: digestOf(configBytes), size: configBytes.length };
  const diffIds = layers.map((l) => l.diffId);
  const chain = chainIds(diffIds);
  await unpackMissing(deps, layers.map((l) => l.descriptor), diffIds, chain, leaseId);
  await storeBytes(deps, configDesc.digest, configBytes, leaseId, chain.length ? { [`containerd.io/gc.ref.snapshot.${deps.snapshotter.name}`]: chain.at(-1)! } : undefined);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: configDesc,
    layers: layers.map((l) => ({ mediaType: l.descriptor.mediaType, digest: l.descriptor.digest, size: l.descriptor.size })),
  }));
  const labels: Record<string, string> = { 'containerd.io/gc.ref.content.config': configDesc.digest };
  layers.forEach((l, i) => (labels[`containerd.io/gc.ref.content.l.${i}`] = l.descriptor.digest));
  const digest = digestOf(manifest);
  await storeBytes(deps, digest, manifest, leaseId, labels);
  return { mediaType: MediaType.ociManifest, digest, size: manifest.length };
}
