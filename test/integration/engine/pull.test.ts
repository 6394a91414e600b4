// Pulling from Debian's real docker-registry into the content store and overlay snapshots:
// Docker's progress messages, a run-ready layer stack with whiteouts applied, a second pull that
// downloads nothing, garbage collection that keeps what the image reaches, and a pull killed with
// SIGKILL that leaves nothing behind once its lease is released and GC has run.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBusyboxRootfs } from '../../helpers/busybox.js';
import { pushTestImage, startRegistry, type PushedImage, type TestRegistry } from '../../helpers/registry.js';
import { cleanupDir } from '../../helpers/runtime.js';
import { collectGarbage } from '../../../src/supervisor/content/gc.js';
import { LeaseStore } from '../../../src/supervisor/content/leases.js';
import { ContentStore } from '../../../src/supervisor/content/store.js';
import { OverlaySnapshotter } from '../../../src/supervisor/snapshots/overlay.js';
import { parseReference } from '../../../src/image/reference.js';
import { tarEntry, TAR_END } from '../../../src/image/tar-writer.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { mountAll, unmountAll } from '../../../src/sys/mount.js';
import { pullImage, releaseOrphanLeases, type PullDeps, type PullProgress } from '../../../src/supervisor/images/pull.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-pull-'));
const target = join(dir, 'mnt');
mkdirSync(target);

function stores(name: string): PullDeps {
  const root = join(dir, name);
  return {
    content: new ContentStore(join(root, 'content')),
    leases: new LeaseStore(join(root, 'leases')),
    snapshotter: new OverlaySnapshotter(join(root, 'snapshots')),
    whiteouts: 'overlay',
    registry: new RegistryClient(),
  };
}

describe('pull', () => {
  let registry: TestRegistry;
  let image: PushedImage;
  let big: PushedImage;
  const deps = stores('main');

  before(async () => {
    registry = await startRegistry();
    const rootfs = join(dir, 'rootfs');
    makeBusyboxRootfs(rootfs);
    const base = execFileSync('tar', ['-C', rootfs, '-cf', '-', '.'], { maxBuffer: 1 << 28 });
    const top = Buffer.concat([tarEntry({ name: 'etc/motd', type: 'file' }, Buffer.from('pulled by berth\n')), tarEntry({ name: 'bin/.wh.vi', type: 'file' }), TAR_END]);
    image = await pushTestImage(registry.host, 'test/busybox:1', [base, top]);
    big = await pushTestImage(registry.host, 'test/big:1', [Buffer.concat([tarEntry({ name: 'noise', type: 'file' }, randomBytes(48 << 20)), TAR_END])]);
  });
  after(async () => {
    if (readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${target} `)) unmountAll(target);
    await registry?.stop();
    cleanupDir(dir);
  });

  it('pulls an image into content and snapshots, with Docker\'s progress messages', async () => {
    const progress: PullProgress[] = [];
    const pulled = await pullImage(deps, parseReference(image.name), { onProgress: (p) => progress.push(p) });
    assert.equal(pulled.target.digest, image.indexDigest);
    assert.equal(pulled.manifestDigest, image.manifestDigest);
    const statuses = new Set(progress.map((p) => p.status));
    for (const s of ['Pulling from test/busybox', 'Pulling fs layer', 'Downloading', 'Download complete', 'Extracting', 'Pull complete', `Digest: ${image.indexDigest}`]) assert.ok(statuses.has(s), s);
    mountAll(deps.snapshotter.view('look', pulled.chainIds.at(-1)!), target);
    try {
      assert.ok(existsSync(join(target, 'bin', 'busybox')));
      assert.equal(readFileSync(join(target, 'etc', 'motd'), 'utf8'), 'pulled by berth\n');
      assert.equal(existsSync(join(target, 'bin', 'vi')), false, 'the second layer\'s whiteout');
    } finally {
      unmountAll(target);
      deps.snapshotter.remove('look');
    }
    deps.leases.delete(pulled.leaseId);
    const gc = collectGarbage({ content: deps.content, leases: deps.leases, roots: [pulled.target.digest], snapshotter: deps.snapshotter, snapshotRoots: [pulled.chainIds.at(-1)!] });
    assert.deepEqual([gc.removedBlobs, gc.removedSnapshots, gc.removedIngests], [[], [], []], 'everything the image reaches is kept');
  });

  it('pulls again without downloading a byte', async () => {
    const progress: PullProgress[] = [];
    const pulled = await pullImage(deps, parseReference(image.name), { onProgress: (p) => progress.push(p) });
    deps.leases.delete(pulled.leaseId);
    assert.equal(progress.filter((p) => p.status === 'Already exists').length, 2);
    assert.equal(progress.filter((p) => p.status === 'Downloading').length, 0);
  });

  it('fails an unknown tag clearly and keeps no lease', async () => {
    await assert.rejects(pullImage(deps, parseReference(`${registry.host}/test/busybox:missing`)), /test\/busybox:missing not found .*check the name and tag/);
    assert.deepEqual(deps.leases.list(), []);
  });

  it('leaves nothing of a pull killed with SIGKILL once its lease is released and GC has run', async () => {
    const killed = stores('killed');
    const puller = fileURLToPath(new URL('./pull-child.js', import.meta.url));
    const child = spawn(process.execPath, [puller, join(dir, 'killed'), big.name], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('Downloading')) resolve(); });
      child.once('exit', (code) => reject(new Error(`the pull ended (${code}) before it could be killed`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    assert.equal(killed.content.listIngests().length, 1, 'a half-written blob is there');
    assert.equal(releaseOrphanLeases(killed.leases).length, 1);
    collectGarbage({ content: killed.content, leases: killed.leases, roots: [], snapshotter: killed.snapshotter, snapshotRoots: [] });
    assert.deepEqual([killed.content.list(), killed.content.listIngests(), killed.snapshotter.list()], [[], [], []]);
    const again = await pullImage(killed, parseReference(big.name));
    assert.equal(again.manifestDigest, big.manifestDigest, 'and the pull then completes');
  });
});
