// The engine's images against Debian's real docker-registry: pull records names and repo digests,
// inspect and history have Docker's shape, push to a second repository mounts blobs instead of
// uploading them and pulling back gives identical digests, tag/rmi follow Docker's rules and
// conflicts, a moved tag leaves a dangling image that prune removes, and once every image is
// gone garbage collection leaves the stores empty.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeImageService, testImageLayers } from '../../helpers/images.js';
import { pushTestImage, startRegistry, type PushedImage, type TestRegistry } from '../../helpers/registry.js';
import { cleanupDir } from '../../helpers/runtime.js';
import { imageDiskUsage, imageHistory, imageInspect, imageSummary } from '../../../src/engine/images/views.js';
import type { PullProgress } from '../../../src/supervisor/images/pull.js';
import type { PushProgress } from '../../../src/engine/images/push.js';
import { tarEntry, TAR_END } from '../../../src/image/tar-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-images-'));

describe('images', () => {
  let registry: TestRegistry;
  let image: PushedImage;
  let other: PushedImage;
  const users = new Map<string, Array<{ id: string; running: boolean }>>();
  const svc = makeImageService(join(dir, 'main'), { usedBy: (id) => users.get(id) ?? [] });

  before(async () => {
    registry = await startRegistry();
    image = await pushTestImage(registry.host, 'test/busybox:1', testImageLayers());
    other = await pushTestImage(registry.host, 'test/other:1', [Buffer.concat([tarEntry({ name: 'hello', type: 'file' }, Buffer.from('other\n')), TAR_END])]);
  });
  after(async () => {
    await registry?.stop();
    cleanupDir(dir);
  });

  it('pulls and records the name and the repo digest, with Docker\'s last status line', async () => {
    const progress: PullProgress[] = [];
    const img = await svc.pull(image.name, { onProgress: (p) => progress.push(p) });
    assert.equal(progress.at(-1)!.status, `Status: Downloaded newer image for ${image.name}`);
    assert.deepEqual(img.repoTags, [image.name]);
    assert.deepEqual(img.repoDigests, [`${registry.host}/test/busybox@${image.indexDigest}`]);
    assert.equal(svc.get(image.name).id, img.id);
    assert.equal(svc.get(img.id.slice(7, 19)).id, img.id, 'a short ID');
    assert.equal(svc.get(`${registry.host}/test/busybox@${image.indexDigest}`).id, img.id);
    const again: PullProgress[] = [];
    await svc.pull(image.name, { onProgress: (p) => again.push(p) });
    assert.equal(again.at(-1)!.status, `Status: Image is up to date for ${image.name}`);
  });

  it('inspects, lists and shows history in Docker\'s shapes', () => {
    const img = svc.get(image.name);
    const inspect = imageInspect(svc, img);
    assert.equal(inspect.Id, img.id);
    assert.deepEqual(inspect.RepoTags, [image.name]);
    assert.equal(inspect.Os, 'linux');
    assert.equal(inspect.Architecture, 'amd64');
    assert.deepEqual((inspect.RootFS as { Layers: string[] }).Layers, image.diffIds);
    assert.deepEqual((inspect.Config as { Cmd: string[] }).Cmd, ['sh']);
    assert.ok((inspect.Size as number) > 1_000_000, 'busybox is in the size');
    const summary = imageSummary(svc, img);
    assert.equal(summary.Size, inspect.Size);
    const history = imageHistory(svc, img);
    assert.equal(history.length, 2);
    assert.equal(history[0]!.Id, img.id);
    assert.equal(history[1]!.Id, '<missing>');
    assert.ok(history[1]!.Size > history[0]!.Size, 'the base layer is the big one');
  });

  it('tags, refuses to delete an image named in two repositories by ID, untags by name', () => {
    const img = svc.get(image.name);
    svc.tag(image.name, 'mine/app:v1');
    assert.deepEqual(svc.get('mine/app:v1').repoTags.sort(), [image.name, 'mine/app:v1'].sort());
    assert.throws(() => svc.remove(img.id), /conflict: unable to delete [0-9a-f]{12} \(must be forced\) - image is referenced in multiple repositories/);
    assert.deepEqual(svc.remove('mine/app:v1'), [{ Untagged: 'mine/app:v1' }]);
    assert.throws(() => svc.get('mine/app:v1'), /No such image: mine\/app:v1/);
  });

  it('protects images containers use: stopped (unless forced) and running (never by ID)', () => {
    const img = svc.get(image.name);
    users.set(img.id, [{ id: 'c'.repeat(64), running: false }]);
    assert.throws(() => svc.remove(image.name), /unable to remove repository reference .* \(must force\) - container cccccccccccc is using its referenced image/);
    assert.throws(() => svc.remove(img.id), /\(must be forced\) - image is being used by stopped container cccccccccccc/);
    users.set(img.id, [{ id: 'r'.repeat(64), running: true }]);
    assert.throws(() => svc.remove(img.id, { force: true }), /\(cannot be forced\) - image is being used by running container rrrrrrrrrrrr/);
    users.delete(img.id);
  });

  it('pushes to a second repository by mounting blobs, then again with every layer already there', async () => {
    svc.tag(image.name, `${registry.host}/copy/busybox:2`);
    const first: PushProgress[] = [];
    await svc.push(`${registry.host}/copy/busybox:2`, { onProgress: (p) => first.push(p) });
    assert.equal(first[0]!.status, `The push refers to repository [${registry.host}/copy/busybox]`);
    assert.equal(first.filter((p) => p.status === 'Mounted from test/busybox').length, 2, 'both layers mounted, none uploaded');
    assert.equal(first.at(-1)!.aux?.Digest, image.indexDigest, 'the same index digest');
    const second: PushProgress[] = [];
    await svc.push(`${registry.host}/copy/busybox:2`, { onProgress: (p) => second.push(p) });
    assert.equal(second.filter((p) => p.status === 'Layer already exists').length, 2);
    assert.ok(svc.get(`${registry.host}/copy/busybox:2`).repoDigests.includes(`${registry.host}/copy/busybox@${image.indexDigest}`));
  });

  it('pulls the pushed copy into fresh stores with identical digests', async () => {
    const fresh = makeImageService(join(dir, 'fresh'));
    const copy = await fresh.pull(`${registry.host}/copy/busybox:2`);
    const orig = svc.get(image.name);
    assert.deepEqual([copy.target.digest, copy.manifestDigest, copy.id, copy.chainIds], [orig.target.digest, orig.manifestDigest, orig.id, orig.chainIds]);
  });

  it('leaves a dangling image when a tag moves, which prune removes', async () => {
    await svc.pull(other.name);
    svc.tag(other.name, 'moving:tag');
    const otherId = svc.get(other.name).id;
    assert.deepEqual(svc.remove(other.name), [{ Untagged: other.name }, { Untagged: `${registry.host}/test/other@${other.indexDigest}` }], 'the last tag of a repository takes its digest along');
    svc.tag(image.name, 'moving:tag');
    const left = svc.list().find((i) => i.id === otherId);
    assert.ok(left, 'the image stays without a name');
    assert.deepEqual(imageSummary(svc, left).RepoTags, ['<none>:<none>']);
    const pruned = svc.prune();
    assert.deepEqual(pruned.ImagesDeleted.filter((d) => 'Deleted' in d && d.Deleted === otherId).length, 1);
    assert.ok(pruned.SpaceReclaimed > 0);
    assert.equal(svc.list().some((i) => i.id === otherId), false);
  });

  it('accounts every byte in df, and GC leaves nothing once all images are removed', () => {
    const df = imageDiskUsage(svc);
    assert.equal(df.LayersSize, svc.bytesOnDisk());
    assert.ok(df.Images.length >= 1);
    const all = svc.prune({ all: true });
    assert.ok(all.ImagesDeleted.some((d) => 'Deleted' in d));
    assert.deepEqual(svc.list(), []);
    assert.deepEqual([svc.deps.content.list(), svc.deps.snapshotter.list(), svc.deps.images.list('moby')], [[], [], []]);
    assert.equal(svc.bytesOnDisk(), 0);
  });
});
