// Pulling an image: the manifest (through an index, for the platform), the config and the layers
// into the content store, and the layers unpacked into committed snapshots named by chain ID,
// everything under a lease so that an interrupted pull leaves only what garbage collection
// removes. Layers download in parallel while earlier ones are unpacked in order; progress comes
// as Docker's JSON progress messages.
import { BerthError } from '../../common/errors.js';
import { chainIds } from '../../image/chain-id.js';
import { parseManifest, parsePlatform, selectManifest, type Descriptor, type Manifest } from '../../image/manifest.js';
import { familiarName, formatReference, type ImageReference } from '../../image/reference.js';
import { DigestMismatch, type ContentStore } from '../content/store.js';
import { createOwnedLease, hasSnapshot, mergeLabels, storeBytes, unpackLayer, writerWhenFree, type LayerDeps } from './layers.js';
export { releaseOrphanLeases } from './layers.js';

/** What a pull reads from: a registry client (src/registry's), or anything that serves the same. */
export interface ImageSource {
  getManifest(ref: ImageReference, digest?: string): Promise<{ bytes: Buffer; mediaType: string; digest: string }>;
  getBlob(ref: ImageReference, digest: string, size?: number, o?: { verified?: boolean }): AsyncIterable<Buffer>;
}

export interface PullDeps extends LayerDeps {
  registry: ImageSource;
}

/** One of Docker's JSON progress messages (what `docker pull` draws). */
export interface PullProgress {
  status: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
}

export interface PulledImage {
  /** What the reference resolved to: the index or the manifest. */
  target: Descriptor;
  manifestDigest: string;
  config: { digest: string; json: Record<string, unknown> };
  /** Chain ID of every layer; the last names the image's committed snapshot. */
  chainIds: string[];
  /** The lease that holds the pulled content: delete it once the image is recorded. */
  leaseId: string;
}

const PARALLEL_DOWNLOADS = 3;
const short = (digest: string) => digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 13);

/** Fetches a blob into the content store (under the lease) unless it is there. */
async function fetchBlob(deps: PullDeps, ref: ImageReference, d: Descriptor, leaseId: string, progress?: (p: PullProgress) => void): Promise<boolean> {
  deps.leases.addResource(leaseId, { type: 'content', id: d.digest });
  if (deps.content.has(d.digest)) {
    addDistributionSource(deps.content, d.digest, ref);
    return false;
  }
  deps.leases.addResource(leaseId, { type: 'ingest', id: d.digest });
  let w = await writerWhenFree(deps.content, d.digest, d.digest, { expected: d.digest, total: d.size });
  if (!w) { // another pull fetched it meanwhile
    addDistributionSource(deps.content, d.digest, ref);
    return false;
  }
  if (w.offset > 0) { // a partial ingest from an interrupted pull: the download starts over
    await w.close();
    deps.content.abort(d.digest);
    w = await deps.content.writer(d.digest, { expected: d.digest, total: d.size });
  }
  try {
    let last = 0;
    // The writer checks the digest at commit (and throws the ingest away if it is wrong).
    for await (const chunk of deps.registry.getBlob(ref, d.digest, d.size, { verified: false })) {
      await w.write(chunk);
      if (progress && (w.offset - last > 256 * 1024 || w.offset === d.size)) {
        last = w.offset;
        progress({ status: 'Downloading', id: short(d.digest), progressDetail: { current: w.offset, total: d.size } });
      }
    }
    await w.commit().catch((err: unknown) => {
      throw err instanceof DigestMismatch ? new BerthError('FAILED_PRECONDITION', `blob ${d.digest} of ${formatReference(ref)}: ${ref.registry} sent content with digest ${err.actual}`) : err;
    });
    addDistributionSource(deps.content, d.digest, ref);
    return true;
  } catch (err) {
    await w.close().catch(() => {});
    throw err;
  }
}

async function fetchJson(deps: PullDeps, ref: ImageReference, d: Descriptor, leaseId: string): Promise<Buffer> {
  await fetchBlob(deps, ref, d, leaseId);
  return deps.content.read(d.digest);
}

const SOURCE = 'containerd.io/distribution.source.';

/**
 * Notes on a blob which repository of which registry has it (containerd's label), so that a push
 * to another repository there can mount it instead of uploading it.
 */
export function addDistributionSource(content: ContentStore, digest: string, ref: ImageReference): void {
  const labels = content.info(digest).labels;
  const key = `${SOURCE}${ref.registry}`;
  const repos = new Set((labels[key] ?? '').split(',').filter(Boolean));
  if (repos.has(ref.repository)) return;
  repos.add(ref.repository);
  mergeLabels(content, digest, { [key]: [...repos].join(',') });
}

/** The repositories of `registry` that have the blob, as pulls and pushes recorded them. */
export function distributionSources(content: ContentStore, digest: string, registry: string): string[] {
  return (content.info(digest).labels[`${SOURCE}${registry}`] ?? '').split(',').filter(Boolean);
}

/**
 * Pulls `ref`. On success the content and snapshots are held by the returned lease until the
 * caller has recorded the image; on failure the lease is deleted and garbage collection takes
 * what was fetched.
 */
export async function pullImage(deps: PullDeps, ref: ImageReference, opts: { platform?: string; onProgress?: (p: PullProgress) => void } = {}): Promise<PulledImage> {
  const lease = createOwnedLease(deps.leases, { 'berth.pull': familiarName(ref) });
  try {
    return await pullUnderLease(deps, ref, lease.id, opts);
  } catch (err) {
    deps.leases.delete(lease.id);
    throw err;
  }
}

async function pullUnderLease(deps: PullDeps, ref: ImageReference, leaseId: string, opts: { platform?: string; onProgress?: (p: PullProgress) => void }): Promise<PulledImage> {
  const say = opts.onProgress ?? (() => {});
  say({ status: `Pulling from ${ref.repository.replace(/^library\//, '')}`, id: ref.tag ?? ref.digest });

  // The manifest, through the index when there is one.
  const top = await deps.registry.getManifest(ref);
  const topParsed = parseManifest(top.bytes, top.mediaType);
  const target: Descriptor = { mediaType: topParsed.mediaType, digest: top.digest, size: top.bytes.length };
  await storeBytes(deps, top.digest, top.bytes, leaseId);
  let manifest: Manifest;
  let manifestDigest = top.digest;
  if (topParsed.kind === 'index') {
    const chosen = selectManifest(topParsed.index, parsePlatform(opts.platform));
    const m = await deps.registry.getManifest(ref, chosen.digest);
    const parsed = parseManifest(m.bytes, m.mediaType || chosen.mediaType);
    if (parsed.kind !== 'manifest') throw new BerthError('INVALID_ARGUMENT', `${familiarName(ref)}: the index points at another index`);
    manifest = parsed.manifest;
    manifestDigest = m.digest;
    await storeBytes(deps, m.digest, m.bytes, leaseId);
    mergeLabels(deps.content, top.digest, { [`containerd.io/gc.ref.content.m.${topParsed.index.manifests.indexOf(chosen)}`]: m.digest });
  } else manifest = topParsed.manifest;

  const configBytes = await fetchJson(deps, ref, manifest.config, leaseId);
  let config: { rootfs?: { diff_ids?: string[] } };
  try {
    config = JSON.parse(configBytes.toString()) as typeof config;
  } catch {
    throw new BerthError('INVALID_ARGUMENT', `${familiarName(ref)}: the image config ${manifest.config.digest} is not JSON`);
  }
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) throw new BerthError('INVALID_ARGUMENT', `${familiarName(ref)}: the config lists ${diffIds.length} layers, the manifest ${manifest.layers.length}`);
  const chain = chainIds(diffIds);
  const labels: Record<string, string> = { 'containerd.io/gc.ref.content.config': manifest.config.digest };
  manifest.layers.forEach((l, i) => (labels[`containerd.io/gc.ref.content.l.${i}`] = l.digest));
  mergeLabels(deps.content, manifestDigest, labels);

  // Downloads run ahead (a few at a time); unpacking follows in layer order.
  const present = manifest.layers.map((_, i) => hasSnapshot(deps.snapshotter, chain[i]!));
  // Layers already unpacked are held too, so a collection running meanwhile keeps them.
  for (const [i, has] of present.entries()) if (has) deps.leases.addResource(leaseId, { type: `snapshots/${deps.snapshotter.name}`, id: chain[i]! });
  for (const [i, l] of manifest.layers.entries()) say({ status: present[i] ? 'Already exists' : 'Pulling fs layer', id: short(l.digest) });
  const downloaded = manifest.layers.map(() => deferred());
  let next = 0;
  const downloader = async () => {
    for (let i = next++; i < manifest.layers.length; i = next++) {
      const l = manifest.layers[i]!;
      try {
        if (!present[i]) {
          await fetchBlob(deps, ref, l, leaseId, say);
          say({ status: 'Download complete', id: short(l.digest) });
        }
        downloaded[i]!.resolve();
      } catch (err) {
        downloaded[i]!.reject(err);
      }
    }
  };
  const downloaders = Array.from({ length: Math.min(PARALLEL_DOWNLOADS, manifest.layers.length) }, downloader);
  for (const [i, l] of manifest.layers.entries()) {
    await downloaded[i]!.promise;
    if (present[i]) continue;
    say({ status: 'Extracting', id: short(l.digest) });
    await unpackLayer(deps, l, diffIds[i]!, chain[i]!, i > 0 ? chain[i - 1] : undefined, leaseId);
    say({ status: 'Pull complete', id: short(l.digest) });
  }
  await Promise.all(downloaders);
  if (chain.length) mergeLabels(deps.content, manifest.config.digest, { [`containerd.io/gc.ref.snapshot.${deps.snapshotter.name}`]: chain.at(-1)! });
  say({ status: `Digest: ${top.digest}` });
  return { target, manifestDigest, config: { digest: manifest.config.digest, json: config as Record<string, unknown> }, chainIds: chain, leaseId: leaseId };
}

/** A promise with its resolve and reject; a rejection nobody awaits is not reported as unhandled. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void } {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => {});
  return { promise, resolve, reject };
}
