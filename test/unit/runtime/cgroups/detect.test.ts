// Finding the cgroup version, the v1 hierarchies and the container's directories.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../../../../src/common/errors.js';
import { detectVersion, parseMountinfo, parseProcCgroup, v1Hierarchies } from '../../../../src/runtime/cgroups/detect.js';
import { innerPath, v1Dir, v2Dir } from '../../../../src/runtime/cgroups/paths.js';

// A hybrid host like the CI machines: separate cpu and cpuacct, plus an empty cgroup2 beside them.
const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

// A typical systemd v1 host: combined cpu,cpuacct with symlinks, and a bind mount elsewhere.
const COMBINED = `25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
28 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,cpu,cpuacct
29 25 0:26 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,net_cls,net_prio
90 70 0:25 /docker /var/lib/x/sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
30 25 0:27 /docker/abc /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,memory
31 25 0:28 / /mnt/with\\040space rw - cgroup cgroup rw,pids
`;

describe('mountinfo', () => {
  it('finds each v1 hierarchy, ignores cgroup2 and tmpfs, and keeps name= hierarchies', () => {
    const h = v1Hierarchies(parseMountinfo(HYBRID), '/sys/fs/cgroup');
    assert.deepEqual(h.map((x) => [x.controllers.join(','), x.mountpoint]), [
      ['cpu', '/sys/fs/cgroup/cpu'],
      ['cpuacct', '/sys/fs/cgroup/cpuacct'],
      ['memory', '/sys/fs/cgroup/memory'],
      ['name=systemd', '/sys/fs/cgroup/systemd'],
    ]);
  });

  it('handles combined controllers, mount roots, escapes, and prefers the mount under the root', () => {
    const h = v1Hierarchies(parseMountinfo(COMBINED), '/sys/fs/cgroup');
    assert.deepEqual(h.map((x) => [x.controllers.join(','), x.mountpoint, x.root]), [
      ['cpu,cpuacct', '/sys/fs/cgroup/cpu,cpuacct', '/'],
      ['net_cls,net_prio', '/sys/fs/cgroup/net_cls,net_prio', '/'],
      ['memory', '/sys/fs/cgroup/memory', '/docker/abc'],
      ['pids', '/mnt/with space', '/'],
    ]);
  });

  it('parses /proc/self/cgroup, v1 and v2 lines', () => {
    assert.deepEqual(parseProcCgroup('4:memory:/a/b\n2:cpu,cpuacct:/\n1:name=systemd:/x\n0::/user.slice\n'), [
      { controllers: ['memory'], path: '/a/b' },
      { controllers: ['cpu', 'cpuacct'], path: '/' },
      { controllers: ['name=systemd'], path: '/x' },
      { controllers: [], path: '/user.slice' },
    ]);
  });
});

describe('version detection', () => {
  it('is v2 when the root has cgroup.controllers, v1 when only v1 hierarchies exist, and fails with neither', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-cg-'));
    try {
      assert.equal(detectVersion(dir, parseMountinfo(HYBRID)), 1);
      assert.throws(() => detectVersion(dir, []), (e: unknown) => e instanceof BerthError && e.code === 'FAILED_PRECONDITION');
      writeFileSync(join(dir, 'cgroup.controllers'), 'cpu memory\n');
      assert.equal(detectVersion(dir, parseMountinfo(HYBRID)), 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cgroup paths', () => {
  it('cleans cgroupsPath without letting it climb out, and defaults to the id', () => {
    assert.deepEqual(innerPath('/berth//x/../c1/', 'id'), { path: '/berth/c1', absolute: true });
    assert.deepEqual(innerPath('../../etc/c1', 'id'), { path: 'etc/c1', absolute: false });
    assert.deepEqual(innerPath(undefined, 'abc'), { path: 'abc', absolute: false });
    assert.deepEqual(innerPath('', 'abc'), { path: 'abc', absolute: false });
    assert.throws(() => innerPath('/', 'abc'), /linux\.cgroupsPath: "\/" names the cgroup root/);
    assert.throws(() => innerPath('/..', 'abc'), /linux\.cgroupsPath/);
  });

  it('places v1 dirs from the mount point (absolute) or below the own cgroup (relative)', () => {
    const [cpu, , memory] = v1Hierarchies(parseMountinfo(COMBINED), '/sys/fs/cgroup');
    const own = parseProcCgroup('3:memory:/docker/abc/inner\n2:cpu,cpuacct:/user.slice\n');
    assert.equal(v1Dir(cpu!, innerPath('/berth/c1', 'c1'), own), '/sys/fs/cgroup/cpu,cpuacct/berth/c1');
    assert.equal(v1Dir(cpu!, innerPath(undefined, 'c1'), own), '/sys/fs/cgroup/cpu,cpuacct/user.slice/c1');
    // The memory mount shows /docker/abc of its hierarchy; the own cgroup is below that.
    assert.equal(v1Dir(memory!, innerPath('sub/c1', 'c1'), own), '/sys/fs/cgroup/memory/inner/sub/c1');
  });

  it('places a relative v2 dir below the parent of the own cgroup', () => {
    const own = parseProcCgroup('0::/user.slice/session-1.scope\n');
    assert.equal(v2Dir('/sys/fs/cgroup', '/', innerPath('c1', 'c1'), own), '/sys/fs/cgroup/user.slice/c1');
    assert.equal(v2Dir('/sys/fs/cgroup', '/', innerPath('/berth/c1', 'c1'), own), '/sys/fs/cgroup/berth/c1');
  });
});
