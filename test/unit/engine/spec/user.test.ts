// Config.User and GroupAdd against a container's /etc/passwd and /etc/group, read without ever
// leaving the rootfs (symlinks planted by an image to host files read nothing of the host's).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { additionalGroups, parseGroup, parsePasswd, readUserDatabase, resolveUser, type UserDatabase } from '../../../../src/image/user-database.js';
import { ensureWorkingDir, readRootfsFile } from '../../../../src/image/rootfs-files.js';

const PASSWD = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# a comment
alice:x:1000:1000:Alice:/home/alice:/bin/sh
bob:x:1001:1001::/home/bob:/bin/sh

nobody:x:65534:65534:nobody:/nonexistent:/bin/false
`;
const GROUP = `root:x:0:
wheel:x:10:root,alice
staff:x:50:alice,bob
alice:x:1000:
bob:x:1001:
nogroup:x:65534:
`;

const db: UserDatabase = { passwd: parsePasswd(PASSWD), group: parseGroup(GROUP) };
const user = (spec: string, groupAdd?: string[]) => resolveUser(spec, groupAdd, db);

describe('user resolution', () => {
  it('parses passwd and group files, skipping blank and comment lines', () => {
    assert.equal(db.passwd!.length, 5);
    assert.deepEqual(db.passwd![2], { name: 'alice', uid: 1000, gid: 1000, home: '/home/alice' });
    assert.deepEqual(db.group![1], { name: 'wheel', gid: 10, members: ['root', 'alice'] });
  });

  it('defaults to root with root\'s supplementary groups', () => {
    assert.deepEqual(user(''), { uid: 0, gid: 0, additionalGids: [0, 10] });
  });

  it('takes a name, with its primary and supplementary groups', () => {
    assert.deepEqual(user('alice'), { uid: 1000, gid: 1000, additionalGids: [1000, 10, 50] });
  });

  it('takes a uid that is in passwd like its name', () => {
    assert.deepEqual(user('1001'), { uid: 1001, gid: 1001, additionalGids: [1001, 50] });
  });

  it('takes a uid that is not in passwd, with gid 0', () => {
    assert.deepEqual(user('4242'), { uid: 4242, gid: 0, additionalGids: [0] });
  });

  it('name:group and uid:gid replace the primary group and drop the supplementary ones', () => {
    assert.deepEqual(user('alice:staff'), { uid: 1000, gid: 50, additionalGids: [50] });
    assert.deepEqual(user('alice:7'), { uid: 1000, gid: 7, additionalGids: [7] });
    assert.deepEqual(user('5000:5001'), { uid: 5000, gid: 5001, additionalGids: [5001] });
    assert.deepEqual(user('nobody:nogroup'), { uid: 65534, gid: 65534, additionalGids: [65534] });
  });

  it('refuses a name that is not there, with Docker\'s message', () => {
    assert.throws(() => user('mallory'), { code: 'INVALID_ARGUMENT', message: 'Config.User: unable to find user mallory: no matching entries in passwd file' });
    assert.throws(() => user('alice:ghosts'), /unable to find group ghosts: no matching entries in group file/);
  });

  it('refuses ids out of range', () => {
    assert.throws(() => user('-1'), /uids and gids must be in range 0-2147483647/);
    assert.throws(() => user('1:4294967296'), /uids and gids must be in range/);
  });

  it('adds GroupAdd by name or id, once each, after the user\'s groups', () => {
    assert.deepEqual(user('alice', ['staff', '4000', 'wheel', '4000']), { uid: 1000, gid: 1000, additionalGids: [1000, 10, 50, 50, 4000, 10] });
    assert.deepEqual(additionalGroups(['staff', '50', 'root'], db.group), [50, 0]);
    assert.throws(() => additionalGroups(['nope'], db.group), { message: 'HostConfig.GroupAdd[0]: Unable to find group nope: no matching entries in group file' });
  });

  it('without /etc/passwd: numeric users work, names do not', () => {
    const empty: UserDatabase = {};
    assert.deepEqual(resolveUser('', undefined, empty), { uid: 0, gid: 0, additionalGids: [0] });
    assert.deepEqual(resolveUser('33:44', ['12'], empty), { uid: 33, gid: 44, additionalGids: [44, 12] });
    assert.throws(() => resolveUser('www-data', undefined, empty), /unable to find user www-data: no matching entries in passwd file/);
  });
});

describe('reading /etc files inside the rootfs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-spec-unit-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // The host's secrets, outside any rootfs.
  const outside = join(dir, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'shadow'), 'mallory:x:0:0:HOST SECRET:/:/bin/sh\n');
  let n = 0;
  const rootfs = (setup: (root: string) => void): string => {
    const root = join(dir, `root${++n}`);
    mkdirSync(join(root, 'etc'), { recursive: true });
    setup(root);
    return root;
  };

  it('reads the container\'s own files', () => {
    const root = rootfs((r) => {
      writeFileSync(join(r, 'etc/passwd'), PASSWD);
      writeFileSync(join(r, 'etc/group'), GROUP);
    });
    assert.deepEqual(resolveUser('bob', undefined, readUserDatabase(root)), { uid: 1001, gid: 1001, additionalGids: [1001, 50] });
  });

  it('an absolute symlink to a host file reads the container\'s path, not the host\'s', () => {
    const root = rootfs((r) => symlinkSync(join(outside, 'shadow'), join(r, 'etc/passwd')));
    assert.equal(readRootfsFile(root, '/etc/passwd'), undefined);
    assert.throws(() => resolveUser('mallory', undefined, readUserDatabase(root)), /unable to find user mallory/);
  });

  it('a relative symlink climbing out stops at the rootfs', () => {
    const root = rootfs((r) => {
      symlinkSync('../../../../../../../../..' + join(outside, 'shadow'), join(r, 'etc/passwd'));
      // what the link means inside the container
      mkdirSync(join(r, outside), { recursive: true });
      writeFileSync(join(r, outside, 'shadow'), 'mallory:x:7:7::/:/bin/sh\n');
    });
    assert.deepEqual(resolveUser('mallory', undefined, readUserDatabase(root)), { uid: 7, gid: 7, additionalGids: [7] });
  });

  it('a symlinked /etc directory is followed inside the rootfs only', () => {
    const host = rootfs((r) => {
      rmSync(join(r, 'etc'), { recursive: true });
      symlinkSync(outside, join(r, 'etc'));
    });
    writeFileSync(join(outside, 'passwd'), 'mallory:x:0:0:::\n');
    assert.equal(readRootfsFile(host, '/etc/passwd'), undefined);
    const inside = rootfs((r) => {
      mkdirSync(join(r, 'usr/lib'), { recursive: true });
      writeFileSync(join(r, 'usr/lib/passwd'), 'carol:x:77:78:::\n');
      symlinkSync('/usr/lib/passwd', join(r, 'etc/passwd'));
    });
    assert.deepEqual(resolveUser('carol', undefined, readUserDatabase(inside)), { uid: 77, gid: 78, additionalGids: [78] });
  });

  it('refuses a FIFO or a directory at /etc/passwd without hanging', () => {
    const fifo = rootfs((r) => execFileSync('mkfifo', [join(r, 'etc/passwd')]));
    assert.throws(() => readUserDatabase(fifo), /\/etc\/passwd in the container is not a regular file/);
    const directory = rootfs((r) => mkdirSync(join(r, 'etc/passwd')));
    assert.throws(() => readUserDatabase(directory), /\/etc\/passwd in the container is not a regular file/);
  });

  it('a symlink loop is an error, not a hang', () => {
    const root = rootfs((r) => {
      symlinkSync('/etc/b', join(r, 'etc/passwd'));
      symlinkSync('/etc/passwd', join(r, 'etc/b'));
    });
    assert.throws(() => readUserDatabase(root), /too many symlinks/);
  });

  it('ensureWorkingDir creates a missing working directory inside the rootfs only', () => {
    const root = rootfs((r) => {
      symlinkSync(outside, join(r, 'work'));
      writeFileSync(join(r, 'file'), '');
    });
    ensureWorkingDir(root, '/work/app/src');
    execFileSync('test', ['-d', join(root, outside, 'app/src')]);
    assert.throws(() => execFileSync('test', ['-e', join(outside, 'app')], { stdio: 'ignore' }));
    assert.throws(() => ensureWorkingDir(root, '/file'), /Config\.WorkingDir: cannot mkdir: \/file is not a directory/);
  });
});
