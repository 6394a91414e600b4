// A container's mounts, in Docker's order of events (moby's registerMountPoints, setupMounts,
// removeMountPoints):
//   create  resolveMounts: --volumes-from, then Binds (-v), then Mounts (--mount), then the
//           image's VOLUMEs not otherwise mounted; named volumes looked up or created, anonymous
//           ones created, every volume referenced by the container → its MountPoints;
//   start   prepareMounts: volumes mounted, bind sources made (-v), destinations resolved inside
//           the mounted rootfs, mount points created there, copy-up → OCI mounts;
//   stop    releaseMounts: volumes unmounted;
//   remove  removeContainerVolumes: references dropped, anonymous volumes removed for `rm -v`.
import { lstatSync, mkdirSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError, invalid } from '../common/errors.js';
import { copyTree } from './copy-up.js';
import { removeTree } from './fs-util.js';
import { cleanPath, mergeTmpfsOptions, parseBind, parseMountSpec, parseVolumesFrom, tmpfsOptions, type ParsedMount } from './parse.js';
import { ensureMountpoint, resolveInRootfs } from './rootfs-path.js';
import { LOCAL_DRIVER, type VolumeStore } from './store.js';
import type { InspectMount, MountPoint, OciMount, VolumeHostConfig } from './types.js';
import { isPathUnder, pathDepth } from '../common/paths.js';

export interface ResolveMountsInput {
  containerId: string;
  /** The container's HostConfig (Binds, Mounts, VolumesFrom, Tmpfs, VolumeDriver). */
  hostConfig: VolumeHostConfig;
  /** The merged Config.Volumes (the image's VOLUMEs and the request's). */
  imageVolumes?: Record<string, unknown> | null;
  /**
   * For --volumes-from: the other container's full ID and its mount points, by name or ID. Throws
   * (NOT_FOUND) when there is no such container.
   */
  containerMounts?: (ref: string) => { id: string; mounts: readonly MountPoint[] };
  /** The daemon's data root: a bind from in or above it gets rslave propagation, as in Docker. */
  daemonRoot?: string;
}

export interface ResolvedMounts {
  /** The container's mount points, for its record (and inspect, --volumes-from, start, rm). */
  mounts: MountPoint[];
  /** Volumes this call created (named or anonymous); anonymous ones are also in `mounts` with Anonymous. */
  createdVolumes: string[];
}


/** Docker's validateBindDaemonRoot: a bind of the daemon's root (or above it) must not keep private copies of its mounts. */
function applyDaemonRootRule(p: ParsedMount, daemonRoot: string | undefined): void {
  const m = p.point;
  if (m.Type !== 'bind' || !daemonRoot) return;
  if (!isPathUnder(m.Source, daemonRoot) && !isPathUnder(daemonRoot, m.Source)) return;
  if (!p.explicitPropagation) {
    m.Propagation = 'rslave';
    return;
  }
  if (m.Propagation !== 'rslave' && m.Propagation !== 'rshared') {
    throw invalid(`invalid mount config: must use either propagation mode "rslave" or "rshared" when mount source is within the daemon root, daemon root: ${JSON.stringify(daemonRoot)}, bind mount source: ${JSON.stringify(m.Source)}, propagation: ${JSON.stringify(m.Propagation)}`);
  }
}

/**
 * At container create: every mount the container will have, with its volumes created (or found)
 * and referenced by `containerId`. Everything is parsed and checked before the first volume is
 * made; if making one fails, the volumes this call created and the references it added are
 * taken back. Errors are Docker's ("Duplicate mount point: /dst", "invalid volume
 * specification: …", "invalid mount config for type \"bind\": bind source path does not exist: /x").
 */
export function resolveMounts(store: VolumeStore, input: ResolveMountsInput): ResolvedMounts {
  const h = input.hostConfig;
  for (const k of ['Binds', 'Mounts', 'VolumesFrom'] as const) {
    if (h[k] !== undefined && h[k] !== null && !Array.isArray(h[k])) throw invalid(`HostConfig.${k} must be an array`);
  }
  const tmpfs = new Set(Object.keys(h.Tmpfs ?? {}).map(cleanPath));
  const planned = new Map<string, ParsedMount>(); // by destination, as Docker's MountPoints
  const inherited: string[] = []; // volumes taken over from --volumes-from

  // 1. --volumes-from: the other container's mounts, read-only if asked, never copied up.
  for (const entry of h.VolumesFrom ?? []) {
    const { ref, rw } = parseVolumesFrom(entry);
    if (!input.containerMounts) throw invalid('--volumes-from is not available here');
    const other = input.containerMounts(ref);
    for (const m of other.mounts) {
      const point: MountPoint = { ...m, Mode: '', RW: m.RW && rw, CopyData: false };
      if (point.Type === 'tmpfs' && !point.RW) point.TmpfsOptions = mergeTmpfsOptions([...(point.TmpfsOptions ?? []), 'ro']);
      planned.set(point.Destination, { point, explicitPropagation: true });
    }
  }

  // 2. Binds (-v): they replace a --volumes-from mount on the same path, not each other.
  const explicit = new Set<string>();
  for (const raw of h.Binds ?? []) {
    const p = parseBind(raw, h.VolumeDriver || undefined);
    applyDaemonRootRule(p, input.daemonRoot);
    const dest = p.point.Destination;
    if (explicit.has(dest) || tmpfs.has(dest)) throw invalid(`Duplicate mount point: ${dest}`);
    explicit.add(dest);
    planned.set(dest, p);
  }

  // 3. Mounts (--mount).
  for (const spec of h.Mounts ?? []) {
    const p = parseMountSpec(spec, h.VolumeDriver || undefined);
    applyDaemonRootRule(p, input.daemonRoot);
    const dest = p.point.Destination;
    if (explicit.has(dest) || tmpfs.has(dest)) throw invalid(`Duplicate mount point: ${spec.Target}`);
    explicit.add(dest);
    planned.set(dest, p);
  }

  // 4. The image's VOLUMEs that nothing else mounts: anonymous volumes, copied up.
  for (const key of Object.keys(input.imageVolumes ?? {}).sort()) {
    const dest = cleanPath(key.startsWith('/') ? key : `/${key}`);
    if (dest === '/') throw invalid(`Config.Volumes: invalid volume path '${key}': a volume cannot be mounted on /`);
    if (planned.has(dest) || tmpfs.has(dest)) continue;
    planned.set(dest, {
      point: { Type: 'volume', Name: '', Source: '', Destination: dest, Driver: '', Mode: '', RW: true, Propagation: '', CopyData: true, Anonymous: true },
      volume: { name: '', driver: h.VolumeDriver || undefined },
      explicitPropagation: false,
    });
  }
  for (const p of planned.values()) if (!p.volume && p.point.Type === 'volume') inherited.push(p.point.Name);

  // Now the volumes: created or found, each referenced by the container.
  const created: string[] = [];
  const referenced: string[] = [];
  try {
    for (const p of planned.values()) {
      if (!p.volume) continue;
      const { volume, created: isNew } = store.createOrGet({ Name: p.volume.name || undefined, Driver: p.volume.driver, DriverOpts: p.volume.driverOpts, Labels: p.volume.labels });
      if (isNew) created.push(volume.Name);
      Object.assign(p.point, { Name: volume.Name, Source: volume.Mountpoint, Driver: volume.Driver });
      store.reference(volume.Name, input.containerId);
      referenced.push(volume.Name);
    }
    for (const name of inherited) {
      store.reference(name, input.containerId);
      referenced.push(name);
    }
  } catch (err) {
    for (const name of referenced) store.release(name, input.containerId);
    for (const name of created) {
      try {
        store.remove(name, { force: true });
      } catch {
        // in use by someone else meanwhile: theirs now
      }
    }
    throw err;
  }
  return { mounts: [...planned.values()].map((p) => p.point), createdVolumes: created };
}

export interface PrepareMountsOptions {
  containerId: string;
  /** The container's root filesystem, mounted on the host (what SpecInputs.rootfs names). */
  rootfs: string;
  /**
   * Copy the image's content into empty volumes that ask for it (CopyData). Docker does it once,
   * when the container is created: pass true on a container's first start only (default true).
   */
  copyUp?: boolean;
}

const RUNTIME_FILESYSTEMS = ['/proc', '/sys', '/dev'];


function isEmptyDir(path: string): boolean {
  return readdirSync(path).length === 0;
}

/**
 * At container start, with its rootfs mounted: mounts its volumes (first user mounts a volume
 * with driver options), creates missing -v bind sources, resolves every destination inside the
 * rootfs (symlinks followed chroot-style, the result is the OCI destination), creates missing
 * mount points there, copies image content into empty volumes, and returns the OCI mounts for
 * SpecInputs.mounts, parents before children. On failure, the volumes it mounted are let go.
 */
export function prepareMounts(store: VolumeStore, points: readonly MountPoint[], opts: PrepareMountsOptions): OciMount[] {
  const root = realpathSync(opts.rootfs);
  const acquired: string[] = [];
  const out: OciMount[] = [];
  const byDest = new Map<string, string>();
  const ordered = points.map((p, i) => ({ p, i })).sort((a, b) => pathDepth(a.p.Destination) - pathDepth(b.p.Destination) || a.i - b.i).map(({ p }) => p);
  try {
    for (const p of ordered) {
      let source = p.Source;
      let kind: 'dir' | 'file' = 'dir';
      if (p.Type === 'bind') {
        let st;
        try {
          st = statSync(source);
        } catch {
          if (!p.CreateSource) throw invalid(`invalid mount config for type "bind": bind source path does not exist: ${source}`);
          try {
            // The administrator's host path, made as Docker's MkdirAllAndChown(0755) makes it.
            mkdirSync(source, { recursive: true, mode: 0o755 });
            st = statSync(source);
          } catch (err) {
            throw invalid(`error while creating mount source path '${source}': ${(err as Error).message}`);
          }
        }
        kind = st.isDirectory() ? 'dir' : 'file';
      } else if (p.Type === 'volume') {
        source = store.mount(p.Name, opts.containerId, { destination: p.Destination, 'read/write': String(p.RW), propagation: p.Propagation });
        acquired.push(p.Name);
      }
      const { containerPath, hostPath } = resolveInRootfs(root, p.Destination);
      if (containerPath === '/') throw invalid(`mount destination ${p.Destination} resolves to / in the container: refusing to mount over the root`);
      const seen = byDest.get(containerPath);
      if (seen !== undefined) throw invalid(`Duplicate mount point: ${containerPath} (${seen} and ${p.Destination} both lead there in the container)`);
      byDest.set(containerPath, p.Destination);
      // Below /proc, /sys and /dev the runtime's own mounts hide the image: it makes those mount
      // points itself, inside its mounts, so none is left in the container's layer.
      const existed = RUNTIME_FILESYSTEMS.some((fs) => containerPath.startsWith(`${fs}/`))
        ? lstatSync(hostPath, { throwIfNoEntry: false }) !== undefined
        : ensureMountpoint(root, containerPath, kind);
      // Copy-up only into an empty volume nobody else has mounted: a running container could
      // otherwise plant symlinks in it while the copy writes there.
      if (p.Type === 'volume' && p.CopyData && (opts.copyUp ?? true) && existed && lstatSync(hostPath).isDirectory() && isEmptyDir(source)) {
        const others = store.mountedBy(p.Name).filter((id) => id !== opts.containerId);
        if (others.length === 0) copyUp(hostPath, source, p);
      }
      out.push(ociMount(p, containerPath, source));
    }
  } catch (err) {
    for (const name of acquired) {
      try {
        store.unmount(name, opts.containerId);
      } catch {
        // the original error says more
      }
    }
    throw err;
  }
  return out;
}

/** Copies, or leaves the volume empty again: a half copy would never be completed (the volume is not empty any more). */
function copyUp(from: string, volumePath: string, p: MountPoint): void {
  try {
    copyTree(from, volumePath);
  } catch (err) {
    for (const name of readdirSync(volumePath)) {
      try {
        removeTree(join(volumePath, name));
      } catch {
        // what cannot go stays; the error below says why the copy failed
      }
    }
    throw new BerthError('INTERNAL', `copying the image's ${p.Destination} into volume ${p.Name}: ${(err as Error).message}`);
  }
}

function ociMount(p: MountPoint, destination: string, source: string): OciMount {
  if (p.Type === 'tmpfs') {
    const options = p.TmpfsOptions ?? tmpfsOptions({ Type: 'tmpfs', Target: p.Destination });
    return { destination, type: 'tmpfs', source: 'tmpfs', options: p.RW ? options : mergeTmpfsOptions([...options, 'ro']) };
  }
  const options = [p.NonRecursive ? 'bind' : 'rbind', p.RW ? 'rw' : 'ro'];
  if (p.Propagation) options.push(p.Propagation);
  return { destination, type: 'bind', source, options };
}

/** The volume names a container's mount points refer to (for VolumeStore.restore). */
export function volumeNames(points: readonly MountPoint[]): string[] {
  return [...new Set(points.filter((p) => p.Type === 'volume' && p.Name).map((p) => p.Name))];
}

/**
 * At container stop (the task is gone): lets go of its volumes; the last user unmounts a volume
 * with driver options. Returns what failed, for the engine's log: a stop does not fail on it.
 */
export function releaseMounts(store: VolumeStore, points: readonly MountPoint[], containerId: string): string[] {
  const problems: string[] = [];
  for (const name of volumeNames(points)) {
    try {
      store.unmount(name, containerId);
    } catch (err) {
      problems.push(`volume ${name}: ${(err as Error).message}`);
    }
  }
  return problems;
}

/**
 * At container remove: drops the container's references; with `removeVolumes` (`rm -v`, and
 * `--rm`) removes its anonymous volumes too, unless another container still uses one (not an
 * error, as in Docker). Returns the volumes removed and what failed.
 */
export function removeContainerVolumes(store: VolumeStore, points: readonly MountPoint[], containerId: string, opts: { removeVolumes?: boolean } = {}): { removed: string[]; problems: string[] } {
  const removed: string[] = [];
  const problems: string[] = [];
  for (const name of volumeNames(points)) {
    try {
      store.release(name, containerId);
    } catch (err) {
      problems.push(`volume ${name}: ${(err as Error).message}`);
    }
  }
  if (!opts.removeVolumes) return { removed, problems };
  const anonymous = new Set(points.filter((p) => p.Type === 'volume' && p.Anonymous && p.Name).map((p) => p.Name));
  for (const name of anonymous) {
    if (!store.has(name) || store.users(name).length) continue;
    try {
      store.remove(name);
      removed.push(name);
    } catch (err) {
      problems.push(`volume ${name}: ${(err as Error).message}`);
    }
  }
  return { removed, problems };
}

/** The container's mount points as `docker inspect` shows them under "Mounts". */
export function inspectMounts(points: readonly MountPoint[]): InspectMount[] {
  return points.map((p) => {
    if (p.Type === 'volume') return { Type: 'volume', Name: p.Name, Source: p.Source, Destination: p.Destination, Driver: p.Driver || LOCAL_DRIVER, Mode: p.Mode, RW: p.RW, Propagation: p.Propagation };
    return { Type: p.Type, Source: p.Source, Destination: p.Destination, Mode: p.Mode, RW: p.RW, Propagation: p.Propagation };
  });
}
