// The naive snapshotter, for filesystems overlayfs cannot sit on: every snapshot is a full copy of
// its parent (cp -a keeps owners, modes, times, links, devices and xattrs) and is bind-mounted.
import { spawnSync } from 'node:child_process';
import { BerthError } from '../../common/errors.js';
import { SnapshotterBase } from './base.js';
import type { Mount, SnapshotKind } from './types.js';

export class NaiveSnapshotter extends SnapshotterBase {
  readonly name = 'naive';

  protected populate(fsDir: string, parents: string[]): void {
    if (parents.length === 0) return;
    const r = spawnSync('cp', ['-a', '--', `${parents[0]}/.`, fsDir], { encoding: 'utf8' });
    if (r.status !== 0) throw new BerthError('INTERNAL', `copy of snapshot layer ${parents[0]} failed: ${(r.stderr || r.error?.message || '').trim()}`);
  }

  protected mountsOf(kind: SnapshotKind, own: { fs: string }): Mount[] {
    return [{ type: 'bind', source: own.fs, options: [kind === 'view' ? 'ro' : 'rw', 'rbind'] }];
  }
}
