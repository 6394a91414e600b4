// Device nodes and extended attributes made with the syscalls (src/sys/libc.ts): mknod(2) with
// glibc's device numbering, lsetxattr(2)/lgetxattr(2) on the path itself (never through a final symlink), values
// of any size, and the kernel's reason on failure with the errno kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants as fsc, lstatSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withScratchDir } from './scratch.js';
import { errnoOf, getXattr, mknodSyscall, setXattr } from '../../../src/sys/libc.js';

const EEXIST = 17;
const EPERM = 1;

test('mknod makes character and block devices with their numbers, FIFOs, and overlay\'s 0:0 whiteout', withScratchDir('berth-test-nodes-', (dir) => {
  mknodSyscall(join(dir, 'null'), fsc.S_IFCHR | 0o600, 1, 3, 'null');
  mknodSyscall(join(dir, 'wh'), fsc.S_IFCHR, 0, 0, 'whiteout');
  // Numbers past 8 bits of minor and 12 of major take makedev's split encoding.
  mknodSyscall(join(dir, 'blk'), fsc.S_IFBLK | 0o600, 4095, 1048575, 'block');
  mknodSyscall(join(dir, 'fifo'), fsc.S_IFIFO | 0o600, 0, 0, 'fifo');
  const nul = lstatSync(join(dir, 'null'));
  assert.ok(nul.isCharacterDevice());
  assert.equal(nul.rdev, (1 << 8) | 3);
  assert.equal(nul.mode & 0o7777, 0o600);
  const wh = lstatSync(join(dir, 'wh'));
  assert.ok(wh.isCharacterDevice());
  assert.equal(wh.rdev, 0);
  assert.equal(wh.mode & 0o7777, 0);
  const blk = lstatSync(join(dir, 'blk'), { bigint: true });
  assert.ok(blk.isBlockDevice());
  assert.equal(blk.rdev, (0xfffn << 8n) | (0xfff00n << 12n) | 0xffn);
  assert.ok(lstatSync(join(dir, 'fifo')).isFIFO());
}));

test('a failed mknod says what, which call and why, and keeps the errno', withScratchDir('berth-test-nodes-', (dir) => {
  writeFileSync(join(dir, 'taken'), '');
  assert.throws(() => mknodSyscall(join(dir, 'taken'), fsc.S_IFCHR, 0, 0, 'whiteout a/taken'), (err: Error) => {
    assert.equal(err.message, 'whiteout a/taken: mknod: File exists');
    assert.equal(errnoOf(err), EEXIST);
    return true;
  });
}));

test('xattrs are set and read on the path itself, a symlink\'s own included', withScratchDir('berth-test-xattrs-', (dir) => {
  const file = join(dir, 'file');
  const link = join(dir, 'link');
  writeFileSync(file, '');
  symlinkSync('file', link);
  setXattr(file, 'trusted.overlay.opaque', Buffer.from('y'), 'opaque');
  setXattr(file, 'user.empty', Buffer.alloc(0), 'empty');
  const big = Buffer.alloc(4000, 0xab); // bigger than the first read's buffer
  setXattr(file, 'user.big', big, 'big');
  setXattr(link, 'trusted.on-link', Buffer.from([0, 1, 2, 255]), 'link');
  assert.equal(getXattr(file, 'trusted.overlay.opaque', 'get')?.toString(), 'y');
  assert.deepEqual(getXattr(file, 'user.empty', 'get'), Buffer.alloc(0));
  assert.ok(getXattr(file, 'user.big', 'get')?.equals(big));
  assert.equal(getXattr(file, 'user.absent', 'get'), undefined);
  assert.deepEqual(getXattr(link, 'trusted.on-link', 'get'), Buffer.from([0, 1, 2, 255]));
  assert.equal(getXattr(file, 'trusted.on-link', 'get'), undefined, 'not set through the link');
}));

test('a failed xattr call says what, which call, which name and why', withScratchDir('berth-test-xattrs-', (dir) => {
  const link = join(dir, 'link');
  symlinkSync('nowhere', link);
  // The kernel allows user.* only on regular files and directories.
  assert.throws(() => setXattr(link, 'user.x', Buffer.from('1'), 'xattr user.x on link'), (err: Error) => {
    assert.equal(err.message, 'xattr user.x on link: lsetxattr user.x: Operation not permitted');
    assert.equal(errnoOf(err), EPERM);
    return true;
  });
  assert.throws(() => getXattr(join(dir, 'missing'), 'user.x', 'read missing'), /read missing: lgetxattr user\.x: No such file or directory/);
}));
