// A container's mounts from create to remove, on the real kernel with a rootfs directory made by
// the test: Binds/Mounts/VolumesFrom/image VOLUMEs resolved (volumes created and referenced,
// Docker's errors, nothing left after an error), copy-up with owners, modes, times and links,
// destinations resolved inside the rootfs whatever its symlinks say (asserted on disk), a
// read-only bind mounted for real, and rm -v.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, utimesSync, writeFileSync, chmodSync, lchownSync, constants } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { mountAll, unmountAll } from '../../../src/sys/mount.js';
import { mknodSyscall } from '../../../src/sys/libc.js';
import { inspectMounts, prepareMounts, releaseMounts, removeContainerVolumes, resolveMounts } from '../../../src/volume/mounts.js';
import { ANONYMOUS_LABEL, type VolumeStore } from '../../../src/volume/store.js';
import { mountsUnder, recordingStore, sha, tempRoot } from './helpers.js';

const errorOf = (fn: () => unknown): Error & { code?: string } => {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  assert.fail('expected an error');
};

const T = new Date('2001-02-03T04:05:06Z');

/** A small image root: /data with content to copy up, /etc with a marker, and hostile symlinks. */
function makeRootfs(dir: string, outsideAbs: string, outsideName: string): void {
  mkdirSync(join(dir, 'data', 'sub'), { recursive: true });
  writeFileSync(join(dir, 'data', 'a'), 'file a');
  chownSync(join(dir, 'data', 'a'), 1000, 1001);
  chmodSync(join(dir, 'data', 'a'), 0o640);
  utimesSync(join(dir, 'data', 'a'), T, T);
  linkSync(join(dir, 'data', 'a'), join(dir, 'data', 'hard'));
  writeFileSync(join(dir, 'data', 'sub', 'b'), 'file b');
  chmodSync(join(dir, 'data', 'sub', 'b'), 0o4755);
  symlinkSync('../a', join(dir, 'data', 'sub', 'ln'));
  lchownSync(join(dir, 'data', 'sub', 'ln'), 1000, 1000);
  execFileSync('mkfifo', [join(dir, 'data', 'fifo')]);
  mknodSyscall(join(dir, 'data', 'dev'), constants.S_IFCHR | 0o620, 511, 70000, 'dev'); // numbers past makedev's short fields
  chownSync(join(dir, 'data', 'dev'), 0, 5);
  chmodSync(join(dir, 'data', 'dev'), 0o620); // mknod's mode went through the umask
  chownSync(join(dir, 'data', 'sub'), 1002, 1002);
  chmodSync(join(dir, 'data', 'sub'), 0o700);
  utimesSync(join(dir, 'data', 'sub'), T, T);
  chownSync(join(dir, 'data'), 1000, 1000);
  chmodSync(join(dir, 'data'), 0o750);
  utimesSync(join(dir, 'data'), T, T);
  mkdirSync(join(dir, 'etc'));
  writeFileSync(join(dir, 'etc', 'image-etc'), 'the image\'s /etc');
  writeFileSync(join(dir, 'file'), 'a file');
  symlinkSync('/etc', join(dir, 'link'));
  symlinkSync(`../../../../../../../../${outsideName}`, join(dir, 'up'));
  symlinkSync(outsideAbs, join(dir, 'abs'));
  symlinkSync('/', join(dir, 'toroot'));
}

describe('container mounts', () => {
  const tmp = tempRoot();
  after(tmp.cleanup);
  const outsideName = `berth-vol-outside-${process.pid}`;
  const outsideAbs = join(tmp.dir, 'host-target');
  const hostDir = join(tmp.dir, 'hostdir');
  let store: VolumeStore;
  let events: Array<{ action: string; name: string }>;
  let rootfs: string;
  let n = 0;

  before(() => {
    ({ store, events } = recordingStore(join(tmp.dir, 'root')));
    mkdirSync(outsideAbs);
    mkdirSync(hostDir);
    writeFileSync(join(hostDir, 'hello'), 'from the host');
  });
  after(() => {
    assert.equal(existsSync(`/${outsideName}`), false, 'nothing was created outside the rootfs');
  });
  const freshRootfs = () => {
    rootfs = join(tmp.dir, `rootfs${++n}`);
    mkdirSync(rootfs);
    makeRootfs(rootfs, outsideAbs, outsideName);
    return rootfs;
  };
  const resolve = (id: string, hostConfig: Parameters<typeof resolveMounts>[1]['hostConfig'], extra: Partial<Parameters<typeof resolveMounts>[1]> = {}) =>
    resolveMounts(store, { containerId: id, hostConfig, ...extra });

  it('resolves -v, --mount, tmpfs and the image\'s VOLUMEs into mount points, creating and referencing volumes', () => {
    const id = sha(1);
    const r = resolve(id, {
      Binds: ['named1:/data', `${hostDir}:/h:ro`, '/anon'],
      Mounts: [
        { Type: 'volume', Target: '/m', VolumeOptions: { Labels: { x: 'y' } } },
        { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1 << 20 } },
        { Type: 'bind', Source: hostDir, Target: '/hb', BindOptions: { NonRecursive: true } },
      ],
      Tmpfs: { '/run': '' },
    }, { imageVolumes: { '/data': {}, '/image-vol/': {}, '/t': {}, '/run': {} } });
    const byDest = new Map(r.mounts.map((m) => [m.Destination, m]));
    assert.deepEqual([...byDest.keys()], ['/data', '/h', '/anon', '/m', '/t', '/hb', '/image-vol']);
    assert.equal(byDest.get('/data')!.Name, 'named1', '-v wins over the image VOLUME on the same path');
    assert.equal(byDest.get('/data')!.Anonymous, false);
    assert.equal(byDest.get('/data')!.Source, store.path('named1'));
    assert.equal(byDest.get('/h')!.Source, hostDir);
    assert.equal(byDest.get('/h')!.RW, false);
    assert.equal(byDest.get('/t')!.Type, 'tmpfs');
    for (const d of ['/anon', '/m', '/image-vol']) {
      const m = byDest.get(d)!;
      assert.equal(m.Anonymous, true, d);
      assert.match(m.Name, /^[0-9a-f]{64}$/);
      assert.equal(store.get(m.Name).Labels![ANONYMOUS_LABEL], '');
    }
    assert.deepEqual(store.get(byDest.get('/m')!.Name).Labels, { x: 'y', [ANONYMOUS_LABEL]: '' });
    assert.equal(byDest.get('/image-vol')!.Mode, '');
    assert.equal(byDest.get('/image-vol')!.CopyData, true);
    assert.deepEqual(r.createdVolumes.sort(), ['named1', byDest.get('/anon')!.Name, byDest.get('/m')!.Name, byDest.get('/image-vol')!.Name].sort());
    for (const name of r.createdVolumes) assert.deepEqual(store.users(name), [id]);

    assert.deepEqual(inspectMounts(r.mounts).slice(0, 2), [
      { Type: 'volume', Name: 'named1', Source: store.path('named1'), Destination: '/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '' },
      { Type: 'bind', Source: hostDir, Destination: '/h', Mode: 'ro', RW: false, Propagation: 'rprivate' },
    ]);

    // rm -v: the anonymous volumes go, the named one stays.
    const removed = removeContainerVolumes(store, r.mounts, id, { removeVolumes: true });
    assert.deepEqual(removed.problems, []);
    assert.equal(removed.removed.length, 3);
    assert.equal(store.has('named1'), true);
    assert.deepEqual(store.users('named1'), []);
    store.remove('named1');
  });

  it('refuses bad requests with Docker\'s errors and leaves no volume or reference behind', () => {
    const before = store.list().map((v) => v.Name);
    const id = sha(2);
    assert.equal(errorOf(() => resolve(id, { Binds: ['new1:/a', '/x:/a'] })).message, 'Duplicate mount point: /a');
    assert.equal(errorOf(() => resolve(id, { Binds: ['new1:/a'], Mounts: [{ Type: 'bind', Source: '/tmp', Target: '/a/' }] })).message, 'Duplicate mount point: /a/');
    assert.equal(errorOf(() => resolve(id, { Binds: ['/tmp:/a'], Tmpfs: { '/a': '' } })).message, 'Duplicate mount point: /a');
    assert.equal(errorOf(() => resolve(id, { Mounts: [{ Type: 'bind', Source: join(tmp.dir, 'nope'), Target: '/a' }] })).message, `invalid mount config for type "bind": bind source path does not exist: ${join(tmp.dir, 'nope')}`);
    assert.equal(errorOf(() => resolve(id, { Binds: ['/x:a'] })).code, 'INVALID_ARGUMENT');
    assert.equal(errorOf(() => resolve(id, { Binds: ['new1:/a'], VolumeDriver: 'nfsx' })).code, 'NOT_FOUND');

    // A failure after some volumes were made: they are taken back; an existing one only loses the reference.
    store.create({ Name: 'existing' });
    const err = errorOf(() => resolve(id, { Mounts: [
      { Type: 'volume', Source: 'existing', Target: '/e' },
      { Type: 'volume', Source: 'made-then-undone', Target: '/a' },
      { Type: 'volume', Target: '/anon' },
      { Type: 'volume', Source: 'bad', Target: '/b', VolumeOptions: { DriverConfig: { Name: 'nfsx' } } },
    ] }));
    assert.match(err.message, /plugin "nfsx" not found/);
    assert.deepEqual(store.list().map((v) => v.Name).sort(), [...before, 'existing'].sort());
    assert.deepEqual(store.users('existing'), []);
    store.remove('existing');
  });

  it('--volumes-from takes another container\'s mounts (read-only if asked) and references its volumes', () => {
    const a = resolve(sha(3), { Binds: ['shared:/s', `${hostDir}:/h`], Mounts: [{ Type: 'tmpfs', Target: '/t' }] });
    const lookup = (ref: string) => {
      if (ref !== 'a') throw Object.assign(new Error(`No such container: ${ref}`), { code: 'NOT_FOUND' });
      return { id: sha(3), mounts: a.mounts };
    };
    const b = resolve(sha(4), { VolumesFrom: ['a:ro'], Binds: [`${hostDir}:/h:rw`] }, { containerMounts: lookup });
    const s = b.mounts.find((m) => m.Destination === '/s')!;
    assert.equal(s.Name, 'shared');
    assert.equal(s.RW, false);
    assert.equal(s.CopyData, false);
    assert.equal(b.mounts.find((m) => m.Destination === '/h')!.RW, true, 'a -v on the same path replaces the inherited mount');
    assert.ok(b.mounts.find((m) => m.Destination === '/t')!.TmpfsOptions!.includes('ro'));
    assert.deepEqual(b.createdVolumes, []);
    assert.deepEqual(store.users('shared'), [sha(3), sha(4)]);
    assert.equal(errorOf(() => resolve(sha(5), { VolumesFrom: ['nosuch'] }, { containerMounts: lookup })).message, 'No such container: nosuch');
    assert.equal(errorOf(() => resolve(sha(5), { VolumesFrom: ['a:rshared'] }, { containerMounts: lookup })).message, 'invalid mode: rshared');

    removeContainerVolumes(store, a.mounts, sha(3), { removeVolumes: true });
    removeContainerVolumes(store, b.mounts, sha(4), { removeVolumes: true });
    store.remove('shared');
  });

  it('a bind of the daemon root gets rslave, or must ask for rslave/rshared', () => {
    const root = join(tmp.dir, 'root');
    const r = resolve(sha(6), { Binds: [`${root}/volumes:/v`, '/:/host:ro'] }, { daemonRoot: root });
    assert.deepEqual(r.mounts.map((m) => m.Propagation), ['rslave', 'rslave']);
    assert.match(errorOf(() => resolve(sha(6), { Binds: [`${root}:/v:private`] }, { daemonRoot: root })).message, /^invalid mount config: must use either propagation mode "rslave" or "rshared" when mount source is within the daemon root/);
    assert.deepEqual(resolve(sha(6), { Binds: [`${hostDir}:/v`] }, { daemonRoot: root }).mounts[0]!.Propagation, 'rprivate');
  });

  it('copies the image\'s directory into a new volume at start: content, owners, modes, times, links', () => {
    freshRootfs();
    const id = sha(7);
    const r = resolve(id, { Binds: ['copied:/data', 'nocopy1:/data/sub:nocopy'] });
    const oci = prepareMounts(store, r.mounts, { containerId: id, rootfs });
    assert.deepEqual(oci, [
      { destination: '/data', type: 'bind', source: store.path('copied'), options: ['rbind', 'rw'] },
      { destination: '/data/sub', type: 'bind', source: store.path('nocopy1'), options: ['rbind', 'rw'] },
    ]);
    const v = store.path('copied');
    assert.deepEqual(readdirSync(v).sort(), ['a', 'dev', 'fifo', 'hard', 'sub']);
    const root = statSync(v);
    assert.deepEqual([root.uid, root.gid, root.mode & 0o7777, root.mtime.getTime()], [1000, 1000, 0o750, T.getTime()], 'the volume root takes the directory\'s metadata');
    const a = statSync(join(v, 'a'));
    assert.deepEqual([a.uid, a.gid, a.mode & 0o7777, a.mtime.getTime()], [1000, 1001, 0o640, T.getTime()]);
    assert.equal(readFileSync(join(v, 'a'), 'utf8'), 'file a');
    assert.equal(statSync(join(v, 'hard')).ino, a.ino, 'hard links stay linked');
    assert.equal(a.nlink, 2);
    const sub = statSync(join(v, 'sub'));
    assert.deepEqual([sub.uid, sub.mode & 0o7777, sub.mtime.getTime()], [1002, 0o700, T.getTime()]);
    assert.equal(statSync(join(v, 'sub', 'b')).mode & 0o7777, 0o4755, 'set-user-ID survives the chown');
    assert.equal(readlinkSync(join(v, 'sub', 'ln')), '../a');
    assert.equal(lstatSync(join(v, 'sub', 'ln')).uid, 1000);
    assert.ok(lstatSync(join(v, 'fifo')).isFIFO());
    const dev = lstatSync(join(v, 'dev'));
    assert.ok(dev.isCharacterDevice());
    assert.deepEqual([dev.rdev, dev.gid, dev.mode & 0o7777], [lstatSync(join(rootfs, 'data', 'dev')).rdev, 5, 0o620]);
    assert.deepEqual(readdirSync(store.path('nocopy1')), [], 'nocopy: nothing copied');
    assert.deepEqual(store.mountedBy('copied'), [id]);

    // A volume that has data is never copied over (a second container on it).
    releaseMounts(store, r.mounts, id);
    writeFileSync(join(v, 'a'), 'changed by the container');
    const again = resolve(sha(8), { Binds: ['copied:/data'] });
    prepareMounts(store, again.mounts, { containerId: sha(8), rootfs });
    assert.equal(readFileSync(join(v, 'a'), 'utf8'), 'changed by the container');
    releaseMounts(store, again.mounts, sha(8));

    // copyUp: false (a restart) copies nothing even into an empty volume.
    const third = resolve(sha(9), { Binds: ['empty-on-restart:/data'] });
    prepareMounts(store, third.mounts, { containerId: sha(9), rootfs, copyUp: false });
    assert.deepEqual(readdirSync(store.path('empty-on-restart')), []);
    releaseMounts(store, third.mounts, sha(9));
    for (const [res, cid] of [[r, id], [again, sha(8)], [third, sha(9)]] as const) removeContainerVolumes(store, res.mounts, cid);
    for (const name of ['copied', 'nocopy1', 'empty-on-restart']) store.remove(name);
  });

  it('copies up into a tmpfs volume after mounting it, and the last container unmounts it', () => {
    freshRootfs();
    store.create({ Name: 'fastcopy', DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=5m' } });
    const r = resolve(sha(10), { Mounts: [{ Type: 'volume', Source: 'fastcopy', Target: '/data' }] });
    prepareMounts(store, r.mounts, { containerId: sha(10), rootfs });
    assert.deepEqual(mountsUnder(store.path('fastcopy')), [store.path('fastcopy')]);
    assert.equal(readFileSync(join(store.path('fastcopy'), 'sub', 'b'), 'utf8'), 'file b');
    assert.deepEqual(releaseMounts(store, r.mounts, sha(10)), []);
    assert.deepEqual(mountsUnder(store.path('fastcopy')), []);
    removeContainerVolumes(store, r.mounts, sha(10));
    store.remove('fastcopy');
  });

  it('resolves destinations inside the rootfs: symlinks to /etc, ../../.. and host paths never leave it', () => {
    freshRootfs();
    const before = readdirSync(outsideAbs);
    const id = sha(11);
    const r = resolve(id, {
      Binds: ['redirected:/link', 'climber:/up/deeper', `${hostDir}:/abs/x:ro`],
      Mounts: [{ Type: 'tmpfs', Target: '/link/tmp' }],
    });
    const oci = prepareMounts(store, r.mounts, { containerId: id, rootfs });
    assert.deepEqual(oci.map((m) => m.destination), ['/etc', `/${outsideName}/deeper`, `${outsideAbs}/x`, '/etc/tmp']);
    // The volume over /link → /etc got the image's /etc, not the host's.
    assert.deepEqual(readdirSync(store.path('redirected')), ['image-etc']);
    // Mount points were made inside the rootfs, and nothing outside it.
    assert.ok(statSync(join(rootfs, outsideName, 'deeper')).isDirectory());
    assert.ok(statSync(join(rootfs, outsideAbs, 'x')).isDirectory());
    assert.ok(statSync(join(rootfs, 'etc', 'tmp')).isDirectory());
    assert.equal(existsSync(`/${outsideName}`), false);
    assert.deepEqual(readdirSync(outsideAbs), before);
    assert.ok(lstatSync(join(rootfs, 'link')).isSymbolicLink(), 'the image\'s symlink itself is left alone');

    // Mounted for real the way the runtime will (each destination inside the rootfs): the
    // host sees no mount outside the rootfs.
    // (A child's mount point inside a parent volume is made at mount time, as the runtime does.)
    const mounted: string[] = [];
    try {
      for (const m of oci) {
        const target = join(rootfs, m.destination);
        mkdirSync(target, { recursive: true });
        mountAll([{ type: m.type, source: m.source, options: m.options }], target);
        mounted.push(target);
      }
      assert.deepEqual(mountsUnder(tmp.dir).filter((p) => !p.startsWith(rootfs) && !p.startsWith(store.dir)), []);
      assert.equal(readFileSync(join(rootfs, outsideAbs, 'x', 'hello'), 'utf8'), 'from the host');
    } finally {
      for (const target of mounted.reverse()) unmountAll(target);
    }

    // A destination that lands on / is refused, and what was mounted for it is let go.
    const toRoot = resolve(sha(12), { Binds: ['rootvol:/toroot'] });
    assert.match(errorOf(() => prepareMounts(store, toRoot.mounts, { containerId: sha(12), rootfs })).message, /resolves to \/ in the container/);
    assert.deepEqual(store.mountedBy('rootvol'), []);
    releaseMounts(store, r.mounts, id);
    removeContainerVolumes(store, r.mounts, id, { removeVolumes: true });
    removeContainerVolumes(store, toRoot.mounts, sha(12));
    for (const name of ['redirected', 'climber', 'rootvol']) store.remove(name);
  });

  it('creates a missing -v source at start; a vanished --mount source and file/dir clashes are errors that release the volumes', () => {
    freshRootfs();
    const made = join(tmp.dir, 'made', 'by', 'start');
    const r = resolve(sha(13), { Binds: [`${made}:/made`] });
    prepareMounts(store, r.mounts, { containerId: sha(13), rootfs });
    assert.equal(statSync(made).mode & 0o777, 0o755);

    const gone = join(tmp.dir, 'soon-gone');
    mkdirSync(gone);
    const g = resolve(sha(14), { Binds: ['held:/held'], Mounts: [{ Type: 'bind', Source: gone, Target: '/g/deeper' }] });
    execFileSync('rmdir', [gone]);
    assert.equal(errorOf(() => prepareMounts(store, g.mounts, { containerId: sha(14), rootfs })).message, `invalid mount config for type "bind": bind source path does not exist: ${gone}`);
    assert.deepEqual(store.mountedBy('held'), []);

    const clash = resolve(sha(15), { Binds: ['overfile:/file'] });
    assert.equal(errorOf(() => prepareMounts(store, clash.mounts, { containerId: sha(15), rootfs })).message, 'cannot mount volume over existing file, file exists /file');
    assert.deepEqual(store.mountedBy('overfile'), []);
    const fileOverDir = resolve(sha(16), { Binds: [`${join(hostDir, 'hello')}:/data`] });
    assert.match(errorOf(() => prepareMounts(store, fileOverDir.mounts, { containerId: sha(16), rootfs })).message, /cannot mount a file over the directory \/data/);
    // Below /dev (a tmpfs the runtime mounts) no mount point is left in the image's layer.
    const dev = resolve(sha(21), { Binds: [`${hostDir}:/dev/host-dir`] });
    assert.deepEqual(prepareMounts(store, dev.mounts, { containerId: sha(21), rootfs }).map((m) => m.destination), ['/dev/host-dir']);
    assert.equal(existsSync(join(rootfs, 'dev')), false);
    const fileBind = resolve(sha(17), { Binds: [`${join(hostDir, 'hello')}:/etc/greeting:ro`] });
    const [m] = prepareMounts(store, fileBind.mounts, { containerId: sha(17), rootfs });
    assert.ok(statSync(join(rootfs, 'etc', 'greeting')).isFile(), 'a file mount point for a file');
    assert.deepEqual(m!.options, ['rbind', 'ro', 'rprivate']);
    for (const [res, cid] of [[g, sha(14)], [clash, sha(15)]] as const) removeContainerVolumes(store, res.mounts, cid);
    for (const name of ['held', 'overfile']) store.remove(name);
  });

  it('a read-only bind is read-only when mounted for real (EROFS), and tmpfs mounts come out in OCI form', () => {
    freshRootfs();
    const src = join(tmp.dir, 'ro-src');
    mkdirSync(src);
    const r = resolve(sha(18), { Binds: [`${src}:/ro:ro`], Mounts: [{ Type: 'tmpfs', Target: '/scratch', TmpfsOptions: { SizeBytes: 2 << 20, Mode: 0o700 } }] });
    const oci = prepareMounts(store, r.mounts, { containerId: sha(18), rootfs });
    assert.deepEqual(oci, [
      { destination: '/ro', type: 'bind', source: src, options: ['rbind', 'ro', 'rprivate'] },
      { destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['noexec', 'nosuid', 'nodev', 'rprivate', 'mode=700', 'size=2m'] },
    ]);
    const target = join(rootfs, 'ro');
    mountAll([{ type: 'bind', source: src, options: oci[0]!.options }], target);
    try {
      assert.throws(() => writeFileSync(join(target, 'x'), 'no'), (err: NodeJS.ErrnoException) => err.code === 'EROFS');
      writeFileSync(join(src, 'y'), 'the host can');
      assert.equal(readFileSync(join(target, 'y'), 'utf8'), 'the host can');
    } finally {
      unmountAll(target);
    }
  });

  it('rm -v keeps an anonymous volume another container still uses, and events name the container', () => {
    const a = resolve(sha(19), { Binds: ['/anon-shared'] });
    const name = a.mounts[0]!.Name;
    const b = resolve(sha(20), { VolumesFrom: ['a'] }, { containerMounts: () => ({ id: sha(19), mounts: a.mounts }) });
    assert.deepEqual(removeContainerVolumes(store, a.mounts, sha(19), { removeVolumes: true }).removed, []);
    assert.equal(store.has(name), true);
    assert.deepEqual(removeContainerVolumes(store, b.mounts, sha(20), { removeVolumes: true }).removed, [name], 'the last one removes it, as Docker does');
    assert.equal(store.has(name), false);
    assert.ok(events.some((e) => e.action === 'destroy' && e.name === name));
  });

  it('leaves nothing mounted', () => {
    assert.deepEqual(mountsUnder(tmp.dir), []);
  });
});
