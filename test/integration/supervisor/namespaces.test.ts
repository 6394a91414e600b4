// Namespaces in the supervisor's stores, as containerd has them: blobs shared on disk but visible
// per namespace, snapshot keys and leases per namespace, collection per namespace (a blob leaves
// the disk with its last namespace), namespace removal only when empty, data from before
// namespaces adopted by "moby", and every change on the event exchange.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { digestOf } from '../../../src/common/digest.js';
import { ContentStore } from '../../../src/supervisor/content/store.js';
import { LeaseStore } from '../../../src/supervisor/content/leases.js';
import type { Envelope } from '../../../src/supervisor/events/exchange.js';
import { OverlaySnapshotter } from '../../../src/supervisor/snapshots/overlay.js';
import { Supervisor } from '../../../src/supervisor/supervisor.js';
import { cleanupDir } from '../../helpers/runtime.js';

const root = mkdtempSync(join(tmpdir(), 'berth-ns-'));
let n = 0;
const fresh = () => {
  const dir = join(root, `s${n++}`);
  return new Supervisor({ dataRoot: join(dir, 'data'), execRoot: join(dir, 'exec') });
};

async function put(content: ContentStore, data: string, opts: { reuse?: boolean; labels?: Record<string, string> } = {}): Promise<string> {
  const w = await content.writer(`put-${digestOf(data)}`, { expected: digestOf(data), total: data.length, reuse: opts.reuse });
  if (w.offset === 0) await w.write(Buffer.from(data));
  return w.commit({ labels: opts.labels });
}

describe('supervisor namespaces', () => {
  after(() => cleanupDir(root));

  it('shares blobs on disk, shows them per namespace, and removes a blob with its last namespace', async () => {
    const sup = fresh();
    const a = sup.content('a');
    const b = sup.content('b');
    const digest = await put(a, 'shared bytes', { labels: { owner: 'a' } });
    assert.equal(a.has(digest), true);
    assert.equal(b.has(digest), false, 'b does not see a\'s blob');
    assert.throws(() => b.read(digest), /content digest sha256:[0-9a-f]{64}: not found/);
    const w = await b.writer('again', { expected: digest, total: 12, reuse: true });
    assert.equal(w.offset, 12, 'the blob on disk stands in: no bytes needed');
    assert.equal(await w.commit(), digest);
    assert.deepEqual(b.info(digest).labels, {}, 'labels are per namespace');
    assert.deepEqual(a.info(digest).labels, { owner: 'a' });
    a.delete(digest);
    assert.equal(a.has(digest), false);
    assert.equal(b.read(digest).toString(), 'shared bytes', 'b keeps it');
    b.delete(digest);
    assert.equal(existsSync(a.blobPath(digest)), false, 'gone from disk with its last namespace');
  });

  it('keeps snapshot keys and leases apart, and collects each namespace by its own roots', async () => {
    const sup = fresh();
    sup.snapshotter('a').prepare('k');
    sup.snapshotter('b').prepare('k');
    sup.snapshotter('a').commit('layer', 'k');
    assert.equal(sup.snapshotter('b').stat('k').kind, 'active', 'b\'s k is its own');
    sup.leases('a').create({ id: 'l' });
    assert.deepEqual(sup.leases('b').list(), []);
    const digest = await put(sup.content('a'), 'manifest-ish');
    await put(sup.content('b'), 'manifest-ish');
    sup.images.create('a', { name: 'img', target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 12 } });
    sup.addGcRoots('a', () => ({ snapshots: ['layer'] }));
    const gc = sup.collectGarbage();
    assert.deepEqual(gc.get('b')!.removedBlobs, [digest], 'b had no image: its record goes');
    assert.deepEqual(gc.get('b')!.removedSnapshots, ['k']);
    assert.deepEqual(gc.get('a')!.removedBlobs, []);
    assert.equal(sup.content('a').read(digest).toString(), 'manifest-ish', 'the file stays for a');
    assert.equal(sup.snapshotter('a').stat('layer').kind, 'committed', 'a front end\'s root is kept');
  });

  it('deletes only empty namespaces, with their leases and ingests', async () => {
    const sup = fresh();
    sup.namespaces.create('team', { x: 'y' });
    const digest = await put(sup.content('team'), 'data');
    assert.throws(() => sup.deleteNamespace('team'), /namespace "team" must be empty, but it still has blobs/);
    sup.content('team').delete(digest);
    sup.leases('team').create({ id: 'held' });
    const w = await sup.content('team').writer('partial');
    await w.write(Buffer.from('half'));
    await w.close();
    sup.deleteNamespace('team');
    assert.equal(sup.namespaceNames().includes('team'), false);
    assert.deepEqual(sup.leases('team').list(), []);
    assert.deepEqual(sup.content('team').listIngests(), []);
    assert.throws(() => sup.deleteNamespace('team'), /namespace "team": not found/);
    assert.throws(() => sup.content('Bad Name'), /identifier "Bad Name" must match/);
  });

  it('publishes what the stores do as containerd events', async () => {
    const sup = fresh();
    const seen: Envelope[] = [];
    const stop = sup.events.subscribe((e) => seen.push(e));
    const digest = await put(sup.content('n'), 'x');
    sup.images.create('n', { name: 'i', target: { mediaType: 'm', digest, size: 1 } });
    sup.images.put('n', { name: 'i', target: { mediaType: 'm', digest, size: 1 }, labels: { a: 'b' } });
    sup.images.delete('n', 'i');
    sup.snapshotter('n').prepare('s');
    sup.snapshotter('n').commit('c', 's');
    sup.snapshotter('n').remove('c');
    sup.content('n').delete(digest);
    stop();
    assert.deepEqual(seen.map((e) => [e.namespace, e.topic, e.event.typeUrl]), [
      ['n', '/images/create', 'containerd.services.images.v1.ImageCreate'],
      ['n', '/images/update', 'containerd.services.images.v1.ImageUpdate'],
      ['n', '/images/delete', 'containerd.services.images.v1.ImageDelete'],
      ['n', '/snapshot/prepare', 'containerd.events.SnapshotPrepare'],
      ['n', '/snapshot/commit', 'containerd.events.SnapshotCommit'],
      ['n', '/snapshot/remove', 'containerd.events.SnapshotRemove'],
      ['n', '/content/delete', 'containerd.events.ContentDelete'],
    ]);
    assert.deepEqual(seen[1]!.event.fields, { name: 'i', labels: { a: 'b' } });
  });

  it('adopts content, snapshots and leases written before namespaces into "moby"', () => {
    const dir = join(root, 'legacy');
    const digest = digestOf('old blob');
    const [alg, hex] = digest.split(':');
    mkdirSync(join(dir, 'content', 'blobs', alg!), { recursive: true });
    writeFileSync(join(dir, 'content', 'blobs', alg!, hex!), 'old blob');
    mkdirSync(join(dir, 'content', 'labels'));
    writeFileSync(join(dir, 'content', 'labels', `${alg}-${hex}.json`), JSON.stringify({ 'containerd.io/gc.ref.content.l.0': 'x' }));
    mkdirSync(join(dir, 'snapshots', 'snapshots', '1', 'fs'), { recursive: true });
    writeFileSync(join(dir, 'snapshots', 'metadata.json'), JSON.stringify({ nextId: 2, snapshots: { chain: { id: 1, key: 'chain', kind: 'committed', labels: {}, created: '2024-01-01T00:00:00Z', updated: '2024-01-01T00:00:00Z' } } }));
    mkdirSync(join(dir, 'leases'));
    writeFileSync(join(dir, 'leases', 'pull-1.json'), JSON.stringify({ id: 'pull-1', createdAt: '2024-01-01T00:00:00Z', labels: {}, resources: [] }));
    const content = new ContentStore(join(dir, 'content')).forNamespace('moby');
    assert.deepEqual(content.info(digest).labels, { 'containerd.io/gc.ref.content.l.0': 'x' });
    assert.equal(new ContentStore(join(dir, 'content')).has(digest), false, 'the default namespace does not see it');
    const sn = new OverlaySnapshotter(join(dir, 'snapshots')).forNamespace('moby');
    assert.equal(sn.stat('chain').kind, 'committed');
    assert.ok(existsSync(join(dir, 'snapshots', 'snapshots', '1', 'fs')), 'its layer was not taken for a stray');
    assert.deepEqual(new LeaseStore(join(dir, 'leases')).forNamespace('moby').list().map((l) => l.id), ['pull-1']);
  });
});
