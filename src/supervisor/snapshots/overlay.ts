// The overlay snapshotter: each snapshot is one overlayfs layer. An active snapshot mounts its
// own directory as upperdir over its parents' (lowerdir, nearest first); a view mounts the
// parents read-only; a snapshot without parents is a bind mount of its own directory. A new layer
// starts empty whatever its parent, so a layer can be unpacked before its parent is committed and
// be given it at commit (rebase).
import { SnapshotterBase } from './base.js';
import type { Mount, SnapshotKind } from './types.js';

export class OverlaySnapshotter extends SnapshotterBase {
  readonly name = 'overlayfs';
  override readonly rebase = true;

  protected populate(): void {
    // A new overlay layer starts empty: the parents show through.
  }

  protected mountsOf(kind: SnapshotKind, own: { fs: string; work: string }, parents: string[]): Mount[] {
    const ro = kind === 'view';
    if (parents.length === 0) return [{ type: 'bind', source: own.fs, options: [ro ? 'ro' : 'rw', 'rbind'] }];
    if (ro && parents.length === 1) return [{ type: 'bind', source: parents[0]!, options: ['ro', 'rbind'] }];
    if (ro) return [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${parents.join(':')}`] }];
    return [{ type: 'overlay', source: 'overlay', options: [`workdir=${own.work}`, `upperdir=${own.fs}`, `lowerdir=${parents.join(':')}`] }];
  }
}
