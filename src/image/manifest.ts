// Image manifests, indexes and configs in both media-type families (Docker schema 2 and OCI),
// checked on the way in, and the choice of one manifest from an index for a platform.
import { invalid } from '../common/errors.js';
import { parseDigest } from '../common/digest.js';

export const MediaType = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  /** Uncompressed (containerd's MediaTypeDockerSchema2Layer): what `ctr images import` of a docker-save archive records. */
  dockerLayerUncompressed: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
} as const;

const MANIFESTS = new Set<string>([MediaType.dockerManifest, MediaType.ociManifest]);
const INDEXES = new Set<string>([MediaType.dockerManifestList, MediaType.ociIndex]);
const LAYERS = new Set<string>([MediaType.dockerLayer, MediaType.dockerLayerUncompressed, MediaType.dockerForeignLayer, MediaType.ociLayer, MediaType.ociLayerGzip, MediaType.ociLayerZstd,
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', 'application/vnd.oci.image.layer.nondistributable.v1.tar']);

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface Manifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface Index {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export type ParsedManifest = { kind: 'manifest'; mediaType: string; manifest: Manifest } | { kind: 'index'; mediaType: string; index: Index };

function descriptor(d: unknown, where: string): Descriptor {
  const o = d as Partial<Descriptor> | null;
  if (!o || typeof o !== 'object') throw invalid(`${where}: not a descriptor`);
  if (typeof o.mediaType !== 'string' || !o.mediaType) throw invalid(`${where}.mediaType: missing`);
  if (typeof o.digest !== 'string') throw invalid(`${where}.digest: missing`);
  parseDigest(o.digest);
  if (!Number.isSafeInteger(o.size) || o.size! < 0) throw invalid(`${where}.size: not a size`);
  return o as Descriptor;
}

/**
 * Parses a manifest or an index. The media type comes from the document, or else from the
 * registry's Content-Type; an unknown one is refused with its name.
 */
export function parseManifest(bytes: Buffer | string, contentType?: string): ParsedManifest {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(bytes.toString()) as Record<string, unknown>;
  } catch {
    throw invalid('manifest is not JSON');
  }
  if (doc === null || typeof doc !== 'object') throw invalid('manifest is not a JSON object');
  if (doc.schemaVersion !== 2) throw invalid(`manifest schemaVersion ${String(doc.schemaVersion)} is not supported (only 2; schema 1 images must be re-pushed)`);
  const mediaType = (typeof doc.mediaType === 'string' && doc.mediaType) || (contentType?.split(';')[0]?.trim() ?? '') || (Array.isArray(doc.manifests) ? MediaType.ociIndex : MediaType.ociManifest);
  if (INDEXES.has(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw invalid('index: manifests is missing');
    return { kind: 'index', mediaType, index: { ...(doc as unknown as Index), manifests: doc.manifests.map((d, i) => descriptor(d, `manifests[${i}]`)) } };
  }
  if (MANIFESTS.has(mediaType)) {
    if (!Array.isArray(doc.layers)) throw invalid('manifest: layers is missing');
    const config = descriptor(doc.config, 'config');
    const layers = doc.layers.map((d, i) => descriptor(d, `layers[${i}]`));
    for (const [i, l] of layers.entries()) if (!LAYERS.has(l.mediaType)) throw invalid(`layers[${i}]: unknown layer media type ${l.mediaType}`);
    return { kind: 'manifest', mediaType, manifest: { ...(doc as unknown as Manifest), config, layers } };
  }
  throw invalid(`unknown manifest media type ${mediaType}`);
}

/** Architectures a platform may name alone ("arm64" is linux/arm64, as containerd reads it). */
const BARE_ARCHITECTURES = new Set(['amd64', 'x86_64', 'x86-64', 'arm64', 'aarch64', 'arm', '386', 'ppc64le', 's390x', 'riscv64', 'mips64le']);

/** "linux/arm64/v8" → a platform (a bare "arm64" is Linux's); the default is linux/amd64 (this machine's kind). */
export function parsePlatform(text = 'linux/amd64'): Platform {
  const [os, architecture, variant, ...more] = (BARE_ARCHITECTURES.has(text.toLowerCase()) ? `linux/${text}` : text).toLowerCase().split('/');
  if (!os || !architecture || more.length) throw invalid(`invalid platform "${text}": want os/arch[/variant]`);
  return normalizePlatform({ os, architecture, variant });
}

/** Aliases and default variants, as containerd's platforms package treats them. */
function normalizePlatform(p: Platform): Platform {
  let { architecture: arch, variant } = p;
  if (arch === 'x86_64' || arch === 'x86-64') arch = 'amd64';
  if (arch === 'aarch64') arch = 'arm64';
  if (arch === 'arm64' && (variant === undefined || variant === '' || variant === 'v8')) variant = undefined;
  if (arch === 'arm' && !variant) variant = 'v7';
  return { os: p.os, architecture: arch, ...(variant ? { variant } : {}) };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Whether two platforms are the same once aliases and default variants are read alike. */
export function samePlatform(a: Platform, b: Platform): boolean {
  const x = normalizePlatform(a);
  const y = normalizePlatform(b);
  return x.os === y.os && x.architecture === y.architecture && (x.variant ?? '') === (y.variant ?? '');
}

/** The index's manifest for `want`; Docker's error text when there is none. */
export function selectManifest(index: Index, want: Platform): Descriptor {
  const w = normalizePlatform(want);
  const match = index.manifests.find((d) => !!d.platform && MANIFESTS.has(d.mediaType) && samePlatform(d.platform, w));
  if (!match) {
    const offered = index.manifests.filter((d) => d.platform).map((d) => formatPlatform(normalizePlatform(d.platform!)));
    throw invalid(`no matching manifest for ${formatPlatform(w)} in the manifest list entries (the image offers ${offered.join(', ') || 'no platform'}): pull with --platform`);
  }
  return match;
}
