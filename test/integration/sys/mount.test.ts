// Host mounts made with the syscalls (src/sys/mount.ts): options read as mount(8) reads them,
// recursive and lazy unmounts, propagation, and the kernel's reason on failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withScratchDir } from './scratch.js';
import { isMountPoint, mountAll, mountPoints, unmountAll } from '../../../src/sys/mount.js';

/** The mountinfo line of the topmost mount at `path`: its options and optional fields. */
function mountInfo(path: string): { options: string; optional: string; fsType: string; superOptions: string } {
  const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4] === path).at(-1);
  assert.ok(line, `${path} is mounted`);
  const [pre, post] = line.split(' - ');
  const f = pre!.split(' ');
  const [fsType, , superOptions] = post!.split(' ');
  return { options: f[5]!, optional: f.slice(6).join(' '), fsType: fsType!, superOptions: superOptions! };
}


test('a tmpfs gets its flags and its data (mode, size)', withScratchDir('berth-test-mount-', (dir) => {
  const t = join(dir, 't');
  mkdirSync(t);
  mountAll([{ type: 'tmpfs', source: 'shm', options: ['nosuid', 'nodev', 'noexec', 'mode=755', 'size=65536'] }], t);
  const m = mountInfo(t);
  assert.equal(m.fsType, 'tmpfs');
  for (const o of ['nosuid', 'nodev', 'noexec']) assert.ok(m.options.split(',').includes(o), `${o} in ${m.options}`);
  assert.match(m.superOptions, /size=64k/);
  assert.match(m.superOptions, /mode=755/);
  unmountAll(t);
  assert.equal(isMountPoint(t), false);
}));

test('"bind,ro" is a bind and a read-only remount; private propagation applies', withScratchDir('berth-test-mount-', (dir) => {
  const src = join(dir, 'src');
  const dst = join(dir, 'dst');
  mkdirSync(src);
  mkdirSync(dst);
  writeFileSync(join(src, 'f'), 'hello');
  mountAll([{ type: 'bind', source: src, options: ['rbind', 'ro', 'rprivate'] }], dst);
  assert.equal(readFileSync(join(dst, 'f'), 'utf8'), 'hello');
  assert.ok(mountInfo(dst).options.split(',').includes('ro'));
  assert.doesNotMatch(mountInfo(dst).optional, /shared:|master:/);
  assert.throws(() => writeFileSync(join(dst, 'g'), 'x'), /EROFS/);
}));

test('unmountAll takes the mounts below and stacked ones, deepest first', withScratchDir('berth-test-mount-', (dir) => {
  const top = join(dir, 'top');
  mkdirSync(top);
  mountAll([{ type: 'tmpfs', source: 'a', options: [] }], top);
  mkdirSync(join(top, 'sub'));
  mountAll([{ type: 'tmpfs', source: 'b', options: [] }], join(top, 'sub'));
  mountAll([{ type: 'tmpfs', source: 'c', options: [] }], top); // stacked on top
  const before = mountPoints().filter((p) => p.startsWith(top)).length;
  assert.equal(before, 3);
  unmountAll(top);
  assert.deepEqual(mountPoints().filter((p) => p.startsWith(top)), []);
  // A sibling whose name starts with the same letters is not "below".
  const sibling = `${top}2`;
  mkdirSync(sibling);
  mountAll([{ type: 'tmpfs', source: 'd', options: [] }], sibling);
  unmountAll(top);
  assert.equal(isMountPoint(sibling), true);
}));

test('isMountPoint (statx) agrees with the mount table: directories, a file bind mount, a plain dir', withScratchDir('berth-test-mount-', (dir) => {
  const d = join(dir, 'd');
  const f = join(dir, 'f');
  const plain = join(dir, 'plain');
  mkdirSync(d);
  mkdirSync(plain);
  writeFileSync(f, '');
  mountAll([{ type: 'tmpfs', source: 'x', options: [] }], d);
  mountAll([{ type: 'bind', source: '/proc/self/ns/net', options: ['bind'] }], f);
  for (const p of [d, f, plain, dir]) assert.equal(isMountPoint(p), mountPoints().includes(p), p);
  assert.equal(isMountPoint(d), true);
  assert.equal(isMountPoint(f), true);
  assert.equal(isMountPoint(plain), false);
  assert.equal(isMountPoint(join(dir, 'missing')), false);
  unmountAll(f, { lazy: true });
  assert.equal(isMountPoint(f), false);
}));

test('a failed mount says what was tried and the kernel\'s reason', withScratchDir('berth-test-mount-', (dir) => {
  assert.throws(() => mountAll([{ type: 'bind', source: join(dir, 'missing'), options: ['bind'] }], dir), (err: Error) => /mount bind .*missing on .*: No such file or directory/.test(err.message));
  assert.throws(() => mountAll([{ type: 'no-such-fs', source: 'x', options: [] }], dir), /No such device/);
  assert.throws(() => mountAll([{ type: 'tmpfs', source: 'x', options: ['rro'] }], dir), /"rro" is not supported/);
}));
