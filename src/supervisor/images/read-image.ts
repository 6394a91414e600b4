// Reading what an image record's target reaches in the content store: through an index to the
// manifest for the platform (one that is here: a pull fetches one platform), then the config and
// the chain IDs of its layers.
import { BerthError } from '../../common/errors.js';
import { chainIds } from '../../image/chain-id.js';
import { parseImageConfig, type ImageConfig } from '../../image/config.js';
import { formatPlatform, parseManifest, parsePlatform, type Descriptor, type Manifest, type Platform } from '../../image/manifest.js';
import type { ContentStore } from '../content/store.js';

export interface ImageContent {
  target: Descriptor;
  manifestDigest: string;
  manifestBytes: Buffer;
  manifestMediaType: string;
  manifest: Manifest;
  /** The image ID, as Docker's: the config's digest. */
  configDigest: string;
  config: ImageConfig;
  chainIds: string[];
}

const same = (a: Platform, b: Platform) => a.os === b.os && a.architecture === b.architecture && (a.variant ?? '') === (b.variant ?? '');

export function readImage(content: ContentStore, target: Descriptor, platform = 'linux/amd64'): ImageContent {
  let manifestDigest = target.digest;
  let bytes = content.read(target.digest);
  let parsed = parseManifest(bytes, target.mediaType);
  if (parsed.kind === 'index') {
    const want = parsePlatform(platform);
    const here = parsed.index.manifests.filter((d) => content.has(d.digest));
    const chosen = here.find((d) => d.platform && same(parsePlatform(formatPlatform(d.platform)), want)) ?? here[0];
    if (!chosen) throw new BerthError('FAILED_PRECONDITION', `image index ${target.digest} has no manifest here (pull it again)`);
    manifestDigest = chosen.digest;
    bytes = content.read(chosen.digest);
    parsed = parseManifest(bytes, chosen.mediaType);
    if (parsed.kind !== 'manifest') throw new BerthError('INVALID_ARGUMENT', `image index ${target.digest} points at another index`);
  }
  const { manifest, mediaType: manifestMediaType } = parsed;
  const config = parseImageConfig(content.read(manifest.config.digest), `config ${manifest.config.digest}`);
  return { target, manifestDigest, manifestBytes: bytes, manifestMediaType, manifest, configDigest: manifest.config.digest, config, chainIds: chainIds(config.rootfs.diff_ids) };
}

export interface Distributable {
  /** The index's manifests (none when the top is a single manifest), with their blobs. */
  manifests: Array<{ d: Descriptor; bytes: Buffer; blobs: Descriptor[] }>;
  top: Descriptor;
  topBytes: Buffer;
}

/**
 * What can leave this machine whole (push, save): the index when every manifest it lists and
 * their blobs are here, else this platform's manifest alone (a pull fetches one platform).
 */
export function distributable(content: ContentStore, img: ImageContent): Distributable {
  const alone: Distributable = { manifests: [], top: { mediaType: img.manifestMediaType, digest: img.manifestDigest, size: img.manifestBytes.length }, topBytes: img.manifestBytes };
  if (img.target.digest === img.manifestDigest) return alone;
  const indexBytes = content.read(img.target.digest);
  const parsed = parseManifest(indexBytes, img.target.mediaType);
  if (parsed.kind !== 'index') return alone;
  const children = [];
  for (const d of parsed.index.manifests) {
    if (!content.has(d.digest)) return alone;
    const bytes = content.read(d.digest);
    const m = parseManifest(bytes, d.mediaType);
    if (m.kind !== 'manifest') return alone;
    const blobs = [m.manifest.config, ...m.manifest.layers];
    if (!blobs.every((b) => content.has(b.digest))) return alone;
    children.push({ d, bytes, blobs });
  }
  return { manifests: children, top: img.target, topBytes: indexBytes };
}
