// An image layer whose directory is gone from the disk (a damaged data root): a start that cannot
// mount the root filesystem fails like any other failed start. The error is recorded on the
// container, `docker run --rm` ends with it and removes the container, nothing stays mounted, and
// other images still run.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxRootfs } from '../../helpers/busybox.js';
import { startBerthd, type TestBerthd } from '../../helpers/berthd.js';
import { cleanupDir } from '../../helpers/runtime.js';

const work = mkdtempSync(join(tmpdir(), 'berth-brokenlayer-'));

describe('an image layer missing from the disk', () => {
  let d: TestBerthd;
  const ok = async (...args: string[]) => {
    const r = await d.docker(args, { timeoutMs: 30_000 });
    assert.equal(r.code, 0, `docker ${args.join(' ')} exited ${r.code}: ${r.stderr}\n--- berthd log ---\n${d.log().slice(-2000)}`);
    return r.stdout.trim();
  };
  /** Mounts under the daemon's directory, but for its host network namespace. */
  const mountsLeft = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4])
    .filter((m) => m?.startsWith(d.dir) && !m.endsWith('host.netns'));

  before(async () => {
    const rootfs = join(work, 'rootfs');
    makeBusyboxRootfs(rootfs);
    execFileSync('tar', ['-C', rootfs, '-cf', join(work, 'bb.tar'), '.']);
    writeFileSync(join(rootfs, 'marker'), 'a different layer\n');
    execFileSync('tar', ['-C', rootfs, '-cf', join(work, 'broken.tar'), '.']);
    d = await startBerthd();
    await ok('import', join(work, 'bb.tar'), 'bb:latest');
    await ok('import', join(work, 'broken.tar'), 'broken:latest');
    // A one-layer image's chain ID is its layer's diff ID, the snapshot's key.
    const [chainId] = JSON.parse(await ok('image', 'inspect', '-f', '{{json .RootFS.Layers}}', 'broken')) as string[];
    const meta = JSON.parse(readFileSync(join(d.dir, 'data', 'snapshots', 'overlayfs', 'metadata.json'), 'utf8'));
    const snapshot = meta.namespaces.moby[chainId!];
    assert.ok(snapshot, `the snapshot of ${chainId}`);
    rmSync(join(d.dir, 'data', 'snapshots', 'overlayfs', 'snapshots', String(snapshot.id), 'fs'), { recursive: true });
  });
  after(async () => {
    await d?.stop();
    cleanupDir(work);
  });

  it('start fails with the mount error, recorded on the container', async () => {
    const id = await ok('create', '--network', 'none', 'broken', 'true');
    const r = await d.docker(['start', '-a', id], { timeoutMs: 30_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /mount/);
    assert.match(await ok('inspect', '-f', '{{.State.Status}} {{.State.Error}}', id), /^created .*mount/);
    assert.deepEqual(mountsLeft(), []);
    await ok('rm', id);
  });

  it('run --rm ends with the error and removes the container', async () => {
    const r = await d.docker(['run', '--rm', '--network', 'none', 'broken', 'true'], { timeoutMs: 30_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /mount/);
    for (let i = 0; i < 50 && (await ok('ps', '-aq')) !== ''; i++) await new Promise((res) => setTimeout(res, 100));
    assert.equal(await ok('ps', '-aq'), '', 'the --rm container is gone');
    assert.deepEqual(mountsLeft(), []);
  });

  it('other images still run', async () => {
    assert.equal(await ok('run', '--rm', '--network', 'none', 'bb', 'echo', 'fine'), 'fine');
  });
});
