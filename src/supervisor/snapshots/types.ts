// Snapshots as containerd models them: a committed snapshot is an immutable layer stack keyed by
// name (the image's chain ID); an active one is a writable layer on top of a parent; a view is a
// read-only look at a parent. Callers mount what `mounts()` returns.
import { lstatSync } from 'node:fs';
import { join } from 'node:path';

export type SnapshotKind = 'active' | 'view' | 'committed';

export interface Mount {
  type: string;
  source: string;
  options: string[];
}

export interface SnapshotInfo {
  key: string;
  kind: SnapshotKind;
  parent?: string;
  labels: Record<string, string>;
  created: string;
  updated: string;
}

export interface Usage {
  /** Bytes on disk in this snapshot's own layer. */
  size: number;
  inodes: number;
}

export interface Snapshotter {
  readonly name: string;
  /**
   * Whether a new layer starts empty whatever its parent (overlay: the parents show through), so
   * a layer can be written before its parent is committed and given its parent at commit
   * (containerd's "rebase" capability, which lets a pull unpack its layers in parallel).
   */
  readonly rebase?: boolean;
  prepare(key: string, parent?: string, labels?: Record<string, string>): Mount[];
  view(key: string, parent?: string, labels?: Record<string, string>): Mount[];
  mounts(key: string): Mount[];
  /** With `parent` (a committed snapshot), the committed snapshot has it as its parent instead: only with `rebase`. */
  commit(name: string, key: string, labels?: Record<string, string>, opts?: { parent?: string }): void;
  remove(key: string): void;
  stat(key: string): SnapshotInfo;
  update(key: string, labels: Record<string, string>): SnapshotInfo;
  list(): SnapshotInfo[];
  usage(key: string): Usage;
}

/**
 * The directory a layer is unpacked into for an active snapshot's mounts: overlay's upperdir, or
 * the bind source of a snapshot that is a plain directory.
 */
/** An overlay snapshot's read-only layer directories, topmost first; none for a plain directory. */
export function lowerLayerDirs(mounts: readonly Mount[]): string[] {
  return mounts[0]?.options.find((o) => o.startsWith('lowerdir='))?.slice('lowerdir='.length).split(':') ?? [];
}

/** Whether any of `dirs` has `path` (relative): what a snapshot's parents hold under it. */
export function anyHas(dirs: readonly string[]): (path: string) => boolean {
  return (path) => dirs.some((d) => {
    try {
      lstatSync(join(d, path));
      return true;
    } catch {
      return false;
    }
  });
}

export function writableLayerDir(mounts: readonly Mount[]): string {
  const m = mounts[0];
  const upper = m?.options.find((o) => o.startsWith('upperdir='));
  if (upper) return upper.slice('upperdir='.length);
  if (m?.type === 'bind' && m.options.includes('rw')) return m.source;
  throw new Error('the snapshot has no writable layer directory');
}
