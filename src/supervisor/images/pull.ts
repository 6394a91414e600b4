// Pulling an image: the manifest (through an index, for the platform), the config and the layers
// into the content store, and the layers unpacked into committed snapshots named by chain ID,
// everything under a lease so that an interrupted pull leaves only what garbage collection
// removes. Layers download a few at a time; on overlay each is unpacked as its bytes arrive, else
// in order from the store; snapshots are committed in layer order. Progress comes as Docker's
// JSON progress messages.
import { BerthError } from '../../common/errors.js';
import { chainIds } from '../../image/chain-id.js';
import { parseManifest, parsePlatform, selectManifest, type Descriptor, type Manifest } from '../../image/manifest.js';
import { familiarName, type ImageReference } from '../../image/reference.js';
import { writableLayerDir } from '../snapshots/types.js';
import { addDistributionSource, fetchBlob, shortId, sourceLabel, type PullDeps, type PullProgress } from './fetch.js';
import { fetchAndUnpack } from './fetch-unpack.js';
import { commitLayer, createOwnedLease, extractKey, hasSnapshot, mergeLabels, removeQuietly, storeBytes, unpackLayer } from './layers.js';
export { releaseOrphanLeases } from './layers.js';
export { addDistributionSource, distributionSources, type ImageSource, type PullDeps, type PullProgress } from './fetch.js';

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

/** Layers fetched at once (Docker's and containerd's default). */
const PARALLEL_DOWNLOADS = 3;

/** Blobs up to this size (image configs, mostly) are fetched into memory and stored in one go. */
const SMALL_BLOB = 4 << 20;

/** A small blob (the image config): read from the store, or fetched, checked and stored. */
async function fetchSmall(deps: PullDeps, ref: ImageReference, d: Descriptor, leaseId: string): Promise<Buffer> {
  if (d.size > SMALL_BLOB || deps.content.has(d.digest)) {
    await fetchBlob(deps, ref, d, leaseId);
    return deps.content.read(d.digest);
  }
  // The client checks size and digest once the bytes are in (its errors name the registry).
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of deps.registry.getBlob(ref, d.digest, d.size)) {
    if ((n += chunk.length) > d.size) throw new BerthError('FAILED_PRECONDITION', `blob ${d.digest} of ${familiarName(ref)}: ${ref.registry} sent more than its ${d.size} bytes`);
    chunks.push(chunk);
  }
  const bytes = Buffer.concat(chunks);
  // Stored with its source label in one record write, unless another pull stored it meanwhile.
  const fresh = !deps.content.has(d.digest);
  await storeBytes(deps, d.digest, bytes, leaseId, fresh ? sourceLabel(ref) : undefined);
  if (!fresh) addDistributionSource(deps.content, d.digest, ref);
  return bytes;
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

  const configBytes = await fetchSmall(deps, ref, manifest.config, leaseId);
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

  const present = manifest.layers.map((_, i) => hasSnapshot(deps.snapshotter, chain[i]!));
  // What the pull will make, held in one lease write (each is a durable write); layers already
  // unpacked are held too, so a collection running meanwhile keeps them.
  const snapshots = `snapshots/${deps.snapshotter.name}`;
  deps.leases.addResources(leaseId, manifest.layers.flatMap((l, i) => present[i] ? [{ type: snapshots, id: chain[i]! }]
    : [{ type: 'content', id: l.digest }, { type: 'ingest', id: l.digest }, { type: snapshots, id: extractKey(leaseId, chain[i]!) }, { type: snapshots, id: chain[i]! }]));
  for (const [i, l] of manifest.layers.entries()) say({ status: present[i] ? 'Already exists' : 'Pulling fs layer', id: shortId(l.digest) });
  await stageAndCommit(deps, ref, manifest.layers, diffIds, chain, present, leaseId, say);
  if (chain.length) mergeLabels(deps.content, manifest.config.digest, { [`containerd.io/gc.ref.snapshot.${deps.snapshotter.name}`]: chain.at(-1)! });
  say({ status: `Digest: ${top.digest}` });
  return { target, manifestDigest, config: { digest: manifest.config.digest, json: config as Record<string, unknown> }, chainIds: chain, leaseId: leaseId };
}

/**
 * Gets the missing layers into committed snapshots. A few workers stage layers, in layer order;
 * snapshots are committed in layer order, each on its parent. With a snapshotter whose layers do
 * not depend on their parent (rebase: overlay), staging a layer is fetching and unpacking it in
 * one pass, beside the others; otherwise it is fetching it, and each layer is unpacked from the
 * store once its parent is committed. On failure the other stages stop, and what they staged goes.
 */
async function stageAndCommit(deps: PullDeps, ref: ImageReference, layers: Descriptor[], diffIds: string[], chain: string[], present: boolean[], leaseId: string, say: (p: PullProgress) => void): Promise<void> {
  const rebase = deps.snapshotter.rebase === true;
  const abort = new AbortController();
  const stage = async (i: number) => {
    const l = layers[i]!;
    if (rebase) {
      const key = extractKey(leaseId, chain[i]!);
      const mounts = deps.snapshotter.prepare(key);
      try {
        await fetchAndUnpack(deps, ref, l, diffIds[i]!, writableLayerDir(mounts), leaseId, { progress: say, signal: abort.signal });
      } catch (err) {
        removeQuietly(deps.snapshotter, key);
        throw err;
      }
    } else {
      await fetchBlob(deps, ref, l, leaseId, { progress: say, signal: abort.signal });
    }
    say({ status: 'Download complete', id: shortId(l.digest) });
  };
  const staged = layers.map(() => deferred());
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < layers.length; i = next++) {
      try {
        if (!present[i]) {
          abort.signal.throwIfAborted();
          await stage(i);
        }
        staged[i]!.resolve();
      } catch (err) {
        abort.abort(err);
        staged[i]!.reject(err);
      }
    }
  };
  const workers = Array.from({ length: Math.min(PARALLEL_DOWNLOADS, layers.length) }, worker);
  try {
    for (const [i, l] of layers.entries()) {
      await staged[i]!.promise;
      if (present[i]) continue;
      say({ status: 'Extracting', id: shortId(l.digest) });
      const parent = i > 0 ? chain[i - 1] : undefined;
      if (rebase) commitLayer(deps, extractKey(leaseId, chain[i]!), chain[i]!, leaseId, { parent });
      else await unpackLayer(deps, l, diffIds[i]!, chain[i]!, parent, leaseId);
      say({ status: 'Pull complete', id: shortId(l.digest) });
    }
  } catch (err) {
    abort.abort(err);
    await Promise.allSettled(workers);
    if (rebase) for (const [i] of layers.entries()) if (!present[i]) removeQuietly(deps.snapshotter, extractKey(leaseId, chain[i]!));
    throw err;
  }
  await Promise.all(workers);
}

/** A promise with its resolve and reject; a rejection nobody awaits is not reported as unhandled. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void } {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => {});
  return { promise, resolve, reject };
}
