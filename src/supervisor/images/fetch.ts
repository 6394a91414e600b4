// Fetching one blob from a registry into the content store, under a pull's lease: the bytes go
// into an ingest, whose commit checks size and digest before the blob exists; a pull that also
// unpacks the layer as it arrives is handed each chunk once it is in the ingest. The blob is
// labelled with the repository it came from, so that a push can mount it from there.
import { performance } from 'node:perf_hooks';
import { BerthError } from '../../common/errors.js';
import type { Descriptor } from '../../image/manifest.js';
import { formatReference, type ImageReference } from '../../image/reference.js';
import { committedDigest, DigestMismatch, type ContentStore } from '../content/store.js';
import { mergeLabels, writerWhenFree, type LayerDeps } from './layers.js';

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

/** A layer's id in progress messages: 12 hex digits of its digest, as Docker shows it. */
export const shortId = (digest: string): string => digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 13);

export interface FetchOptions {
  progress?: (p: PullProgress) => void;
  /** Given each downloaded chunk once it is in the ingest (an unpacker); awaited, for backpressure. */
  sink?: (chunk: Buffer) => Promise<void>;
  /** Stops the download (the pull failed elsewhere). */
  signal?: AbortSignal;
}

/**
 * Fetches a blob into the content store (under the lease) unless it is there; returns whether it
 * downloaded it (false: the store had it, or another pull wrote it meanwhile, and `sink` got nothing).
 */
export async function fetchBlob(deps: PullDeps, ref: ImageReference, d: Descriptor, leaseId: string, o: FetchOptions = {}): Promise<boolean> {
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
    let lastAt = 0;
    // The writer checks the digest at commit (and throws the ingest away if it is wrong).
    for await (const chunk of deps.registry.getBlob(ref, d.digest, d.size, { verified: false })) {
      o.signal?.throwIfAborted();
      await w.write(chunk);
      // At most ten updates a second, as Docker's: each is a message the API sends and the client draws.
      if (o.progress && ((w.offset - last > 256 * 1024 && performance.now() - lastAt >= 100) || w.offset === d.size)) {
        last = w.offset;
        lastAt = performance.now();
        o.progress({ status: 'Downloading', id: shortId(d.digest), progressDetail: { current: w.offset, total: d.size } });
      }
      await o.sink?.(chunk);
    }
    await committedDigest(w.commit()).catch((err: unknown) => {
      throw err instanceof DigestMismatch ? new BerthError('FAILED_PRECONDITION', `blob ${d.digest} of ${formatReference(ref)}: ${ref.registry} sent content with digest ${err.actual}`) : err;
    });
    addDistributionSource(deps.content, d.digest, ref);
    return true;
  } catch (err) {
    await w.close().catch(() => {});
    throw err;
  }
}

const SOURCE = 'containerd.io/distribution.source.';

/** The distribution-source label of a blob that only `ref`'s repository is known to have. */
export function sourceLabel(ref: ImageReference): Record<string, string> {
  return { [`${SOURCE}${ref.registry}`]: ref.repository };
}

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
