// save and load against real Docker (Debian's docker.io, a private daemon): an image Docker built
// (several layers, a whiteout, empty-layer history) loads into berth with Docker's image ID and
// history; berth's save of it and of an image berth imported loads back into Docker, which runs
// them. Skipped when dockerd is not installed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { makeBusyboxRootfs } from '../../helpers/busybox.js';
import { haveDockerd, startDockerd, type TestDockerd } from '../../helpers/dockerd.js';
import { makeImageService } from '../../helpers/images.js';
import { cleanupDir } from '../../helpers/runtime.js';
import { importImage } from '../../../src/engine/images/import-export.js';
import { loadImages } from '../../../src/engine/images/load.js';
import { saveImages } from '../../../src/engine/images/save.js';
import { imageHistory } from '../../../src/engine/images/views.js';
import { mountAll, unmountAll } from '../../../src/sys/mount.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-interop-'));
const mnt = join(dir, 'mnt');

describe('save and load with real Docker', { skip: !haveDockerd() && 'dockerd not installed (apt-get install docker.io)' }, () => {
  let dockerd: TestDockerd;
  const svc = makeImageService(join(dir, 'stores'));
  const ok = async (args: string[]) => {
    const r = await dockerd.docker(args, { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };

  before(async () => {
    mkdirSync(mnt);
    dockerd = await startDockerd();
    const rootfs = join(dir, 'rootfs');
    makeBusyboxRootfs(rootfs);
    execFileSync('tar', ['-C', rootfs, '-cf', join(dir, 'rootfs.tar'), '.']);
    await ok(['import', join(dir, 'rootfs.tar'), 'interop/base:1']);
    const ctx = join(dir, 'ctx');
    mkdirSync(ctx);
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM interop/base:1\nENV GREETING=hi\nRUN echo "$GREETING from docker" > /hello && rm /bin/vi\nCMD ["cat", "/hello"]\n');
    await ok(['build', '--network', 'none', '-q', '-t', 'interop/app:1', ctx]);
  });
  after(async () => {
    if (existsSync(mnt) && readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${mnt} `)) unmountAll(mnt);
    await dockerd?.stop();
    cleanupDir(dir);
  });

  it('loads what docker save writes, with Docker\'s image ID, history and layers', async () => {
    const archive = join(dir, 'from-docker.tar');
    await ok(['save', '-o', archive, 'interop/app:1']);
    assert.deepEqual(await loadImages(svc, createReadStream(archive)), ['Loaded image: interop/app:1']);
    const img = svc.get('interop/app:1');
    assert.equal(img.id, await ok(['image', 'inspect', '-f', '{{.Id}}', 'interop/app:1']));
    assert.equal(imageHistory(svc, img).length, Number(await ok(['history', '-q', 'interop/app:1']).then((s) => s.split('\n').length)));
    mountAll(svc.deps.snapshotter.view('look', img.chainIds.at(-1)!), mnt);
    try {
      assert.equal(readFileSync(join(mnt, 'hello'), 'utf8'), 'hi from docker\n');
      assert.equal(existsSync(join(mnt, 'bin/vi')), false, 'the RUN\'s rm is a whiteout');
    } finally {
      unmountAll(mnt);
      svc.deps.snapshotter.remove('look');
    }
  });

  it('writes archives docker load takes back, and Docker runs them', async () => {
    const archive = join(dir, 'from-berth.tar');
    await importImage(svc, createReadStream(join(dir, 'rootfs.tar')), { name: 'berth/made:1', changes: ['CMD ["echo", "made by berth"]'] });
    await pipeline(Readable.from(saveImages(svc, ['interop/app:1', 'berth/made:1'])), createWriteStream(archive));
    await ok(['rmi', 'interop/app:1']);
    const loaded = await ok(['load', '-i', archive]);
    assert.match(loaded, /Loaded image: interop\/app:1/);
    assert.match(loaded, /Loaded image: berth\/made:1/);
    assert.equal(await ok(['image', 'inspect', '-f', '{{.Id}}', 'interop/app:1']), svc.get('interop/app:1').id);
    assert.equal(await ok(['image', 'inspect', '-f', '{{.Id}}', 'berth/made:1']), svc.get('berth/made:1').id);
    assert.equal(await ok(['run', '--rm', '--network', 'none', 'interop/app:1']), 'hi from docker');
    assert.equal(await ok(['run', '--rm', '--network', 'none', 'berth/made:1']), 'made by berth');
  });
});
