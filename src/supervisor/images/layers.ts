// What pull, load, import and commit share: blobs written into the content store under a lease,
// layer tars compressed into blobs while their diff ID is computed, and layers unpacked into
// snapshots committed under their chain ID.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { hasher } from '../../common/digest.js';
import { BerthError } from '../../common/errors.js';
import { applyLayer, type WhiteoutMode } from '../../image/apply-layer.js';
import { MediaType, type Descriptor } from '../../image/manifest.js';
import type { Lease, LeaseStore } from '../content/leases.js';
import { isSameProcessAlive, procStat } from '../../sys/proc.js';
import { committedDigest, type ContentStore, type ContentWriter } from '../content/store.js';
import { type Snapshotter, writableLayerDir } from '../snapshots/types.js';

const OWNER = 'berth.owner';
const DAY_MS = 24 * 3600 * 1000;

/** This process, as a lease label: pid and start time, so a reused pid is not mistaken for it. */
function owner(): string {
  return `${process.pid} ${procStat(process.pid)?.startTime ?? 0}`;
}

/** A lease for one operation, labelled with this process so a kill mid-way can be told apart. */
export function createOwnedLease(leases: LeaseStore, labels: Record<string, string>): Lease {
  return leases.create({ expiresInMs: DAY_MS, labels: { ...labels, [OWNER]: owner() } });
}

/** Runs `fn` under a fresh lease and deletes the lease afterwards, whatever happens. */
export async function withLease<T>(leases: LeaseStore, labels: Record<string, string>, fn: (leaseId: string) => Promise<T>): Promise<T> {
  const lease = createOwnedLease(leases, labels);
  try {
    return await fn(lease.id);
  } finally {
    leases.delete(lease.id);
  }
}

/**
 * Deletes the leases of operations whose process is gone (a pull or load killed mid-way): what they held becomes
 * garbage for the next collection. The daemon calls this when it starts.
 */
export function releaseOrphanLeases(leases: LeaseStore): string[] {
  const released: string[] = [];
  for (const l of leases.list()) {
    const o = l.labels[OWNER];
    if (!o) continue;
    const [pid, start] = o.split(' ').map(Number);
    if (isSameProcessAlive(pid!, start!)) continue;
    leases.delete(l.id);
    released.push(l.id);
  }
  return released;
}

export interface LayerDeps {
  content: ContentStore;
  leases: LeaseStore;
  snapshotter: Snapshotter;
  whiteouts: WhiteoutMode;
}

export function hasSnapshot(sn: Snapshotter, key: string): boolean {
  try {
    return sn.stat(key).kind === 'committed';
  } catch {
    return false;
  }
}

/**
 * A writer for `ref`, or undefined once the blob `digest` is in the store: while another pull
 * writes the same blob (ingests are locked), wait for it rather than fail (containerd waits too).
 */
export async function writerWhenFree(content: ContentStore, ref: string, digest: string, opts: { expected?: string; total?: number }): Promise<ContentWriter | undefined> {
  for (let waited = 0; ; waited += 50) {
    if (content.has(digest)) return undefined;
    try {
      return await content.writer(ref, opts);
    } catch (err) {
      if (!(err instanceof BerthError && err.code === 'UNAVAILABLE') || waited > 10 * 60_000) throw err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Stores `bytes` (a manifest, a config; they hash to `digest`) under the lease unless the store has them. */
export async function storeBytes(deps: Pick<LayerDeps, 'content' | 'leases'>, digest: string, bytes: Buffer, leaseId: string, labels?: Record<string, string>): Promise<void> {
  deps.leases.addResource(leaseId, { type: 'content', id: digest });
  if (!deps.content.has(digest)) deps.content.put(bytes, digest, labels);
  else if (labels) mergeLabels(deps.content, digest, labels);
}

/** Adds labels to a blob, keeping the ones it has. */
export function mergeLabels(content: ContentStore, digest: string, labels: Record<string, string>): void {
  content.setLabels(digest, { ...content.info(digest).labels, ...labels });
}

/**
 * Compresses a layer tar into a gzip blob in the content store (under the lease), hashing the
 * uncompressed bytes on the way: returns the blob's descriptor and the layer's diff ID.
 */
export async function storeLayerTar(deps: Pick<LayerDeps, 'content' | 'leases'>, tar: AsyncIterable<Buffer>, leaseId: string): Promise<{ descriptor: Descriptor; diffId: string }> {
  const ref = `layer-${leaseId}-${randomBytes(6).toString('hex')}`;
  deps.leases.addResource(leaseId, { type: 'ingest', id: ref });
  const w = await deps.content.writer(ref);
  const diff = hasher();
  try {
    const gzip = createGzip({ chunkSize: 256 * 1024 });
    const input = Readable.from((async function* () {
      for await (const chunk of tar) {
        diff.update(chunk);
        yield chunk;
      }
    })());
    input.once('error', (err) => gzip.destroy(err));
    input.pipe(gzip);
    for await (const chunk of gzip) await w.write(chunk as Buffer);
    const size = w.offset;
    const digest = await committedDigest(w.commit());
    deps.leases.addResource(leaseId, { type: 'content', id: digest });
    return { descriptor: { mediaType: MediaType.ociLayerGzip, digest, size }, diffId: `sha256:${diff.digest('hex')}` };
  } catch (err) {
    await w.close().catch(() => {});
    deps.content.abort(ref);
    throw err;
  }
}

/** The key a layer is unpacked under, until it is committed under its chain ID. */
export function extractKey(leaseId: string, chainId: string): string {
  return `extract-${leaseId}-${chainId}`;
}

/** Unpacks one layer blob into a new snapshot on its parent and commits it under its chain ID. */
export async function unpackLayer(deps: LayerDeps, layer: Descriptor, diffId: string, chainId: string, parent: string | undefined, leaseId: string): Promise<void> {
  const key = extractKey(leaseId, chainId);
  deps.leases.addResource(leaseId, { type: `snapshots/${deps.snapshotter.name}`, id: key });
  const mounts = deps.snapshotter.prepare(key, parent);
  try {
    await applyLayer(writableLayerDir(mounts), deps.content.reader(layer.digest), deps.whiteouts, { diffId });
  } catch (err) {
    deps.snapshotter.remove(key);
    throw err;
  }
  commitLayer(deps, key, chainId, leaseId);
}

/**
 * Commits the unpacked layer `key` under its chain ID; with `rebase`, on `parent` (the snapshot
 * was prepared without one). When another pull committed that chain ID first, `key` goes instead.
 */
export function commitLayer(deps: LayerDeps, key: string, chainId: string, leaseId: string, rebase?: { parent: string | undefined }): void {
  try {
    if (hasSnapshot(deps.snapshotter, chainId)) deps.snapshotter.remove(key); // another pull got there first
    else {
      try {
        deps.snapshotter.commit(chainId, key, undefined, rebase);
      } catch (err) {
        if (!(err instanceof BerthError && err.code === 'ALREADY_EXISTS')) throw err;
        deps.snapshotter.remove(key); // it did, just now
      }
    }
  } catch (err) {
    removeQuietly(deps.snapshotter, key);
    throw err;
  }
  deps.leases.addResource(leaseId, { type: `snapshots/${deps.snapshotter.name}`, id: chainId });
}

/** Removes a snapshot that may be gone already. */
export function removeQuietly(sn: Snapshotter, key: string): void {
  try {
    sn.remove(key);
  } catch {
    // not there (committed, or removed): nothing to do
  }
}

/** Unpacks the layers that have no snapshot yet, in order; returns nothing new if all exist. */
export async function unpackMissing(deps: LayerDeps, layers: readonly Descriptor[], diffIds: readonly string[], chain: readonly string[], leaseId: string): Promise<void> {
  for (const [i, l] of layers.entries()) {
    if (hasSnapshot(deps.snapshotter, chain[i]!)) {
      deps.leases.addResource(leaseId, { type: `snapshots/${deps.snapshotter.name}`, id: chain[i]! });
      continue;
    }
    await unpackLayer(deps, l, diffIds[i]!, chain[i]!, i > 0 ? chain[i - 1] : undefined, leaseId);
  }
}
