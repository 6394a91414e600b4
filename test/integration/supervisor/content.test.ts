// The content store and its garbage collection on a real filesystem: atomic, verified commits;
// in-memory bytes put in one go (and the temporary file of a put killed mid-way removed);
// resumable ingests (also after the writer was killed with SIGKILL); one writer per ref; leases;
// and mark-and-sweep through gc.ref labels that never deletes what is reachable.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanupDir } from '../../helpers/runtime.js';
import { committedDigest, ContentExists, ContentStore } from '../../../src/supervisor/content/store.js';
import { LeaseStore } from '../../../src/supervisor/content/leases.js';
import { collectGarbage } from '../../../src/supervisor/content/gc.js';
import { digestOf } from '../../../src/common/digest.js';
import { procStat } from '../../../src/sys/proc.js';

const root = mkdtempSync(join(tmpdir(), 'berth-content-'));
let n = 0;
const fresh = () => {
  const dir = join(root, `s${n++}`);
  return { content: new ContentStore(join(dir, 'content')), leases: new LeaseStore(join(dir, 'leases')) };
};

async function put(content: ContentStore, data: string, labels?: Record<string, string>): Promise<string> {
  const w = await content.writer(`put-${digestOf(data)}`, { expected: digestOf(data), total: data.length });
  await w.write(Buffer.from(data));
  return w.commit({ labels });
}

describe('content store', () => {
  after(() => cleanupDir(root));

  it('commits verified bytes atomically, read-only, and leaves no ingest', async () => {
    const { content } = fresh();
    const data = 'hello layer';
    const digest = await put(content, data);
    assert.equal(digest, digestOf(data));
    assert.equal(content.read(digest).toString(), data);
    assert.equal(content.info(digest).size, data.length);
    assert.equal(statSync(content.blobPath(digest)).mode & 0o777, 0o444);
    assert.deepEqual(content.listIngests(), []);
    await assert.rejects(put(content, data), (err: unknown) => err instanceof ContentExists && err.code === 'ALREADY_EXISTS' && err.digest === digest, 'the same content again already exists');
    assert.deepEqual(content.listIngests(), [], 'and its ingest is gone');
  });

  it('answers a commit of content the namespace has with ContentExists, its labels kept; content another namespace has is recorded', async () => {
    const { content } = fresh();
    const data = 'labelled once';
    const digest = await put(content, data, { owner: 'first' });
    const before = content.info(digest);
    // No expected digest: the bytes turn out to be known only at commit (ctr content ingest, images import).
    const w = await content.writer('unexpected');
    await w.write(Buffer.from(data));
    await assert.rejects(w.commit({ labels: { owner: 'second' } }), /content sha256:[0-9a-f]{64}: already exists/);
    assert.deepEqual(content.info(digest).labels, { owner: 'first' }, 'labels not replaced');
    assert.deepEqual(content.info(digest).updatedAt, before.updatedAt, 'the record untouched');
    assert.deepEqual(content.listIngests(), []);
    const again = await content.writer('again');
    await again.write(Buffer.from(data));
    assert.equal(await committedDigest(again.commit()), digest, 'committedDigest takes it as done');
    // Another namespace: the blob on disk is recorded there, with that commit's labels.
    const other = content.forNamespace('other');
    const o = await other.writer('theirs');
    await o.write(Buffer.from(data));
    assert.equal(await o.commit({ labels: { owner: 'other' } }), digest);
    assert.deepEqual(other.info(digest).labels, { owner: 'other' });
    assert.deepEqual(content.info(digest).labels, { owner: 'first' }, 'each namespace its own labels');
  });

  it('refuses a wrong digest or a short transfer and keeps nothing of it', async () => {
    const { content } = fresh();
    const w = await content.writer('bad-digest', { expected: digestOf('other'), total: 5 });
    await w.write(Buffer.from('bytes'));
    await assert.rejects(w.commit(), /has digest sha256:[0-9a-f]{64}, want sha256:[0-9a-f]{64}/);
    const short = await content.writer('short', { expected: digestOf('0123456789'), total: 10 });
    await short.write(Buffer.from('01234'));
    await assert.rejects(short.commit(), /got 5 bytes, want 10/);
    const long = await content.writer('long', { total: 3 });
    await assert.rejects(long.write(Buffer.from('toolong')), /more than the expected 3/);
    await long.close();
    assert.deepEqual(content.list(), []);
    assert.deepEqual(content.listIngests().map((i) => i.ref), ['long'], 'only the ingest that was closed, not failed');
  });

  it('puts bytes held in memory in one go: checked, read-only, recorded, and a blob on disk only recorded', () => {
    const { content } = fresh();
    const data = Buffer.from('{"a manifest":1}');
    content.put(data, digestOf(data), { 'containerd.io/distribution.source.r': 'repo' });
    assert.equal(content.read(digestOf(data)).toString(), data.toString());
    assert.equal(statSync(content.blobPath(digestOf(data))).mode & 0o777, 0o444);
    assert.deepEqual(content.info(digestOf(data)).labels, { 'containerd.io/distribution.source.r': 'repo' });
    assert.throws(() => content.put(Buffer.from('other bytes'), digestOf(data)), /has digest sha256:[0-9a-f]{64}, want sha256:/);
    assert.deepEqual(readdirSync(join(content.root, 'ingest')), [], 'no temporary file left, also after a refusal');
    // Another namespace's view: the blob is on disk already, so only its record is written.
    const other = content.forNamespace('other');
    const inode = statSync(content.blobPath(digestOf(data))).ino;
    other.put(data, digestOf(data));
    assert.equal(other.read(digestOf(data)).toString(), data.toString());
    assert.equal(statSync(content.blobPath(digestOf(data))).ino, inode, 'not written again');
  });

  it('removes the temporary file of a put whose process died before the rename, and no other', () => {
    const { content } = fresh();
    const ingest = join(content.root, 'ingest');
    writeFileSync(join(ingest, 'put-999999999-1-abcdef'), 'half a manifest'); // no such process
    const live = `put-${process.pid}-${procStat(process.pid)!.startTime}-abcdef`;
    writeFileSync(join(ingest, live), 'being written');
    void new ContentStore(content.root); // what the daemon does when it starts
    assert.deepEqual(readdirSync(ingest), [live]);
  });

  it('refuses digests that are not digests before they can name a file', async () => {
    const { content } = fresh();
    for (const bad of ['sha256:../../etc/passwd', 'md5:abc', 'sha256:' + 'A'.repeat(64), 'sha256:abc']) {
      assert.throws(() => content.info(bad), /invalid digest/);
    }
  });

  it('resumes an ingest, also one whose writer was killed with SIGKILL', async () => {
    const { content } = fresh();
    const data = Buffer.alloc(3 << 20, 7);
    const expected = digestOf(data);
    // A writer in another process writes 1 MiB, then is killed mid-ingest.
    const storeModule = fileURLToPath(new URL('../../../src/supervisor/content/store.js', import.meta.url));
    const script = `
      const { ContentStore } = await import(${JSON.stringify(storeModule)});
      const w = await new ContentStore(${JSON.stringify(content.root)}).writer('layer', { expected: ${JSON.stringify(expected)}, total: ${data.length} });
      await w.write(Buffer.alloc(1 << 20, 7));
      process.stdout.write('written\\n');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.on('data', () => resolve()));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));

    assert.equal(content.status('layer').offset, 1 << 20);
    const w = await content.writer('layer'); // the dead writer's lock is taken over
    assert.equal(w.offset, 1 << 20);
    await assert.rejects(content.writer('layer'), /being written by another writer/);
    await w.write(data.subarray(w.offset));
    assert.equal(await w.commit(), expected);
    assert.equal(content.read(expected).equals(data), true);
  });

  it('collects what nothing reaches, and nothing that a root, a label or a lease reaches', async () => {
    const { content, leases } = fresh();
    const layer = await put(content, 'layer bytes');
    const config = await put(content, '{"config":1}');
    const manifest = await put(content, '{"manifest":1}', { 'containerd.io/gc.ref.content.config': config, 'containerd.io/gc.ref.content.l.0': layer });
    const orphan = await put(content, 'orphan');
    const leased = await put(content, 'leased');
    const lease = leases.create({ id: 'pull-1' });
    leases.addResource(lease.id, { type: 'content', id: leased });
    const expiredLease = leases.create({ id: 'old', expiresInMs: -1 });
    const expiredHeld = await put(content, 'held by an expired lease');
    leases.addResource(expiredLease.id, { type: 'content', id: expiredHeld });
    // An interrupted pull's ingest (its writer is gone), one a lease holds, one being written.
    const dead = await content.writer('dead-pull');
    await dead.write(Buffer.from('partial'));
    await dead.close();
    const heldIngest = await content.writer('held-pull');
    await heldIngest.close();
    leases.addResource(lease.id, { type: 'ingest', id: 'held-pull' });
    const active = await content.writer('active-pull');

    const result = collectGarbage({ content, leases, roots: [manifest] });
    assert.deepEqual(result.removedBlobs.sort(), [orphan, expiredHeld].sort());
    assert.deepEqual(result.removedIngests, ['dead-pull']);
    assert.deepEqual(result.removedLeases, ['old']);
    for (const d of [manifest, config, layer, leased]) assert.ok(content.has(d), `${d} is kept`);
    assert.deepEqual(content.listIngests().map((i) => i.ref).sort(), ['active-pull', 'held-pull']);

    await active.close();
    leases.delete(lease.id);
    const second = collectGarbage({ content, leases, roots: [] });
    assert.deepEqual(second.removedBlobs.sort(), [manifest, config, layer, leased].sort());
    assert.deepEqual(second.removedIngests.sort(), ['active-pull', 'held-pull']);
    assert.deepEqual(readdirSync(join(content.root, 'ingest')), []);
    assert.equal(existsSync(content.blobPath(layer)), false);
  });

  it('adds a lease\'s resources in one write, each once, and writes nothing for what it holds already', () => {
    const { leases } = fresh();
    const lease = leases.create();
    const file = join(leases.root, 'default', `${lease.id}.json`);
    leases.addResources(lease.id, [{ type: 'content', id: 'sha256:a' }, { type: 'ingest', id: 'x' }, { type: 'content', id: 'sha256:a' }]);
    assert.deepEqual(leases.get(lease.id).resources, [{ type: 'content', id: 'sha256:a' }, { type: 'ingest', id: 'x' }]);
    // The same record laid out otherwise: a write by the store would lay it out compactly again.
    writeFileSync(file, JSON.stringify(leases.get(lease.id), null, 2));
    leases.addResource(lease.id, { type: 'ingest', id: 'x' });
    leases.addResources(lease.id, [{ type: 'content', id: 'sha256:a' }]);
    assert.match(readFileSync(file, 'utf8'), /\n/, 'held already: not written again');
    leases.addResource(lease.id, { type: 'snapshots/overlayfs', id: 'k' });
    assert.doesNotMatch(readFileSync(file, 'utf8'), /\n/, 'a new resource is written');
    assert.equal(leases.get(lease.id).resources.length, 3);
  });

  it('takes over a lock left by a process that no longer exists', async () => {
    const { content } = fresh();
    const w = await content.writer('stale');
    await w.close();
    writeFileSync(join(content.ingestDir('stale'), 'lock'), '999999999 1');
    const again = await content.writer('stale');
    await again.close();
  });
});
