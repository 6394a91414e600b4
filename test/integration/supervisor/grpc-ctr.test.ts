// The supervisor's containerd API driven by Debian's real ctr (containerd 1.6) against a test
// berthd: version and plugins, namespaces, a pull from a local registry with unpacking, images,
// content, snapshots, leases and events; namespace isolation (and the engine's "moby" namespace
// shared with the Docker API); bad input answered with containerd's codes while the server stays up.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBerthd, supervisorSocket, type TestBerthd } from '../../helpers/berthd.js';
import { makeBusyboxRootfs } from '../../helpers/busybox.js';
import { ctrAt, HAVE_CTR, rows, type Ctr } from '../../helpers/ctr.js';
import { testImageLayers } from '../../helpers/images.js';
import { pushTestImage, startRegistry, type PushedImage, type TestRegistry } from '../../helpers/registry.js';
import { cleanupDir, runCommand, waitFor } from '../../helpers/runtime.js';
import { digestOf } from '../../../src/common/digest.js';

const skip = !HAVE_CTR && 'ctr not installed (apt-get install containerd)';

describe('supervisor API driven by ctr', { skip }, () => {
  let d: TestBerthd;
  let registry: TestRegistry;
  let image: PushedImage;
  let ctr: Ctr;
  const work = mkdtempSync(join(tmpdir(), 'berth-grpc-'));

  before(async () => {
    d = await startBerthd();
    ctr = ctrAt(supervisorSocket(d), () => `\n--- berthd ---\n${d.log().slice(-2000)}`);
    registry = await startRegistry();
    image = await pushTestImage(registry.host, 'library/busybox:latest', testImageLayers());
  });

  after(async () => {
    await registry?.stop();
    await d?.stop();
    cleanupDir(work);
  });

  it('serves version, introspection and a private socket', async () => {
    const v = await ctr.ok(['version']);
    assert.match(v, /Server:\n\s+Version:\s+1\.6\.20\n\s+Revision: berth-/);
    assert.match(v, /UUID: [0-9a-f-]{36}/);
    const st = statSync(supervisorSocket(d));
    assert.equal(st.mode & 0o777, 0o660);
    const plugins = rows(await ctr.ok(['plugins', 'ls']));
    assert.ok(plugins.some(([type, id, , status]) => type === 'io.containerd.snapshotter.v1' && id === 'overlayfs' && status === 'ok'));
    assert.ok(plugins.some(([type, id]) => type === 'io.containerd.grpc.v1' && id === 'content'));
    assert.deepEqual(rows(await ctr.ok(['plugins', 'ls', 'type==io.containerd.differ.v1'])).map((r) => r[1]), ['walking']);
  });

  it('creates, labels, lists and removes namespaces; the engine\'s is "moby"', async () => {
    await ctr.ok(['namespaces', 'create', 'team1', 'owner=qa']);
    let list = rows(await ctr.ok(['namespaces', 'ls']));
    assert.ok(list.some(([n]) => n === 'moby'), 'the engine namespace is listed');
    assert.deepEqual(list.find(([n]) => n === 'team1'), ['team1', 'owner=qa']);
    await ctr.ok(['namespaces', 'label', 'team1', 'owner=dev', 'tier=1']);
    list = rows(await ctr.ok(['namespaces', 'ls']));
    assert.deepEqual(list.find(([n]) => n === 'team1'), ['team1', 'owner=dev,tier=1']);
    const again = await ctr.run(['namespaces', 'create', 'team1']);
    assert.match(again.stderr, /namespace "team1": already exists/);
    await ctr.ok(['namespaces', 'rm', 'team1']);
    assert.ok(!rows(await ctr.ok(['namespaces', 'ls'])).some(([n]) => n === 'team1'));
  });

  // Before any removal: a removal schedules a collection, which takes unreferenced content (as containerd's).
  it('ingests, reads, labels, filters and removes content', async () => {
    const data = 'hello from ctr\n';
    const digest = digestOf(data);
    await ctr.ok(['content', 'ingest', '--expected-size', String(data.length), '--expected-digest', digest, 'my-ref'], { ns: 'c', input: data });
    assert.equal(await ctr.ok(['content', 'get', digest], { ns: 'c' }), data);
    await ctr.ok(['content', 'label', digest, 'team=qa'], { ns: 'c' });
    const listed = await ctr.ok(['content', 'ls', 'labels.team==qa'], { ns: 'c' });
    assert.match(listed, new RegExp(`${digest}\\s+15B\\s+.*team=qa`));
    assert.equal((await ctr.ok(['content', 'ls', '-q', 'labels.team==dev'], { ns: 'c' })).trim(), '');
    assert.equal(rows(await ctr.ok(['content', 'active'], { ns: 'c' })).length, 0, 'no ingest left after the commit');
    const again = await ctr.run(['content', 'ingest', '--expected-digest', digest, 'other-ref'], { ns: 'c', input: data });
    assert.equal(again.code, 0, 'an existing blob is not written twice');
    // Without an expected digest the store learns at commit that it has the bytes: ctr takes the
    // AlreadyExists as done, and the blob keeps its labels.
    const unexpected = await ctr.run(['content', 'ingest', 'third-ref'], { ns: 'c', input: data });
    assert.equal(unexpected.code, 0, unexpected.stderr);
    assert.match(await ctr.ok(['content', 'ls', 'labels.team==qa'], { ns: 'c' }), new RegExp(digest));
    assert.equal(rows(await ctr.ok(['content', 'active'], { ns: 'c' })).length, 0);
    await ctr.ok(['content', 'rm', digest], { ns: 'c' });
    const gone = await ctr.run(['content', 'get', digest], { ns: 'c' });
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /content digest sha256:[0-9a-f]{64}: not found/);
  });

  it('pulls from a local registry, unpacks, and keeps namespaces apart', async () => {
    const out = await ctr.ok(['images', 'pull', '--plain-http', image.name], { ns: 'a', timeoutMs: 120_000 });
    assert.match(out, /unpacking linux\/amd64 sha256:[0-9a-f]{64}\.\.\.\ndone/);
    assert.deepEqual((await ctr.ok(['images', 'ls', '-q'], { ns: 'a' })).trim().split('\n'), [image.name]);
    const check = rows(await ctr.ok(['images', 'check'], { ns: 'a' }));
    assert.equal(check[0]![0], image.name);
    assert.ok(check[0]!.includes('complete') && check[0]!.at(-1) === 'true', `checked: ${check[0]!.join(' ')}`);
    assert.equal((await ctr.ok(['images', 'ls', '-q'], { ns: 'b' })).trim(), '', 'namespace b sees nothing');
    assert.equal((await ctr.ok(['content', 'ls', '-q'], { ns: 'b' })).trim(), '');
    const docker = await d.docker(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.ok(!docker.stdout.includes('busybox'), `docker images shows only moby's: ${docker.stdout}`);
    // The snapshots are the image's chain, committed in namespace a only.
    const snaps = rows(await ctr.ok(['snapshots', 'ls'], { ns: 'a' }));
    assert.equal(snaps.length, 2);
    assert.ok(snaps.every((s) => s.at(-1) === 'Committed'));
    assert.equal(rows(await ctr.ok(['snapshots', 'ls'], { ns: 'b' })).length, 0);
  });

  it('shows the engine\'s images in namespace moby, and moby\'s in docker images', async () => {
    makeBusyboxRootfs(join(work, 'rootfs'));
    execFileSync('tar', ['-C', join(work, 'rootfs'), '-cf', join(work, 'rootfs.tar'), '.']);
    assert.equal((await d.docker(['import', join(work, 'rootfs.tar'), 'bb:latest'])).code, 0);
    assert.ok((await ctr.ok(['images', 'ls', '-q'], { ns: 'moby' })).split('\n').includes('docker.io/library/bb:latest'));
    await ctr.ok(['images', 'pull', '--plain-http', image.name], { ns: 'moby', timeoutMs: 120_000 });
    const docker = await d.docker(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.ok(docker.stdout.split('\n').includes(`${registry.host}/library/busybox:latest`), `docker images: ${docker.stdout}`);
    await ctr.ok(['images', 'rm', image.name], { ns: 'moby' });
    assert.ok(!(await d.docker(['images', '--format', '{{.Repository}}'])).stdout.includes('busybox'));
  });

  it('shows the tasks of a docker run as containerd task events in namespace moby', async () => {
    const child = spawn('ctr', ['--address', supervisorSocket(d), 'events', 'namespace==moby,topic~=^/tasks/'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    try {
      await new Promise((r) => setTimeout(r, 500));
      const run = await d.docker(['run', '--rm', 'bb:latest', 'sh', '-c', 'exit 3']);
      assert.equal(run.code, 3, run.stderr);
      await waitFor(() => out.includes('/tasks/delete'), 15_000);
      const topics = out.trim().split('\n').map((l) => l.split(' ')[5]);
      assert.deepEqual(topics, ['/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete']);
      assert.match(out, / moby \/tasks\/exit \{"container_id":"[0-9a-f]{64}","id":"[0-9a-f]{64}","pid":\d+,"exit_status":3,"exited_at":"[^"]+"\}/);
    } finally {
      child.kill();
    }
  });

  it('tags and removes images; a removal with --sync collects only that namespace\'s content', async () => {
    await ctr.ok(['images', 'pull', '--plain-http', image.name], { ns: 'b', timeoutMs: 120_000 });
    await ctr.ok(['images', 'tag', image.name, 'mine:v1'], { ns: 'b' });
    assert.deepEqual((await ctr.ok(['images', 'ls', '-q'], { ns: 'b' })).trim().split('\n').sort(), [image.name, 'mine:v1'].sort());
    assert.equal((await ctr.ok(['images', 'ls', '-q', 'name==mine:v1'], { ns: 'b' })).trim(), 'mine:v1');
    await ctr.ok(['images', 'label', 'mine:v1', 'stage=test'], { ns: 'b' });
    assert.match(await ctr.ok(['images', 'ls', 'labels.stage==test'], { ns: 'b' }), /^mine:v1 .* stage=test\s*$/m);
    await ctr.ok(['images', 'rm', 'mine:v1'], { ns: 'b' });
    await ctr.ok(['images', 'rm', '--sync', image.name], { ns: 'b' });
    assert.equal((await ctr.ok(['content', 'ls', '-q'], { ns: 'b' })).trim(), '', 'b\'s blobs collected');
    assert.equal(rows(await ctr.ok(['snapshots', 'ls'], { ns: 'b' })).length, 0, 'b\'s snapshots collected');
    const check = rows(await ctr.ok(['images', 'check'], { ns: 'a' }));
    assert.ok(check[0]!.includes('complete'), 'a\'s copy of the same blobs is intact');
    assert.equal((await ctr.ok(['content', 'get', image.indexDigest], { ns: 'a' })).length > 0, true);
  });

  it('prepares, mounts, commits, walks, measures and removes snapshots', async () => {
    // Removals in earlier tests scheduled a collection (200 ms later), which would take the
    // unlabelled view made below, as containerd's would: let it run first.
    await new Promise((r) => setTimeout(r, 500));
    const chain = rows(await ctr.ok(['snapshots', 'ls'], { ns: 'a' }));
    const top = chain.find((r) => r.length === 3)![0]!; // the one with a parent
    // A view carries no gc.root label: made before the diffs below, whose leases' removal schedules a collection.
    const view = JSON.parse(await ctr.ok(['snapshots', 'view', '--mounts', 'look', top], { ns: 'a' })) as Array<{ Type: string; Options: string[] }>;
    assert.equal(view[0]!.Type, 'overlay');
    assert.ok(!view[0]!.Options.some((o) => o.startsWith('upperdir=')), 'a view has no upper layer');
    assert.deepEqual(rows(await ctr.ok(['snapshots', 'ls'], { ns: 'a' })).find((r) => r[0] === 'look'), ['look', top, 'View']);
    await ctr.ok(['snapshots', 'rm', 'look'], { ns: 'a' });
    const prepared = JSON.parse(await ctr.ok(['snapshots', 'prepare', '--mounts', 'work', top], { ns: 'a' })) as Array<{ Type: string; Options: string[] }>;
    assert.equal(prepared[0]!.Type, 'overlay');
    assert.ok(prepared[0]!.Options.some((o) => o.startsWith('upperdir=')));
    const mounts = await ctr.ok(['snapshots', 'mounts', '/mnt/x', 'work'], { ns: 'a' });
    assert.match(mounts, /^mount -t overlay overlay \/mnt\/x -o workdir=.*,upperdir=.*,lowerdir=.*:.*$/m);
    const upper = prepared[0]!.Options.find((o) => o.startsWith('upperdir='))!.slice('upperdir='.length);
    writeFileSync(join(upper, 'added'), 'x'.repeat(10_000));
    // The diff service: the active snapshot's upper dir as a layer, then the committed one mounted and walked.
    const listDiff = async (key: string) => {
      const r = await runCommand('sh', ['-c', `ctr --address ${supervisorSocket(d)} -n a snapshots diff ${key} | tar -tzvf -`]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    assert.match(await listDiff('work'), /^-rw-r--r-- 0\/0\s+10000 .* added$/m);
    await ctr.ok(['snapshots', 'commit', 'mylayer', 'work'], { ns: 'a' });
    assert.match(await listDiff('mylayer'), /^-rw-r--r-- 0\/0\s+10000 .* added$/m);
    // A zstd diff (Node has no zstd: the zstd tool compresses), kept in the content store with the
    // uncompressed digest as its label.
    const zstdFile = join(work, 'diff.tar.zst');
    const zstdDiff = await runCommand('sh', ['-c', `ctr --address ${supervisorSocket(d)} -n a snapshots diff --keep --ref zstd-diff --media-type application/vnd.oci.image.layer.v1.tar+zstd mylayer > ${zstdFile} && zstd -dcq ${zstdFile} | tar -tvf -`]);
    assert.equal(zstdDiff.code, 0, zstdDiff.stderr);
    assert.match(zstdDiff.stdout, /^-rw-r--r-- 0\/0\s+10000 .* added$/m);
    const kept = rows(await ctr.ok(['content', 'ls'], { ns: 'a' })).find(([digest]) => digest === digestOf(readFileSync(zstdFile)));
    const tarDigest = digestOf(execFileSync('zstd', ['-dcq', zstdFile]));
    assert.ok(kept?.at(-1)?.split(',').includes(`containerd.io/uncompressed=${tarDigest}`), `kept, with its uncompressed digest: ${kept?.join(' ')}`);
    await ctr.ok(['content', 'rm', kept![0]!], { ns: 'a' });
    const tree = await ctr.ok(['snapshots', 'tree'], { ns: 'a' });
    assert.match(tree, new RegExp(`\\\\_ ${top}\\n\\s+\\\\_ mylayer`));
    const usage = rows(await ctr.ok(['snapshots', 'usage', 'mylayer'], { ns: 'a' }));
    assert.equal(usage[0]![0], 'mylayer');
    const info = JSON.parse(await ctr.ok(['snapshots', 'info', 'mylayer'], { ns: 'a' })) as { Kind: string; Parent: string };
    assert.deepEqual([info.Kind, info.Parent], ['Committed', top]);
    await ctr.ok(['snapshots', 'label', 'mylayer', 'team=qa'], { ns: 'a' });
    assert.equal((JSON.parse(await ctr.ok(['snapshots', 'info', 'mylayer'], { ns: 'a' })) as { Labels: Record<string, string> }).Labels.team, 'qa');
    const busy = await ctr.run(['snapshots', 'rm', top], { ns: 'a' });
    assert.match(busy.stderr, /cannot remove snapshot with child: failed precondition/);
    await ctr.ok(['snapshots', 'rm', 'mylayer'], { ns: 'a' });
    assert.ok(!(await ctr.ok(['snapshots', 'ls'], { ns: 'a' })).includes('mylayer'));
  });

  it('creates, lists and removes leases', async () => {
    await ctr.ok(['leases', 'create', '--id', 'hold-1', '--expires', '1h'], { ns: 'a' });
    const list = rows(await ctr.ok(['leases', 'ls'], { ns: 'a' }));
    assert.equal(list[0]![0], 'hold-1');
    assert.match(list[0]!.at(-1)!, /^containerd\.io\/gc\.expire=/);
    assert.equal(rows(await ctr.ok(['leases', 'ls'], { ns: 'b' })).length, 0);
    await ctr.ok(['leases', 'rm', 'hold-1'], { ns: 'a' });
    assert.equal(rows(await ctr.ok(['leases', 'ls'], { ns: 'a' })).length, 0);
    assert.match((await ctr.run(['leases', 'rm', 'hold-1'], { ns: 'a' })).stderr, /lease "hold-1": not found/);
  });

  it('streams events of what the supervisor does, filtered', async () => {
    const child = spawn('ctr', ['--address', supervisorSocket(d), 'events', 'topic~=/images/'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    try {
      await new Promise((r) => setTimeout(r, 500)); // subscribed
      await ctr.ok(['images', 'tag', image.name, 'evt:1'], { ns: 'a' });
      await ctr.ok(['snapshots', 'prepare', 'evt-snap'], { ns: 'a' }); // filtered out
      await ctr.ok(['images', 'rm', 'evt:1'], { ns: 'a' });
      await waitFor(() => out.includes('/images/delete'), 10_000);
      assert.match(out, /^\d{4}-\d\d-\d\d [\d:.]+ \+0000 UTC a \/images\/create \{"name":"evt:1"\}$/m);
      assert.match(out, / a \/images\/delete \{"name":"evt:1"\}$/m);
      assert.ok(!out.includes('/snapshot/prepare'), 'the filter kept snapshot events out');
    } finally {
      child.kill();
      await ctr.run(['snapshots', 'rm', 'evt-snap'], { ns: 'a' });
    }
  });

  it('answers bad input with containerd\'s codes and stays up', async () => {
    const cases: Array<[string[], RegExp, string?]> = [
      [['content', 'get', `sha256:${'0'.repeat(64)}`], /content digest sha256:0{64}: not found/],
      [['snapshots', 'rm', 'no-such-key'], /snapshot no-such-key does not exist: not found/],
      [['snapshots', '--snapshotter', 'zfs', 'ls'], /snapshotter not loaded: zfs: invalid argument/],
      [['images', 'ls', 'name=x'], /parse error: .*unsupported operator "=": invalid argument/],
      [['images', 'ls', 'labels."open'], /quoted literal not terminated: invalid argument/],
      [['namespaces', 'rm', 'a'], /namespace "a" must be empty, but it still has images, blobs, snapshots on "overlayfs" snapshotter.*failed precondition/],
      [['images', 'ls'], /identifier "Bad!" must match.*invalid argument/, 'Bad!'],
    ];
    for (const [args, want, ns] of cases) {
      const r = await ctr.run(args, { ns: ns ?? 'a' });
      assert.notEqual(r.code, 0, `ctr ${args.join(' ')} succeeded`);
      assert.match(r.stderr, want, `ctr ${args.join(' ')}`);
    }
    // ctr reports a missing image on removal but does not fail on it (as against containerd).
    assert.match((await ctr.run(['images', 'rm', 'no/such:image'], { ns: 'a' })).stderr, /no\/such:image: image not found/);
    assert.match(await ctr.ok(['version']), /Revision: berth-/, 'still serving');
    assert.ok(existsSync(supervisorSocket(d)));
  });
});

describe('berthd --supervisor-only', { skip }, () => {
  let d: TestBerthd;
  before(async () => {
    d = await startBerthd({ supervisorOnly: true });
  });
  after(async () => {
    await d?.stop();
  });

  it('serves containerd\'s API without the Docker API', async () => {
    const ctr = ctrAt(supervisorSocket(d), () => `\n--- berthd ---\n${d.log().slice(-2000)}`);
    assert.match(await ctr.ok(['version']), /Revision: berth-/);
    await ctr.ok(['namespaces', 'create', 'k8s.io']);
    assert.ok(rows(await ctr.ok(['namespaces', 'ls'])).some(([n]) => n === 'k8s.io'));
    assert.ok(!existsSync(d.socket), 'no Docker API socket');
    assert.match(d.log(), /supervisor API only/);
  });
});
