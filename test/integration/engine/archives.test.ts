// Archives and root filesystems: import (gzip, --change, no name), export of a tree, save → load
// into fresh stores with identical IDs and layers, skopeo and umoci reading what save writes and
// skopeo's own layouts loading back, and hostile or broken archives refused with nothing left.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { makeImageService, testImageLayers } from '../../helpers/images.js';
import { cleanupDir, haveCommand } from '../../helpers/runtime.js';
import { exportTree, importImage } from '../../../src/engine/images/import-export.js';
import { loadImages } from '../../../src/engine/images/load.js';
import { saveImages } from '../../../src/engine/images/save.js';
import { imageInspect } from '../../../src/engine/images/views.js';
import { tarEntry, TAR_END } from '../../../src/image/tar-writer.js';
import { mountAll, unmountAll } from '../../../src/sys/mount.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-archives-'));
const once = async function* (b: Buffer) {
  yield b;
};
async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

describe('import, export, save and load', () => {
  const svc = makeImageService(join(dir, 'main'));
  const mnt = join(dir, 'mnt');
  let layers: Buffer[];

  before(() => {
    layers = testImageLayers();
    mkdirSync(mnt);
  });
  after(() => {
    if (readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${mnt} `)) unmountAll(mnt);
    cleanupDir(dir);
  });

  it('imports a gzipped root filesystem with --change and a message', async () => {
    const img = await importImage(svc, once(gzipSync(layers[0]!)), {
      name: 'imported/busybox:1',
      changes: ['CMD ["sh", "-c", "echo hi"]', 'ENV A=1 B="two words"', 'EXPOSE 80 53/udp', 'LABEL team=infra', 'WORKDIR /tmp', 'USER nobody'],
      message: 'from a tarball',
    });
    assert.deepEqual(img.repoTags, ['imported/busybox:1']);
    const config = imageInspect(svc, img).Config as Record<string, unknown>;
    assert.deepEqual(config.Cmd, ['sh', '-c', 'echo hi']);
    assert.deepEqual(config.Env, ['A=1', 'B=two words']);
    assert.deepEqual(config.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
    assert.deepEqual(config.Labels, { team: 'infra' });
    assert.deepEqual([config.WorkingDir, config.User], ['/tmp', 'nobody']);
    assert.equal(imageInspect(svc, img).Comment, 'from a tarball');
    assert.equal(img.config.rootfs.diff_ids[0], `sha256:${execFileSync('sha256sum', { input: layers[0] }).toString().slice(0, 64)}`);
  });

  it('refuses a bad change line before reading the tarball', async () => {
    await assert.rejects(importImage(svc, once(layers[0]!), { changes: ['RUN rm -rf /'] }), /RUN is not a valid change command/);
  });

  it('imports without a name as <none>, and exports a tree that holds every file', async () => {
    const img = await importImage(svc, once(layers[0]!));
    assert.deepEqual(img.repoTags, []);
    mountAll(svc.deps.snapshotter.view('export', img.chainIds.at(-1)!), mnt);
    try {
      const tar = await collect(exportTree(mnt));
      const names = execFileSync('tar', ['-t'], { input: tar, maxBuffer: 1 << 26 }).toString().split('\n');
      for (const n of ['bin/busybox', 'bin/sh', 'etc/passwd']) assert.ok(names.includes(n), n);
    } finally {
      unmountAll(mnt);
      svc.deps.snapshotter.remove('export');
    }
  });

  it('saves and loads into fresh stores with the same ID, names and layers', async () => {
    const base = await importImage(svc, once(layers[0]!), { name: 'two/layers:base' });
    const archive = await collect(saveImages(svc, ['two/layers:base', 'imported/busybox:1']));
    const fresh = makeImageService(join(dir, 'fresh'));
    const lines = await loadImages(fresh, once(archive));
    assert.deepEqual(lines.sort(), ['Loaded image: imported/busybox:1', 'Loaded image: two/layers:base']);
    for (const name of ['two/layers:base', 'imported/busybox:1']) {
      const [a, b] = [svc.get(name), fresh.get(name)];
      assert.deepEqual([b.id, b.target.digest, b.chainIds], [a.id, a.target.digest, a.chainIds], name);
    }
    assert.equal(fresh.get('two/layers:base').id, base.id);
    assert.deepEqual(fresh.deps.leases.list(), [], 'no lease left');
  });

  it('writes archives skopeo and umoci read, and loads skopeo\'s OCI layout back', { skip: !haveCommand('skopeo') && 'skopeo not installed' }, async () => {
    const archive = join(dir, 'saved.tar');
    writeFileSync(archive, await collect(saveImages(svc, ['imported/busybox:1'])));
    const id = svc.get('imported/busybox:1').id;
    const viaDocker = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `docker-archive:${archive}`]).toString()) as { rootfs: { diff_ids: string[] } };
    assert.deepEqual(viaDocker.rootfs.diff_ids, svc.get('imported/busybox:1').config.rootfs.diff_ids);
    const raw = execFileSync('skopeo', ['inspect', '--raw', `oci-archive:${archive}:1`]);
    assert.equal(`sha256:${execFileSync('sha256sum', { input: raw }).toString().slice(0, 64)}`, svc.get('imported/busybox:1').target.digest, 'the OCI side keeps the manifest digest');
    const layout = join(dir, 'layout');
    execFileSync('skopeo', ['copy', '-q', `oci-archive:${archive}:1`, `oci:${layout}:copied/busybox:7`]);
    if (haveCommand('umoci')) assert.match(execFileSync('umoci', ['ls', '--layout', layout]).toString(), /copied\/busybox:7/);
    const tar = execFileSync('tar', ['-C', layout, '-cf', '-', '.'], { maxBuffer: 1 << 28 });
    const fresh = makeImageService(join(dir, 'from-skopeo'));
    assert.deepEqual(await loadImages(fresh, once(tar)), ['Loaded image: copied/busybox:7']);
    assert.equal(fresh.get('copied/busybox:7').id, id, 'the config came through byte for byte');
  });

  it('loads the test image\'s layers (whiteout, opaque dir, links) from a docker-archive', async () => {
    const diffIds = layers.map((l) => `sha256:${execFileSync('sha256sum', { input: l }).toString().slice(0, 64)}`);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: diffIds } }));
    const archive = Buffer.concat([
      tarEntry({ name: 'cfg.json', type: 'file' }, config),
      tarEntry({ name: 'l0/layer.tar', type: 'file' }, layers[0]!),
      tarEntry({ name: 'l1/layer.tar', type: 'file' }, gzipSync(layers[1]!)),
      tarEntry({ name: 'l2/layer.tar', type: 'symlink', linkname: '../l1/layer.tar' }),
      tarEntry({ name: 'manifest.json', type: 'file' }, Buffer.from(JSON.stringify([{ Config: 'cfg.json', RepoTags: ['feat/layers:1'], Layers: ['l0/layer.tar', 'l2/layer.tar'] }]))),
      TAR_END,
    ]);
    await loadImages(svc, once(archive));
    const img = svc.get('feat/layers:1');
    mountAll(svc.deps.snapshotter.view('look', img.chainIds.at(-1)!), mnt);
    try {
      assert.equal(readFileSync(join(mnt, 'etc/motd.link'), 'utf8'), 'made by berth\n');
      assert.equal(readFileSync(join(mnt, 'etc/issue'), 'utf8'), 'made by berth\n');
      assert.equal(existsSync(join(mnt, 'bin/vi')), false);
      assert.equal(readFileSync(join(mnt, 'home/user'), 'utf8'), 'fresh\n');
    } finally {
      unmountAll(mnt);
      svc.deps.snapshotter.remove('look');
    }
  });

  it('refuses hostile and broken archives, writes nothing outside, and leaves nothing behind', async () => {
    const fresh = makeImageService(join(dir, 'hostile'));
    const outside = join(dir, 'escaped');
    const cases: Array<[string, Buffer, RegExp]> = [
      ['a ../ name and a link out', Buffer.concat([
        tarEntry({ name: `../../../../..${outside}`, type: 'file' }, Buffer.from('x')),
        tarEntry({ name: 'manifest.json', type: 'symlink', linkname: '/etc/passwd' }),
        TAR_END]), /invalid archive: "manifest.json" is missing|neither manifest.json/],
      ['a missing layer', Buffer.concat([
        tarEntry({ name: 'c.json', type: 'file' }, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${'0'.repeat(64)}`] } }))),
        tarEntry({ name: 'manifest.json', type: 'file' }, Buffer.from(JSON.stringify([{ Config: 'c.json', RepoTags: ['x:1'], Layers: ['nope/layer.tar'] }]))),
        TAR_END]), /invalid archive: "nope\/layer.tar" is missing/],
      ['a layer that is not what the config says', Buffer.concat([
        tarEntry({ name: 'c.json', type: 'file' }, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${'0'.repeat(64)}`] } }))),
        tarEntry({ name: 'l.tar', type: 'file' }, layers[1]!),
        tarEntry({ name: 'manifest.json', type: 'file' }, Buffer.from(JSON.stringify([{ Config: 'c.json', RepoTags: ['x:1'], Layers: ['l.tar'] }]))),
        TAR_END]), /invalid archive: layer l\.tar has digest sha256:[0-9a-f]{64}, the config wants sha256:0{64}/],
      ['not JSON', Buffer.concat([tarEntry({ name: 'manifest.json', type: 'file' }, Buffer.from('{oops')), TAR_END]), /manifest.json is not JSON/],
      ['not a tar at all', Buffer.from('hello, this is not an archive'.repeat(40)), /./],
    ];
    for (const [what, archive, error] of cases) {
      await assert.rejects(loadImages(fresh, once(archive)), error, what);
      assert.equal(existsSync(outside), false, what);
      fresh.collectGarbage();
      assert.deepEqual([fresh.list(), fresh.deps.content.list(), fresh.deps.content.listIngests(), fresh.deps.snapshotter.list(), fresh.deps.leases.list()], [[], [], [], [], []], what);
    }
  });

  it('streams a saved archive from disk (a file source, as the API will give it)', async () => {
    const path = join(dir, 'again.tar');
    writeFileSync(path, await collect(saveImages(svc, ['two/layers'])));
    const fresh = makeImageService(join(dir, 'from-file'));
    assert.deepEqual(await loadImages(fresh, createReadStream(path)), ['Loaded image: two/layers:base']);
  });
});
