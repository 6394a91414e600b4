// `docker cp` sees a container as its processes do: its volumes, binds and /etc files over its
// root filesystem. Those mounts live in the container's own mount namespace, not on the host's
// view of its rootfs, so for the copy they are mounted there too, and taken down after (older
// Docker's mountVolumes did the same). The host's view of a rootfs is a private mount: nothing
// mounted on it reaches the container. A tmpfs exists only inside the container and is not
// reached (Docker 25 enters the container's namespace for it).
import { realpathSync, statSync } from 'node:fs';
import { invalid } from '../common/errors.js';
import { mountAll, unmountAll } from '../sys/mount.js';
import { ensureMountpoint, resolveInRootfs } from './rootfs-path.js';
import type { VolumeStore } from './store.js';
import type { MountPoint } from './types.js';
import { pathDepth } from '../common/paths.js';

/** A file the engine binds into every container (/etc/hostname, /etc/hosts, /etc/resolv.conf). */
export interface FileBind {
  source: string;
  destination: string;
}

/**
 * Mounts the container's volumes, binds and `files` on its rootfs (mounted on the host), parents
 * before children; returns the function that takes them down again. Volumes are held under
 * `holder` meanwhile, so a volume with driver options is mounted for the copy if no container has
 * it. A bind whose source is gone is left out (the copy sees what is under it).
 */
export function mountForCopy(store: VolumeStore, points: readonly MountPoint[], rootfs: string, opts: { holder: string; files: readonly FileBind[] }): () => void {
  const root = realpathSync(rootfs);
  const mounted: string[] = [];
  const held: string[] = [];
  const undo = () => {
    for (const target of mounted.reverse()) unmountAll(target, { lazy: true });
    for (const name of held) store.unmount(name, opts.holder);
  };
  // Volumes and binds as the container has them, then the engine's files; parents before children.
  const targets: Array<{ destination: string; point?: MountPoint; file?: FileBind }> = [
    ...points.filter((p) => p.Type !== 'tmpfs').map((point) => ({ destination: point.Destination, point })),
    ...opts.files.map((file) => ({ destination: file.destination, file })),
  ].sort((a, b) => pathDepth(a.destination) - pathDepth(b.destination));
  try {
    for (const { destination, point, file } of targets) {
      let source = file?.source ?? point!.Source;
      if (point?.Type === 'volume') {
        source = store.mount(point.Name, opts.holder);
        held.push(point.Name);
      }
      let kind: 'dir' | 'file';
      try {
        kind = statSync(source).isDirectory() ? 'dir' : 'file';
      } catch {
        continue;
      }
      const { containerPath, hostPath } = resolveInRootfs(root, destination);
      if (containerPath === '/') throw invalid(`mount destination ${destination} resolves to / in the container`);
      ensureMountpoint(root, containerPath, kind);
      const bind = point && !point.NonRecursive ? 'rbind' : 'bind';
      mountAll([{ type: 'bind', source, options: [bind, point && !point.RW ? 'ro' : 'rw'] }], hostPath);
      mounted.push(hostPath);
    }
  } catch (err) {
    undo();
    throw err;
  }
  return undo;
}
