// `docker commit`: a container's changes (its writable snapshot diffed against its image) become a
// new layer on top of the image's, with the container's config (and any --change) as the new
// image's config and a history entry for the command that made it.
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { applyChanges } from '../../image/changes.js';
import type { ImageConfig } from '../../image/config.js';
import { naiveChanges, overlayChanges, writeLayer } from '../../image/diff-layer.js';
import { formatReference, parseReference } from '../../image/reference.js';
import { mountAll, unmountAll } from '../../sys/mount.js';
import { anyHas, lowerLayerDirs, writableLayerDir } from '../../supervisor/snapshots/types.js';
import { withoutInitFiles } from './init-files.js';
import { storeLayerTar, withLease } from '../../supervisor/images/layers.js';
import type { ImageService, LocalImage } from '../images/service.js';
import { configFor, writeImage, type ImageLayer } from '../../supervisor/images/write-image.js';
import type { ContainerConfig } from './api-types.js';
import type { ContainerService } from './service.js';

export interface CommitOptions {
  /** "repo[:tag]"; none leaves a <none>:<none> image. */
  name?: string;
  comment?: string;
  author?: string;
  changes?: string[];
  /** Pause the container while its changes are read (Docker's default). */
  pause?: boolean;
  /** A config to use instead of the container's (the API body). */
  config?: ContainerConfig;
}

/** The container's snapshot as a layer tar: overlay's upper directory, or a naive copy beside its parent. */
export async function* changesTar(svc: ContainerService, key: string, parent: string | undefined, execRoot: string): AsyncGenerator<Buffer> {
  const sn = svc.deps.snapshotter;
  const mounts = sn.mounts(key);
  const upper = writableLayerDir(mounts);
  if (sn.name === 'overlayfs') {
    yield* writeLayer(upper, withoutInitFiles(overlayChanges(upper), anyHas(lowerLayerDirs(mounts))));
    return;
  }
  const view = `commit-view-${key}`;
  const dir = mkdtempSync(join(execRoot, 'commit-'));
  const lower = join(dir, 'lower');
  mkdirSync(lower);
  try {
    if (parent) mountAll(sn.view(view, parent), lower);
    yield* writeLayer(upper, withoutInitFiles(naiveChanges(parent ? lower : undefined, upper), anyHas(parent ? [lower] : [])));
  } finally {
    if (parent) {
      unmountAll(lower);
      sn.remove(view);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function commitContainer(containers: ContainerService, images: ImageService, ref: string, o: CommitOptions = {}): Promise<LocalImage> {
  const c = containers.get(ref);
  const target = o.name ? formatReference(parseReference(o.name)) : undefined; // a bad name fails first
  const base = images.get(c.Image);
  const tasks = containers.deps.tasks;
  const ns = containers.deps.namespace;
  const pause = (o.pause ?? true) && c.State.Running && !c.State.Paused;
  if (pause) await tasks.pause(ns, c.ID);
  let layer: ImageLayer;
  const manifest = await withLease(images.deps.leases, { 'berth.commit': c.ID }, async (leaseId) => {
    try {
      layer = await storeLayerTar(images.deps, changesTar(containers, c.SnapshotKey, c.ImageChainId, containers.deps.execRoot), leaseId);
    } finally {
      if (pause) await tasks.resume(ns, c.ID).catch(() => {});
    }
    const now = new Date().toISOString();
    const containerConfig = { ...(o.config ?? c.Config), Image: c.Config.Image };
    const config: ImageConfig = {
      ...base.config,
      created: now,
      author: o.author ?? '',
      comment: o.comment ?? '',
      container: c.ID,
      container_config: c.Config as ImageConfig['container_config'],
      config: applyChanges(containerConfig as ImageConfig['config'] & object, o.changes ?? []),
      history: [...(base.config.history ?? []), { created: now, created_by: [c.Path, ...c.Args].join(' '), ...(o.author ? { author: o.author } : {}), ...(o.comment ? { comment: o.comment } : {}) }],
    };
    const layers: ImageLayer[] = [...base.manifest.layers.map((d, i) => ({ descriptor: d, diffId: base.config.rootfs.diff_ids[i]! })), layer];
    const t = await writeImage(images.deps, leaseId, configFor(config, layers), layers);
    if (target) images.setName(target, t);
    else images.addUnnamed(t);
    return t;
  });
  return images.byTarget(manifest.digest);
}
