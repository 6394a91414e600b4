// The cache-mount store's sharing rules (BuildKit's): shared users get one directory together, a
// locked user waits until it has the directory alone, a private user gets a fresh instance when
// the first is busy; a new cache is seeded once; prune leaves caches in use alone.
import { after, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CacheMountStore } from '../../../src/build/cache-mounts.js';

const root = mkdtempSync(join(tmpdir(), 'berth-cache-mounts-'));
after(() => rmSync(root, { recursive: true, force: true }));
const req = { id: '/root/.cache', uid: 0, gid: 0, mode: 0o755 };

it('shares, locks and privatises as BuildKit does', async () => {
  const store = new CacheMountStore(join(root, 'a'));
  const a = await store.acquire({ ...req, sharing: 'shared' });
  const b = await store.acquire({ ...req, sharing: 'shared' });
  assert.equal(a.dir, b.dir);
  const p = await store.acquire({ ...req, sharing: 'private' });
  assert.notEqual(p.dir, a.dir);
  let locked = false;
  const waiting = store.acquire({ ...req, sharing: 'locked' }).then((h) => ((locked = true), h));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(locked, false, 'a locked user waits for the shared ones');
  a.release();
  b.release();
  const l = await waiting;
  assert.equal(l.dir, a.dir);
  l.release();
  p.release();
  // another id, owner or mode is another cache
  const other = await store.acquire({ ...req, sharing: 'shared', uid: 1000, mode: 0o700 });
  assert.notEqual(other.dir, a.dir);
  assert.deepEqual([statSync(other.dir).uid, statSync(other.dir).mode & 0o777], [1000, 0o700]);
  other.release();
});

it('seeds a new cache once, and prunes only caches nobody uses', async () => {
  const store = new CacheMountStore(join(root, 'b'));
  let seeded = 0;
  const seed = async (dir: string) => {
    seeded++;
    writeFileSync(join(dir, 'seed'), 'from the base\n');
  };
  const one = await store.acquire({ ...req, sharing: 'shared', base: 'img:/x', seed });
  one.release();
  const two = await store.acquire({ ...req, sharing: 'shared', base: 'img:/x', seed });
  assert.equal(seeded, 1);
  assert.equal(readFileSync(join(two.dir, 'seed'), 'utf8'), 'from the base\n');
  const idle = await store.acquire({ ...req, id: 'idle', sharing: 'shared' });
  idle.release();
  const pruned = store.prune();
  assert.equal(pruned.deleted.length, 1);
  assert.ok(existsSync(two.dir) && !existsSync(idle.dir));
  two.release();
  assert.equal(store.prune().deleted.length, 1);
});
