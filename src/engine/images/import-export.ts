// `docker import`: a root filesystem tar (plain, gzip or zstd) becomes a one-layer image, with
// `--change` instructions and a message; and the reverse, a filesystem tree as a tar, which
// `docker export` streams from a container's root.
import { decompressed } from '../../image/apply-layer.js';
import { applyChanges } from '../../image/changes.js';
import type { ImageConfig } from '../../image/config.js';
import { naiveChanges, writeLayer } from '../../image/diff-layer.js';
import { parsePlatform } from '../../image/manifest.js';
import { formatReference, parseReference } from '../../image/reference.js';
import { storeLayerTar, withLease } from '../../supervisor/images/layers.js';
import type { ImageService, LocalImage } from './service.js';
import { configFor, writeImage } from '../../supervisor/images/write-image.js';

export interface ImportOptions {
  /** The name to record ("repo[:tag]"); none leaves a <none>:<none> image. */
  name?: string;
  changes?: string[];
  message?: string;
  platform?: string;
}

export async function importImage(svc: ImageService, source: AsyncIterable<Buffer>, opts: ImportOptions = {}): Promise<LocalImage> {
  const ref = opts.name ? parseReference(opts.name) : undefined; // checked before any byte is read
  const platform = parsePlatform(opts.platform ?? svc.deps.platform);
  const config = applyChanges({}, opts.changes ?? []);
  const created = new Date().toISOString();
  const comment = opts.message || 'Imported from -';
  const target = await withLease(svc.deps.leases, { 'berth.import': opts.name ?? '' }, async (leaseId) => {
    const layer = await storeLayerTar(svc.deps, decompressed(source), leaseId);
    const image: ImageConfig = {
      architecture: platform.architecture, os: platform.os, ...(platform.variant ? { variant: platform.variant } : {}),
      created, comment, config,
      rootfs: { type: 'layers', diff_ids: [] },
      history: [{ created, comment, created_by: '' }],
    };
    const t = await writeImage(svc.deps, leaseId, configFor(image, [layer]), [layer]);
    if (ref) svc.setName(formatReference(ref), t);
    else svc.addUnnamed(t);
    return t;
  });
  return svc.byTarget(target.digest);
}

/** Every file under `dir` as a tar stream (owners, modes, links, devices kept). */
export function exportTree(dir: string): AsyncGenerator<Buffer> {
  return writeLayer(dir, naiveChanges(undefined, dir));
}
