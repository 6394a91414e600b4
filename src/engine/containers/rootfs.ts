// A container's root filesystem seen from the host, outside a start: mounted for a call (cp,
// export, diff, build steps) and its sizes (inspect --size, ps -s, system df).
import { mkdirSync } from 'node:fs';
import { changesSize, overlayChanges } from '../../image/diff-layer.js';
import { anyHas, lowerLayerDirs, writableLayerDir, type Snapshotter } from '../../supervisor/snapshots/types.js';
import { isMountPoint, mountAll, unmountAll } from '../../sys/mount.js';
import { mountForCopy } from '../../volume/copy-mounts.js';
import { withoutInitFiles } from './init-files.js';
import type { ContainerRecord } from './record.js';
import { runRootfs } from './run-bundle.js';
import type { ContainerServiceDeps } from './service.js';

/**
 * Runs `fn` with the container's root filesystem mounted on the host: the running container's own
 * mount, or a mount made for the call and taken down after it; with `withMounts` (docker cp), its
 * volumes, binds and /etc files mounted over it for the call (see volume/copy-mounts.ts). The
 * caller holds the container's turn, so a stop or rm does not unmount the tree under `fn`.
 */
export async function withMountedRootfs<T>(
  deps: RootfsDeps, c: ContainerRecord, fn: (rootfs: string) => Promise<T>, opts: { withMounts?: boolean } = {},
): Promise<T> {
  if (!opts.withMounts) return withRootfsOnly(deps, c, fn);
  return withRootfsOnly(deps, c, async (rootfs) => {
    const files = [['hostname', c.HostnamePath], ['hosts', c.HostsPath], ['resolv.conf', c.ResolvConfPath]]
      .filter(([, source]) => source).map(([name, source]) => ({ source: source!, destination: `/etc/${name}` }));
    const unmount = mountForCopy(deps.volumes, c.MountPoints ?? [], rootfs, { holder: `${c.ID}-copy`, files });
    try {
      return await fn(rootfs);
    } finally {
      unmount();
    }
  });
}

type RootfsDeps = Pick<ContainerServiceDeps, 'store' | 'tasks' | 'namespace' | 'snapshotter' | 'execRoot' | 'volumes' | 'warn'>;

async function withRootfsOnly<T>(deps: RootfsDeps, c: ContainerRecord, fn: (rootfs: string) => Promise<T>): Promise<T> {
  const rootfs = runRootfs(deps.execRoot, c.ID);
  const now = deps.store.get(c.ID);
  if (now.State.Running) {
    // berth resolves a path inside the rootfs, then uses it: a process of the container could
    // swap a directory on it for a symlink to "/" in between and have the host's files read or
    // written (CVE-2018-15664). Its processes are frozen meanwhile, as podman cp --pause does.
    const freeze = !now.State.Paused;
    if (freeze) await deps.tasks.pause(deps.namespace, c.ID);
    try {
      return await fn(rootfs);
    } finally {
      if (freeze) await deps.tasks.resume(deps.namespace, c.ID).catch((err) => deps.warn?.(`container ${c.ID.slice(0, 12)}: thawing after a copy: ${(err as Error).message}`));
    }
  }
  if (isMountPoint(rootfs)) return fn(rootfs);
  mkdirSync(rootfs, { recursive: true, mode: 0o755 });
  mountAll(deps.snapshotter.mounts(c.SnapshotKey), rootfs);
  try {
    return await fn(rootfs);
  } finally {
    unmountAll(rootfs);
  }
}

/** Docker's SizeRw (bytes the container wrote) and SizeRootFs (those plus its image's). */
/**
 * Docker's SizeRw: the sizes of the files the container added or changed (its own, not the init
 * files berth made for it), not the disk blocks its layer takes (the snapshotter's usage, which a
 * naive snapshot's full copy still answers with).
 */
function writtenBytes(sn: Snapshotter, key: string): number {
  if (sn.name !== 'overlayfs') return sn.usage(key).size;
  const mounts = sn.mounts(key);
  const upper = writableLayerDir(mounts);
  return changesSize(upper, withoutInitFiles(overlayChanges(upper), anyHas(lowerLayerDirs(mounts))));
}

export function rootfsSizes(deps: Pick<ContainerServiceDeps, 'snapshotter' | 'images'>, c: ContainerRecord): { rw: number; rootfs: number } {
  let rw = 0;
  try {
    rw = writtenBytes(deps.snapshotter, c.SnapshotKey);
  } catch {
    // the snapshot is gone (a removal under way)
  }
  let image = 0;
  try {
    image = deps.images.size(deps.images.get(c.Image));
  } catch {
    // its image was removed with -f
  }
  return { rw, rootfs: rw + image };
}
