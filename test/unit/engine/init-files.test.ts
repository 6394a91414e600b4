// What the engine makes in a container's layer for itself stays out of its diff and commits.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { withoutInitFiles } from '../../../src/engine/containers/init-files.js';
import type { Change } from '../../../src/image/diff-layer.js';

const add = (path: string): Change => ({ path, kind: 'add' });

describe('withoutInitFiles', () => {
  it('drops the init paths and the image directories that only hold them', () => {
    const changes = [add('.dockerenv'), add('etc'), add('etc/hostname'), add('etc/hosts'), add('etc/resolv.conf'), add('etc/mtab'), add('proc'), add('made')];
    assert.deepEqual(withoutInitFiles(changes, (p) => p === 'etc'), [add('made')]);
  });

  it('keeps a directory the image did not have, one with other changes, and deletions of init paths', () => {
    const changes = [add('etc'), add('etc/hosts'), add('etc/app.conf'), add('run'), { path: 'etc/mtab', kind: 'delete' } as Change];
    assert.deepEqual(withoutInitFiles(changes, () => true), [add('etc'), add('etc/app.conf'), add('run'), { path: 'etc/mtab', kind: 'delete' }]);
    // An image without /etc: the container's layer made it, so it is the container's.
    assert.deepEqual(withoutInitFiles([add('etc'), add('etc/hosts')], () => false), [add('etc')]);
  });
});
