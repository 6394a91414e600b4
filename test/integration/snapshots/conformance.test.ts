// One conformance suite, every snapshotter: layers stack and hide what a child deleted, views are
// read-only, the model's rules hold (committed parents, unique names, children before parents),
// a parent given at commit is taken by a snapshotter that rebases and refused by one that does
// not, metadata survives a restart, and removing everything leaves no layer directory.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupDir } from '../../helpers/runtime.js';
import { mountAll, unmountAll } from '../../../src/sys/mount.js';
import { NaiveSnapshotter } from '../../../src/supervisor/snapshots/naive.js';
import { OverlaySnapshotter } from '../../../src/supervisor/snapshots/overlay.js';
import type { Mount } from '../../../src/supervisor/snapshots/types.js';
import type { SnapshotterBase } from '../../../src/supervisor/snapshots/base.js';

const kinds: Array<[string, (root: string) => SnapshotterBase]> = [
  ['overlayfs', (root) => new OverlaySnapshotter(root)],
  ['naive', (root) => new NaiveSnapshotter(root)],
];

for (const [name, make] of kinds) {
  describe(`snapshotter conformance: ${name}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-snap-'));
    const root = join(dir, 'root');
    const target = join(dir, 'mnt');
    mkdirSync(target);
    let mounted = false;
    const withMount = (mounts: Mount[], fn: () => void) => {
      mountAll(mounts, target);
      mounted = true;
      try {
        fn();
      } finally {
        unmountAll(target);
        mounted = false;
      }
    };
    after(() => {
      if (mounted) unmountAll(target);
      cleanupDir(dir);
    });
    const sn = make(root);

    it('stacks layers: a child sees its parent, changes and deletions stay in the child', () => {
      withMount(sn.prepare('base-active'), () => {
        writeFileSync(join(target, 'a'), 'from base');
        mkdirSync(join(target, 'd'));
        writeFileSync(join(target, 'd', 'f'), 'deep');
        symlinkSync('a', join(target, 'link'));
      });
      sn.commit('layer1', 'base-active');
      withMount(sn.prepare('child-active', 'layer1'), () => {
        assert.equal(readFileSync(join(target, 'a'), 'utf8'), 'from base');
        writeFileSync(join(target, 'a'), 'changed');
        cleanupDir(join(target, 'd'));
        writeFileSync(join(target, 'b'), 'new');
      });
      sn.commit('layer2', 'child-active');
      withMount(sn.view('v1', 'layer1'), () => {
        assert.equal(readFileSync(join(target, 'a'), 'utf8'), 'from base', 'the parent is unchanged');
        assert.ok(existsSync(join(target, 'd', 'f')));
      });
      withMount(sn.view('v2', 'layer2'), () => {
        assert.equal(readFileSync(join(target, 'a'), 'utf8'), 'changed');
        assert.equal(existsSync(join(target, 'd')), false, 'deleted in the child');
        assert.equal(readFileSync(join(target, 'b'), 'utf8'), 'new');
        assert.equal(readlinkSync(join(target, 'link')), 'a');
        assert.throws(() => writeFileSync(join(target, 'x'), 'no'), /EROFS/, 'a view is read-only');
      });
      sn.remove('v1');
      sn.remove('v2');
    });

    it('keeps the model\'s rules', () => {
      assert.throws(() => sn.prepare('layer1'), /already exists/);
      assert.throws(() => sn.remove('layer1'), /cannot remove snapshot with child/);
      sn.prepare('act', 'layer2');
      assert.throws(() => sn.prepare('on-active', 'act'), /not a committed snapshot/);
      assert.throws(() => sn.mounts('layer2'), /is committed/);
      assert.throws(() => sn.prepare('orphan', 'no-such-parent'), /not found/);
      sn.view('ro', 'layer2');
      assert.throws(() => sn.commit('from-view', 'ro'), /only an active snapshot/);
      assert.throws(() => sn.commit('layer1', 'act'), /already exists/);
      assert.equal(sn.stat('act').kind, 'active');
      assert.equal(sn.stat('act').parent, 'layer2');
      assert.deepEqual(sn.update('layer2', { 'containerd.io/gc.root': 'x' }).labels, { 'containerd.io/gc.root': 'x' });
      assert.deepEqual(sn.list().map((s) => `${s.key}:${s.kind}`).sort(), ['act:active', 'layer1:committed', 'layer2:committed', 'ro:view']);
      assert.ok(sn.usage('layer1').size > 0 && sn.usage('layer1').inodes >= 4);
      sn.remove('ro');
      sn.remove('act');
    });

    it(sn.rebase ? 'takes a parent at commit (rebase): a layer written before its parent was committed stacks on it' : 'refuses another parent at commit (no rebase: a layer is made from its parent)', () => {
      sn.prepare('early');
      if (!sn.rebase) {
        assert.throws(() => sn.commit('late', 'early', undefined, { parent: 'layer2' }), /cannot give snapshot early another parent/);
        sn.remove('early');
        return;
      }
      withMount(sn.mounts('early'), () => writeFileSync(join(target, 'c'), 'written early'));
      sn.prepare('not-committed');
      assert.throws(() => sn.commit('late', 'early', undefined, { parent: 'not-committed' }), /not a committed snapshot/);
      assert.throws(() => sn.commit('late', 'early', undefined, { parent: 'no-such-parent' }), /not found/);
      sn.remove('not-committed');
      sn.commit('late', 'early', undefined, { parent: 'layer2' });
      assert.equal(sn.stat('late').parent, 'layer2');
      withMount(sn.view('v-late', 'late'), () => {
        assert.equal(readFileSync(join(target, 'c'), 'utf8'), 'written early');
        assert.equal(readFileSync(join(target, 'a'), 'utf8'), 'changed', 'the parent shows through');
        assert.equal(existsSync(join(target, 'd')), false, 'and so do its deletions');
      });
      assert.throws(() => sn.remove('layer2'), /cannot remove snapshot with child/, 'the parent is held by its new child');
      sn.remove('v-late');
      sn.remove('late');
    });

    it('survives a restart, and removing everything leaves no layer', async () => {
      // A crash between making a layer directory and recording it leaves a stray: removed at start.
      mkdirSync(join(root, 'snapshots', '999', 'fs'), { recursive: true });
      const again = make(root);
      assert.equal(existsSync(join(root, 'snapshots', '999')), false);
      assert.deepEqual(again.list().map((s) => s.key).sort(), ['layer1', 'layer2']);
      withMount(again.view('v3', 'layer2'), () => assert.equal(readFileSync(join(target, 'a'), 'utf8'), 'changed'));
      for (const k of ['v3', 'layer2', 'layer1']) again.remove(k);
      // A removed layer's directory is out of the way at once and deleted in the background.
      assert.deepEqual(readdirSync(join(root, 'snapshots')).filter((n) => !n.startsWith('removing-')), []);
      await again.settled();
      assert.deepEqual(readdirSync(join(root, 'snapshots')), []);
    });
  });
}
