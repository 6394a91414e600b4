// Fetching a layer and unpacking it in one pass: each chunk from the registry goes into the
// content store's ingest and, as it arrives, through the decompressor and the tar applier into a
// snapshot directory; the blob is neither read back from disk nor waited for before unpacking
// starts. Nothing is trusted early: the caller commits the snapshot only after this returns, that
// is once the ingest's commit has checked the blob's digest (and made it durable) and the
// applier has checked the layer's diff ID.
import { ByteChannel } from '../../common/byte-channel.js';
import { applyLayer } from '../../image/apply-layer.js';
import type { Descriptor } from '../../image/manifest.js';
import type { ImageReference } from '../../image/reference.js';
import { fetchBlob, type FetchOptions, type PullDeps } from './fetch.js';

/** How far the download may run ahead of the unpacking, in bytes. */
const AHEAD = 8 << 20;

/**
 * Fetches `layer` into the content store while applying it to `dir` (an active snapshot's
 * directory). When the store already has the blob, it is applied from there. Errors: a download
 * that fails or brings other bytes than the digest names wins over the applier's error (a blob
 * with the wrong bytes is not a broken tar); the download goes on after the applier fails, so
 * that the digest can be checked.
 */
export async function fetchAndUnpack(deps: PullDeps, ref: ImageReference, layer: Descriptor, diffId: string, dir: string, leaseId: string, o: Omit<FetchOptions, 'sink'> = {}): Promise<void> {
  const channel = new ByteChannel(AHEAD);
  const applying = applyLayer(dir, channel, deps.whiteouts, { diffId });
  // However the applier ends, the download must not wait for it any more.
  const applied = applying.then(() => undefined, (err: unknown) => err ?? new Error('layer apply failed')).finally(() => channel.stop());
  let fetchError: unknown;
  try {
    const downloaded = await fetchBlob(deps, ref, layer, leaseId, { ...o, sink: (chunk) => channel.push(chunk) });
    if (!downloaded) for await (const chunk of deps.content.reader(layer.digest)) await channel.push(chunk as Buffer);
    channel.end();
  } catch (err) {
    fetchError = err;
    channel.end(err);
  }
  const applyError = await applied;
  if (fetchError !== undefined) throw fetchError;
  if (applyError !== undefined) throw applyError;
}
