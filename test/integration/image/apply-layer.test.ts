// Layers applied to real snapshots: GNU tar's own archives (owners, modes, set-id bits, mtimes,
// symlinks, hardlinks, fifos, devices, gzip), xattrs (a symlink's own too), whiteouts and opaque
// directories (unusual names included) on overlayfs and on the naive snapshotter, diffs that carry
// them back, and hostile archives that must write nothing outside (asserted on disk).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants as fsc, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync, chownSync, chmodSync, linkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createHash, randomBytes } from 'node:crypto';
import { cleanupDir } from '../../helpers/runtime.js';
import { mountAll, unmountAll } from '../../../src/sys/mount.js';
import { getXattr, mknodSyscall, setXattr } from '../../../src/sys/libc.js';
import { applyLayer, type WhiteoutMode } from '../../../src/image/apply-layer.js';
import { readTar } from '../../../src/image/tar-reader.js';
import { tarEntry, TAR_END } from '../../../src/image/tar-writer.js';
import { naiveChanges, overlayChanges, writeLayer } from '../../../src/image/diff-layer.js';
import { NaiveSnapshotter } from '../../../src/supervisor/snapshots/naive.js';
import { OverlaySnapshotter } from '../../../src/supervisor/snapshots/overlay.js';
import type { Snapshotter } from '../../../src/supervisor/snapshots/types.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-layer-'));
const target = join(dir, 'mnt');
const target2 = join(dir, 'mnt2');
mkdirSync(target);
mkdirSync(target2);
const T = new Date('2021-02-03T04:05:06Z');

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of source) parts.push(b);
  return Buffer.concat(parts);
}

async function* chunks(buf: Buffer, size = 1000): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

/** A layer as GNU tar writes it, from a tree made here. */
function gnuTarLayer(): Buffer {
  const src = join(dir, `src-${Date.now()}`);
  mkdirSync(join(src, 'etc', 'sub'), { recursive: true });
  writeFileSync(join(src, 'etc', 'hello'), 'hello world\n');
  writeFileSync(join(src, 'etc', 'sub', 'gone-later'), 'x');
  writeFileSync(join(src, 'etc', 'sub', 'hidden-by-opaque'), 'y');
  writeFileSync(join(src, 'suid'), '#!/bin/sh\n');
  chownSync(join(src, 'suid'), 1000, 1001);
  chmodSync(join(src, 'suid'), 0o4755);
  linkSync(join(src, 'etc', 'hello'), join(src, 'hardlink'));
  symlinkSync('etc/hello', join(src, 'symlink'));
  execFileSync('mkfifo', [join(src, 'fifo')]);
  execFileSync('mknod', [join(src, 'null'), 'c', '1', '3']);
  utimesSync(join(src, 'etc', 'hello'), T, T);
  utimesSync(join(src, 'etc'), T, T);
  const tar = execFileSync('tar', ['-C', src, '--xattrs', '-cf', '-', '.'], { maxBuffer: 1 << 26 });
  cleanupDir(src);
  return tar;
}

/** A v2 file capability (VFS_CAP_REVISION_2, effective): CAP_NET_RAW permitted. */
const CAP_NET_RAW = Buffer.from([1, 0, 0, 2, 0x00, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
/** Unusual names: getfattr -R, which diffs once parsed, prints a newline as "\012". */
const ODD = 'odd é dir';
const OPAQUE = 'opaque\ndir';

/**
 * A second layer: deletes a file and makes a directory opaque, and adds a file inside it; adds
 * files with xattrs, a symlink with its own, devices with big numbers, and oddly named directories.
 */
function whiteoutLayer(): Buffer {
  return Buffer.concat([
    tarEntry({ name: 'etc/', type: 'dir', mode: 0o755 }),
    tarEntry({ name: 'etc/sub/', type: 'dir', mode: 0o755 }),
    tarEntry({ name: 'etc/sub/.wh..wh..opq', type: 'file' }),
    tarEntry({ name: 'etc/sub/new', type: 'file' }, Buffer.from('new in layer 2')),
    tarEntry({ name: 'etc/.wh.hello', type: 'file' }),
    tarEntry({ name: 'caps', type: 'file', mode: 0o755, xattrs: { 'security.capability': CAP_NET_RAW, 'user.note': Buffer.from([0, 1, 0xff]) } }, Buffer.from('#!/bin/sh\n')),
    tarEntry({ name: 'marked-link', type: 'symlink', linkname: 'caps', xattrs: { 'trusted.mark': Buffer.from('on the link') } }),
    tarEntry({ name: 'dev/', type: 'dir', mode: 0o755 }),
    tarEntry({ name: 'dev/loop7', type: 'block', mode: 0o660, gid: 6, devmajor: 7, devminor: 7 }),
    tarEntry({ name: 'dev/big', type: 'char', mode: 0o600, devmajor: 511, devminor: 70000 }),
    tarEntry({ name: `${ODD}/keep`, type: 'file' }, Buffer.from('keep')),
    tarEntry({ name: `${ODD}/gone later`, type: 'file' }, Buffer.from('gone')),
    tarEntry({ name: `${OPAQUE}/old`, type: 'file' }, Buffer.from('old')),
    TAR_END,
  ]);
}

function withView(sn: Snapshotter, key: string, parent: string, fn: () => void): void {
  mountAll(sn.view(key, parent), target);
  try {
    fn();
  } finally {
    unmountAll(target);
    sn.remove(key);
  }
}

/** Applies `layer` as a new committed snapshot on `parent`; returns its name. */
async function commitLayer(sn: Snapshotter, name: string, parent: string | undefined, layer: Buffer, mode: WhiteoutMode): Promise<void> {
  const key = `${name}-extract`;
  const mounts = sn.prepare(key, parent);
  // The layer goes into the snapshot's own directory (overlay's upper; the naive copy).
  const opt = mounts[0]!.options.find((o) => o.startsWith('upperdir='));
  const root = opt ? opt.slice('upperdir='.length) : mounts[0]!.source;
  await applyLayer(root, chunks(layer), mode);
  sn.commit(name, key);
}

after(() => {
  for (const t of [target, target2]) if (existsSync(t) && readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${t} `)) unmountAll(t);
  cleanupDir(dir);
});

/** Every entry of a tree with what a layer must carry: type, mode, owner, size, content, link, time. */
function treeOf(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, path));
      const what = st.isSymbolicLink() ? `-> ${readlinkSync(join(root, path))}` : st.isFile() ? `${st.size} ${createHash('sha256').update(readFileSync(join(root, path))).digest('hex').slice(0, 12)} t${Math.floor(st.mtimeMs / 1000)}` : `rdev ${st.rdev}`;
      const cap = getXattr(join(root, path), 'security.capability', path);
      out.push(`${path} ${(st.mode & 0o170000).toString(8)} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${st.isDirectory() ? 'dir' : what}${cap ? ` cap ${cap.toString('hex')}` : ''}`);
      if (st.isDirectory()) walk(path);
    }
  };
  walk('');
  return out;
}

for (const [name, make, mode] of [['overlayfs', (r: string) => new OverlaySnapshotter(r), 'overlay'], ['naive', (r: string) => new NaiveSnapshotter(r), 'remove']] as const) {
  describe(`layers on the ${name} snapshotter`, () => {
    const sn = make(join(dir, name));

    it('applies GNU tar\'s layer (gzip) with owners, modes, set-id bits, times, links and devices', async () => {
      await commitLayer(sn, 'l1', undefined, gzipSync(gnuTarLayer()), mode);
      withView(sn, 'v1', 'l1', () => {
        assert.equal(readFileSync(join(target, 'etc', 'hello'), 'utf8'), 'hello world\n');
        const suid = statSync(join(target, 'suid'));
        assert.deepEqual([suid.uid, suid.gid, suid.mode & 0o7777], [1000, 1001, 0o4755]);
        assert.equal(statSync(join(target, 'hardlink')).ino, statSync(join(target, 'etc', 'hello')).ino);
        assert.equal(readlinkSync(join(target, 'symlink')), 'etc/hello');
        assert.ok(lstatSync(join(target, 'fifo')).isFIFO());
        const dev = lstatSync(join(target, 'null'));
        assert.ok(dev.isCharacterDevice());
        assert.equal(dev.rdev, (1 << 8) | 3);
        assert.equal(statSync(join(target, 'etc', 'hello')).mtime.getTime(), T.getTime());
        assert.equal(statSync(join(target, 'etc')).mtime.getTime(), T.getTime(), 'a directory keeps its time after its children');
      });
    });

    it('turns whiteouts and opaque directories into deletions the next layer sees', async () => {
      await commitLayer(sn, 'l2', 'l1', whiteoutLayer(), mode);
      withView(sn, 'v2', 'l2', () => {
        assert.equal(existsSync(join(target, 'etc', 'hello')), false, '.wh.hello deleted it');
        assert.deepEqual(readdirSync(join(target, 'etc', 'sub')), ['new'], 'the opaque directory shows only this layer');
        assert.equal(readFileSync(join(target, 'hardlink'), 'utf8'), 'hello world\n', 'the other link to it stays');
        assert.deepEqual(getXattr(join(target, 'caps'), 'security.capability', 'caps'), CAP_NET_RAW, 'set after the chown that would clear it');
        assert.deepEqual(getXattr(join(target, 'caps'), 'user.note', 'caps'), Buffer.from([0, 1, 0xff]));
        assert.equal(getXattr(join(target, 'marked-link'), 'trusted.mark', 'link')?.toString(), 'on the link');
        assert.equal(getXattr(join(target, 'caps'), 'trusted.mark', 'caps'), undefined, 'the link\'s xattr is its own');
        const loop = lstatSync(join(target, 'dev', 'loop7'));
        assert.ok(loop.isBlockDevice());
        assert.deepEqual([loop.rdev, loop.mode & 0o7777, loop.gid], [(7 << 8) | 7, 0o660, 6]);
        const big = lstatSync(join(target, 'dev', 'big'), { bigint: true });
        assert.ok(big.isCharacterDevice());
        assert.equal(big.rdev, (511n << 8n) | ((70000n & ~0xffn) << 12n) | (70000n & 0xffn));
      });
    });

    it('diffs a changed snapshot into a layer that rebuilds the same tree', async () => {
      const mounts = sn.prepare('work', 'l2');
      mountAll(mounts, target);
          try {
        writeFileSync(join(target, 'suid'), 'changed content');
        cleanupDir(join(target, 'fifo'));
        mkdirSync(join(target, 'newdir', 'deep'), { recursive: true });
        writeFileSync(join(target, 'newdir', 'deep', 'file'), 'deep new');
        cleanupDir(join(target, 'etc', 'sub'));
        mkdirSync(join(target, 'etc', 'sub'));
        writeFileSync(join(target, 'etc', 'sub', 'fresh'), 'only this');
        writeFileSync(join(target, 'h1'), 'linked');
        linkSync(join(target, 'h1'), join(target, 'h2'));
        chownSync(join(target, 'hardlink'), 7, 8);
        symlinkSync('/newdir', join(target, 'abs-link'));
        writeFileSync(join(target, 'newdir', 'ping'), 'setcap\'d');
        setXattr(join(target, 'newdir', 'ping'), 'security.capability', CAP_NET_RAW, 'ping');
        mknodSyscall(join(target, 'newdir', 'sda9'), fsc.S_IFBLK | 0o640, 8, 9, 'sda9');
        cleanupDir(join(target, ODD, 'gone later'));
        cleanupDir(join(target, OPAQUE));
        mkdirSync(join(target, OPAQUE));
        writeFileSync(join(target, OPAQUE, 'new'), 'only this');
      } finally {
        unmountAll(target);
          }
      let layer: Buffer;
      if (mode === 'overlay') {
        const upper = mounts[0]!.options.find((o) => o.startsWith('upperdir='))!.slice('upperdir='.length);
        layer = await collect(writeLayer(upper, overlayChanges(upper)));
      } else {
        // containerd's way for plain directories: the parent's view beside the changed copy.
        mountAll(sn.view('lower', 'l2'), target2);
        try {
          layer = await collect(writeLayer(mounts[0]!.source, naiveChanges(target2, mounts[0]!.source)));
        } finally {
          unmountAll(target2);
          sn.remove('lower');
        }
      }
      const entries = new Map<string, { type: string; rdev: number; xattrs: Record<string, Buffer> }>();
      for await (const { header } of readTar(chunks(layer))) entries.set(header.name, { type: header.type, rdev: header.devmajor * 256 + header.devminor, xattrs: header.xattrs });
      assert.ok(entries.has(`${ODD}/.wh.gone later`), 'a whiteout in an oddly named directory');
      if (mode === 'overlay') assert.ok(entries.has(`${OPAQUE}/.wh..wh..opq`), 'an oddly named directory made opaque');
      assert.deepEqual(entries.get('newdir/ping')?.xattrs, { 'security.capability': CAP_NET_RAW }, 'file capabilities are carried');
      assert.deepEqual(entries.get('newdir/sda9'), { type: 'block', rdev: 8 * 256 + 9, xattrs: {} });
      for (const [name, e] of entries) assert.ok(Object.keys(e.xattrs).every((k) => k === 'security.capability'), `${name}: only capabilities, never overlay's marks`);
      sn.commit('l3', 'work');
      await commitLayer(sn, 'l3-replayed', 'l2', layer, mode);
      let original: string[] = [];
      withView(sn, 'v-orig', 'l3', () => (original = treeOf(target)));
      withView(sn, 'v-replayed', 'l3-replayed', () => {
        assert.deepEqual(treeOf(target), original);
        assert.equal(statSync(join(target, 'h1')).ino, statSync(join(target, 'h2')).ino, 'hardlinks stay links');
      });
      assert.ok(original.some((l) => l.startsWith('etc/sub/fresh ')) && !original.some((l) => l.startsWith('etc/sub/new ')));
      assert.ok(original.some((l) => l.startsWith(`${OPAQUE}/new `)) && !original.some((l) => l.startsWith(`${OPAQUE}/old `)));
      assert.ok(original.some((l) => l.startsWith(`${ODD}/keep `)) && !original.some((l) => l.startsWith(`${ODD}/gone later `)));
      assert.ok(original.some((l) => l.startsWith('newdir/ping ') && l.endsWith(` cap ${CAP_NET_RAW.toString('hex')}`)));
    });
  });
}

describe('hostile layers', () => {
  const outside = join(dir, 'outside');
  /** Applies the entries (and the end blocks, unless `whole` says the bytes are a whole archive). */
  const run = async (entries: Buffer[], whole = false) => {
    const root = mkdtempSync(join(dir, 'root-'));
    const err = await applyLayer(root, chunks(Buffer.concat(whole ? entries : [...entries, TAR_END])), 'remove').then(() => undefined, (e: Error) => e);
    return { root, err };
  };

  it('keeps ../ paths, absolute paths and symlinked parents inside the root', async () => {
    mkdirSync(outside);
    const { root, err } = await run([
      tarEntry({ name: 'abs', type: 'symlink', linkname: outside }),
      tarEntry({ name: 'abs/through-absolute-link', type: 'file' }, Buffer.from('pwned')),
      tarEntry({ name: 'rel', type: 'symlink', linkname: '../../../../../../..' + outside }),
      tarEntry({ name: 'rel/through-relative-link', type: 'file' }, Buffer.from('pwned')),
      tarEntry({ name: outside + '/absolute-name', type: 'file' }, Buffer.from('pwned')),
    ]);
    assert.equal(err, undefined);
    assert.deepEqual(readdirSync(outside), [], 'nothing written outside the root');
    // Each lands where a chroot would have put it.
    assert.equal(readFileSync(join(root, outside, 'through-absolute-link'), 'utf8'), 'pwned');
    assert.equal(readFileSync(join(root, outside, 'through-relative-link'), 'utf8'), 'pwned');
    assert.equal(readFileSync(join(root, outside, 'absolute-name'), 'utf8'), 'pwned');
  });

  it('refuses an entry that climbs out with ../ and a hardlink to a host file', async () => {
    const climb = await run([tarEntry({ name: '../../escape', type: 'file' }, Buffer.from('x'))]);
    assert.match(climb.err?.message ?? '', /points outside the layer/);
    const hard = await run([tarEntry({ name: 'passwd', type: 'link', linkname: '/etc/passwd' })]);
    assert.match(hard.err?.message ?? '', /not in the layer stack/);
    assert.equal(existsSync(join(dir, 'escape')), false);
    assert.deepEqual(readdirSync(outside), []);
  });

  it('does not write through a symlink planted at the entry\'s own name', async () => {
    writeFileSync(join(outside, 'victim'), 'original');
    const { root, err } = await run([
      tarEntry({ name: 'f', type: 'symlink', linkname: join(outside, 'victim') }),
      tarEntry({ name: 'f', type: 'file' }, Buffer.from('overwritten?')),
    ]);
    assert.equal(err, undefined);
    assert.equal(readFileSync(join(outside, 'victim'), 'utf8'), 'original');
    assert.equal(readFileSync(join(root, 'f'), 'utf8'), 'overwritten?');
  });

  it('resolves a directory again once an entry replaced or removed it: no file goes through a link planted there', async () => {
    const { root, err } = await run([
      // A directory of the layer, then a symlink out in its place.
      tarEntry({ name: 'd/', type: 'dir' }),
      tarEntry({ name: 'd/first', type: 'file' }, Buffer.from('in d')),
      tarEntry({ name: 'd', type: 'symlink', linkname: outside }),
      tarEntry({ name: 'd/through-replaced-dir', type: 'file' }, Buffer.from('pwned')),
      // A directory made for its first file (no entry of its own), then the same.
      tarEntry({ name: 'implicit/first', type: 'file' }, Buffer.from('in implicit')),
      tarEntry({ name: 'implicit', type: 'symlink', linkname: outside }),
      tarEntry({ name: 'implicit/through-implicit-dir', type: 'file' }, Buffer.from('pwned')),
      // A directory removed by a whiteout, then a symlink out of that name.
      tarEntry({ name: 'w/first', type: 'file' }, Buffer.from('in w')),
      tarEntry({ name: '.wh.w', type: 'file' }),
      tarEntry({ name: 'w', type: 'symlink', linkname: outside }),
      tarEntry({ name: 'w/through-whiteout', type: 'file' }, Buffer.from('pwned')),
      // A directory replaced by a file, then by a symlink out.
      tarEntry({ name: 'f/first', type: 'file' }, Buffer.from('in f')),
      tarEntry({ name: 'f', type: 'file' }, Buffer.from('now a file')),
      tarEntry({ name: 'f', type: 'symlink', linkname: outside }),
      tarEntry({ name: 'f/through-file', type: 'file' }, Buffer.from('pwned')),
    ]);
    assert.equal(err, undefined);
    assert.deepEqual(readdirSync(outside).filter((n) => n.startsWith('through-')), [], 'nothing written outside the root');
    // Each lands where a chroot would have put it: through the link, inside the root.
    for (const name of ['through-replaced-dir', 'through-implicit-dir', 'through-whiteout', 'through-file']) assert.equal(readFileSync(join(root, outside, name), 'utf8'), 'pwned', name);
  });

  it('reads zstd layers, and says what is wrong with a corrupt one', async () => {
    const tar = Buffer.concat([tarEntry({ name: 'z', type: 'file' }, Buffer.from('from zstd')), TAR_END]);
    const zst = execFileSync('zstd', ['-q', '-c'], { input: tar });
    const ok = await run([zst], true);
    assert.equal(ok.err, undefined);
    assert.equal(readFileSync(join(ok.root, 'z'), 'utf8'), 'from zstd');
    const broken = await run([zst.subarray(0, zst.length - 6)], true);
    assert.match(broken.err?.message ?? '', /zstd layer/);
  });

  it('unpacks a gzip layer byte for byte however its bytes come, small files and big ones', async () => {
    // Big enough to go through the gathered zlib input several times, and big files written off
    // the event loop's thread; many small ones written with plain calls.
    const files = [
      ...Array.from({ length: 300 }, (_, i) => [`small/${i % 7}/f${i}`, randomBytes(i * 37)] as const),
      ['big/a', randomBytes(5 << 20)] as const,
      ['big/b', randomBytes((3 << 20) + 12345)] as const,
      ['big/empty', Buffer.alloc(0)] as const,
    ];
    const tar = Buffer.concat([...files.map(([name, data]) => tarEntry({ name, type: 'file', mode: 0o640, mtime: new Date(1_600_000_000_000) }, data)), TAR_END]);
    const gz = gzipSync(tar, { level: 1 });
    const sources: Array<[string, () => AsyncIterable<Buffer>]> = [
      // A first read shorter than gzip's magic, then small odd reads.
      ['bytes one by one, then 777 at a time', async function* () {
        for (let i = 0; i < 4096; i++) yield gz.subarray(i, i + 1);
        yield* chunks(gz.subarray(4096), 777);
      }],
      ...[4093, 65536, 3 << 20].map((size): [string, () => AsyncIterable<Buffer>] => [`chunks of ${size}`, () => chunks(gz, size)]),
    ];
    for (const [how, source] of sources) {
      const root = mkdtempSync(join(dir, 'gz-'));
      const r = await applyLayer(root, source(), 'overlay', { diffId: `sha256:${createHash('sha256').update(tar).digest('hex')}` });
      assert.equal(r.tarSize, tar.length, how);
      for (const [name, data] of files) {
        assert.ok(readFileSync(join(root, name)).equals(data), `${name} (${how})`);
        const st = statSync(join(root, name));
        assert.equal(st.mode & 0o777, 0o640);
        assert.equal(st.mtimeMs, 1_600_000_000_000);
      }
    }
  });

  it('reports truncated and corrupt archives clearly', async () => {
    const file = tarEntry({ name: 'big', type: 'file' }, Buffer.alloc(5000, 1));
    const cut = await run([file.subarray(0, 2000)]);
    assert.match(cut.err?.message ?? '', /truncated/);
    const bad = Buffer.from(file);
    bad[0] = 0x41;
    const corrupt = await run([bad]);
    assert.match(corrupt.err?.message ?? '', /checksum mismatch/);
  });
});
