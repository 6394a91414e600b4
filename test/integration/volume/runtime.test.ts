// The mounts prepareMounts computes, run for real by berth-runtime in a busybox container whose
// image plants hostile symlinks (/data -> /etc, /up -> ../../../../<outside>): the container
// writes into its volumes, the image's /etc is copied up, a read-only bind refuses writes, and
// nothing appears on the host outside the rootfs and the volumes.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeBundle, type Bundle } from '../../helpers/busybox.js';
import { cleanupDir, RuntimeHarness } from '../../helpers/runtime.js';
import { prepareMounts, releaseMounts, removeContainerVolumes, resolveMounts } from '../../../src/volume/mounts.js';
import { mountsUnder, recordingStore, sha, tempRoot } from './helpers.js';

describe('volumes in a real container', () => {
  const rt = new RuntimeHarness();
  const tmp = tempRoot();
  const bundles: Bundle[] = [];
  after(async () => {
    await rt.cleanup();
    for (const b of bundles) cleanupDir(b.dir);
    tmp.cleanup();
  });

  it('writes land in the volumes, a ro bind is read-only, and symlinks cannot send a mount to the host', async () => {
    const outsideName = `berth-vol-escape-${process.pid}`;
    const { store } = recordingStore(join(tmp.dir, 'root'));
    const roSrc = join(tmp.dir, 'ro-src');
    mkdirSync(roSrc);
    writeFileSync(join(roSrc, 'readme'), 'read me\n');
    const script = [
      'echo from-container > /data/written',
      'head -1 /etc/passwd',
      `echo climbed > /${outsideName}/x/f`,
      'cat /ro/readme',
      'touch /ro/nope 2>&1 || true',
      'grep -c " /etc " /proc/mounts',
    ].join('; ');
    const b = makeBundle(['sh', '-c', script], (s) => { s.root!.readonly = false; });
    bundles.push(b);
    symlinkSync('/etc', join(b.rootfs, 'data'));
    symlinkSync(`../../../../../../${outsideName}`, join(b.rootfs, 'up'));

    const id = sha(1);
    const r = resolveMounts(store, { containerId: id, hostConfig: { Binds: ['etcvol:/data', `${roSrc}:/ro:ro`, 'climb:/up/x'] } });
    const mounts = prepareMounts(store, r.mounts, { containerId: id, rootfs: b.rootfs });
    assert.deepEqual(mounts.map((m) => m.destination), ['/etc', '/ro', `/${outsideName}/x`]);
    b.spec.mounts = [...(b.spec.mounts ?? []), ...mounts];
    b.save();

    const run = await rt.cli(['run', '--bundle', b.dir, rt.id('vol')]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.stdout.split('\n'), ['root:x:0:0:root:/root:/bin/sh', 'read me', 'touch: /ro/nope: Read-only file system', '1', '']);

    // The image's /etc was copied into the volume, and the container's writes are there.
    assert.deepEqual(readdirSync(store.path('etcvol')).sort(), ['group', 'passwd', 'written']);
    assert.equal(readFileSync(join(store.path('etcvol'), 'written'), 'utf8'), 'from-container\n');
    assert.equal(readFileSync(join(store.path('climb'), 'f'), 'utf8'), 'climbed\n');
    assert.equal(existsSync(join(b.rootfs, 'etc', 'written')), false, 'the write went into the volume, not the image');
    assert.equal(existsSync(`/${outsideName}`), false, 'nothing on the host outside the rootfs');
    assert.equal(existsSync('/etc/written'), false);
    assert.deepEqual(readdirSync(roSrc), ['readme']);

    assert.deepEqual(releaseMounts(store, r.mounts, id), []);
    removeContainerVolumes(store, r.mounts, id);
    store.remove('etcvol');
    store.remove('climb');
    assert.deepEqual(mountsUnder(tmp.dir), []);
    assert.deepEqual(mountsUnder(b.dir), []);
  });
});
