// berthd's data root on a small loop-mounted ext4 that fills up: a pull that does not fit fails
// with a clear error and leaves the store as it was (the images there still run); a container
// whose log cannot be written any more keeps running and the daemon keeps answering; once space
// is freed, the same pull succeeds and new logs are written again.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxRootfs } from '../../helpers/busybox.js';
import { startBerthd, type TestBerthd } from '../../helpers/berthd.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { cleanupDir, haveCommand, waitFor } from '../../helpers/runtime.js';
import { isMountPoint, unmountAll } from '../../../src/sys/mount.js';

const work = mkdtempSync(join(tmpdir(), 'berth-diskfull-'));
const mnt = join(work, 'data');
const MB = 1 << 20;
const skip = ['mkfs.ext4', 'losetup', 'docker-registry', 'fallocate'].find((c) => !haveCommand(c));

describe('a full data root', { skip: skip ? `${skip} not installed` : false }, () => {
  let d: TestBerthd;
  let registry: TestRegistry;
  let ref = '';
  const ok = async (...args: string[]) => {
    const r = await d.docker(args, { timeoutMs: 60_000 });
    assert.equal(r.code, 0, `docker ${args.join(' ')} exited ${r.code}: ${r.stderr}\n--- berthd log ---\n${d.log().slice(-2000)}`);
    return r.stdout.trim();
  };
  const filler = join(mnt, 'filler');
  /** Takes all but `leaveMb` of the free space. */
  const fill = (leaveMb: number) => {
    const free = Number(execFileSync('df', ['--output=avail', '-B1', mnt]).toString().split('\n')[1]);
    execFileSync('fallocate', ['-l', String(Math.max(MB, free - leaveMb * MB)), filler]);
  };

  before(async () => {
    const image = join(work, 'disk.img');
    execFileSync('truncate', ['-s', '160M', image]);
    execFileSync('mkfs.ext4', ['-q', '-F', image]);
    mkdirSync(mnt);
    execFileSync('mount', ['-o', 'loop', image, mnt]);
    const rootfs = join(work, 'rootfs');
    makeBusyboxRootfs(rootfs);
    execFileSync('tar', ['-C', rootfs, '-cf', join(work, 'bb.tar'), '.']);
    writeFileSync(join(rootfs, 'payload.bin'), randomBytes(40 * MB));
    execFileSync('tar', ['-C', rootfs, '-cf', join(work, 'big.tar'), '.']);
    d = await startBerthd({ dataRoot: mnt });
    registry = await startRegistry({ netns: join(d.dir, 'host.netns') });
    await ok('import', join(work, 'bb.tar'), 'bb:latest');
    ref = `${registry.host}/full/big:1`;
    await ok('import', join(work, 'big.tar'), ref);
    await ok('push', ref);
    await ok('rmi', ref);
  });
  after(async () => {
    await registry?.stop();
    await d?.stop();
    if (isMountPoint(mnt)) unmountAll(mnt);
    cleanupDir(work);
  });

  it('a pull that does not fit fails clearly and leaves the store intact; after freeing space it succeeds', async () => {
    fill(10);
    const pull = await d.docker(['pull', ref], { timeoutMs: 60_000 });
    assert.notEqual(pull.code, 0);
    assert.match(pull.stderr, /no space left on device/i);
    assert.equal((await d.docker(['image', 'inspect', ref])).code, 1, 'no half image listed');
    assert.equal(await ok('run', '--rm', '--network', 'none', 'bb', 'echo', 'still works'), 'still works');
    assert.equal(await ok('images', '--format', '{{.Repository}}'), 'bb');
    rmSync(filler);
    await ok('pull', ref);
    assert.equal(await ok('run', '--rm', '--network', 'none', ref, 'sh', '-c', 'wc -c < /payload.bin'), String(40 * MB));
    await ok('rmi', ref);
  });

  it('a container whose log cannot be written keeps running, the daemon answers, and logging resumes with space', async () => {
    fill(2);
    const id = await ok('run', '-d', '--network', 'none', 'bb', 'sh', '-c', 'yes a-long-log-line-that-fills-the-disk | head -c 8000000; echo first-done; while true; do sleep 0.2; [ -e /tmp/go ] && echo second && break; done; sleep 1000');
    await waitFor(async () => (await ok('top', id)).includes('sleep'), 20_000);
    assert.equal(await ok('inspect', '-f', '{{.State.Running}}', id), 'true');
    assert.match(await ok('ps', '--format', '{{.ID}}'), new RegExp(id.slice(0, 12)));
    const tail = await d.docker(['logs', '--tail', '1', id]);
    assert.equal(tail.code, 0, tail.stderr);
    rmSync(filler);
    await ok('exec', id, 'touch', '/tmp/go');
    await waitFor(async () => (await ok('logs', '--tail', '1', id)) === 'second', 10_000);
    assert.equal(await ok('run', '--rm', '--network', 'none', 'bb', 'echo', 'after'), 'after');
    await ok('rm', '-f', id);
  });
});
