// Resolving mount destinations inside a root directory the way a chroot would: absolute and
// relative symlinks, ".." at the root, loops, files in the middle, and mount points created
// without ever following a symlink.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureMountpoint, resolveInRootfs } from '../../../src/volume/rootfs-path.js';

describe('destinations inside the rootfs', () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'berth-vol-rootfs-')));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const root = join(dir, 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'var', 'lib'), { recursive: true });
  writeFileSync(join(root, 'etc', 'passwd'), '');
  symlinkSync('/etc', join(root, 'abs'));
  symlinkSync('../../../../../../../..', join(root, 'var', 'lib', 'climb'));
  symlinkSync('lib/climb/etc', join(root, 'var', 'rel'));
  symlinkSync(join(dir, 'outside'), join(root, 'hostpath'));
  symlinkSync('loop2', join(root, 'loop1'));
  symlinkSync('loop1', join(root, 'loop2'));
  symlinkSync('/etc/passwd', join(root, 'pw'));

  const resolved = (p: string) => resolveInRootfs(root, p).containerPath;

  it('follows symlinks with the rootfs as /', () => {
    assert.equal(resolved('/abs'), '/etc');
    assert.equal(resolved('/abs/sub/../x'), '/etc/x');
    assert.equal(resolved('/var/lib/climb'), '/');
    assert.equal(resolved('/var/lib/climb/host'), '/host');
    assert.equal(resolved('/var/rel'), '/etc');
    assert.equal(resolved('/../../..//etc/./x/'), '/etc/x');
    assert.equal(resolved('/hostpath/y'), `${dir}/outside/y`);
    assert.equal(resolveInRootfs(root, '/abs').hostPath, join(root, 'etc'));
    assert.equal(resolved('/pw'), '/etc/passwd', 'the last component is followed too');
    assert.equal(resolved('/missing/a/../b'), '/missing/b');
  });

  it('refuses loops, files in the middle and relative paths', () => {
    assert.throws(() => resolveInRootfs(root, '/loop1/x'), /too many levels of symbolic links/);
    assert.throws(() => resolveInRootfs(root, '/etc/passwd/x'), /\/etc\/passwd is not a directory/);
    assert.throws(() => resolveInRootfs(root, '/pw/x'), /not a directory/);
    assert.throws(() => resolveInRootfs(root, 'etc'), /must be absolute/);
  });

  it('creates mount points inside, directories or a file, never through a symlink', () => {
    assert.equal(ensureMountpoint(root, resolved('/hostpath/y/z'), 'dir'), false);
    assert.ok(statSync(join(root, dir, 'outside', 'y', 'z')).isDirectory());
    assert.equal(existsSync(join(dir, 'outside')), false);
    assert.equal(ensureMountpoint(root, resolved('/var/lib/climb/newfile'), 'file'), false);
    assert.ok(statSync(join(root, 'newfile')).isFile());
    assert.equal(ensureMountpoint(root, '/etc', 'dir'), true);
    assert.throws(() => ensureMountpoint(root, '/etc/passwd', 'dir'), /cannot mount volume over existing file, file exists \/etc\/passwd/);
    assert.throws(() => ensureMountpoint(root, '/etc', 'file'), /cannot mount a file over the directory \/etc/);
    assert.throws(() => ensureMountpoint(root, '/abs/x', 'dir'), /became a symbolic link/, 'an unresolved path with a symlink is refused');
    assert.equal(existsSync(join(root, 'etc', 'x')), false);
  });
});
