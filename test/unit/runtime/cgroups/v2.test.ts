// The cgroup v2 manager against a fake unified hierarchy in a temp dir: enabling controllers
// down the tree, the v1→v2 conversions in the files written, errors, freezing and stats.
import { afterEach, beforeEach, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { BerthError } from '../../../../src/common/errors.js';
import { fakeV2Tree, type FakeTreeOptions } from '../../../../src/runtime/cgroups/fake-host.js';
import { openCgroupManager } from '../../../../src/runtime/cgroups/manager.js';
import { UINT64_MAX } from '../../../../src/runtime/cgroups/parse.js';

const Mi = 1 << 20;
const ALL = ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids'];

const isInvalid = (field: string) => (e: unknown): boolean => {
  assert.ok(e instanceof BerthError, String(e));
  assert.equal(e.code, 'INVALID_ARGUMENT', e.message);
  assert.ok(e.message.startsWith(`${field}: `), e.message);
  return true;
};

describe('cgroup v2 manager', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'berth-cg2-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const open = (opts: FakeTreeOptions & { controllers?: string[]; cgroupsPath?: string } = {}) => {
    const fs = fakeV2Tree(root, opts.controllers ?? ALL, opts);
    const m = openCgroupManager({ id: 'c1', cgroupsPath: opts.cgroupsPath ?? '/berth/c1', root, mountinfo: '', procSelfCgroup: '0::/user.slice/me.scope\n', fs });
    const writes = () => fs.writes.map((w) => [relative(root, w.path), w.value]);
    return { m, fs, writes };
  };
  const dirs = () => readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => relative(root, join(e.parentPath, e.name)));

  it('enables controllers in every ancestor, then writes converted values', async () => {
    const { m, writes } = open();
    assert.equal(m.version, 2);
    await m.create({
      memory: { limit: 64 * Mi, reservation: 16 * Mi, swap: 96 * Mi },
      cpu: { shares: 1024, quota: 50000, period: 100000, cpus: '0-1', mems: '0' },
      pids: { limit: 0 },
      blockIO: { weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 10 }], throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 100 }] },
      hugepageLimits: [{ pageSize: '2MB', limit: 2 * Mi }],
      unified: { 'memory.high': '50000000', 'cgroup.max.depth': '3' },
    });
    assert.deepEqual(writes(), [
      ['cgroup.subtree_control', '+cpuset +cpu +io +memory +hugetlb +pids'],
      ['berth/cgroup.subtree_control', '+cpuset +cpu +io +memory +hugetlb +pids'],
      ['berth/c1/pids.max', 'max'],
      // OCI swap is memory+swap: swap.max is the difference.
      ['berth/c1/memory.swap.max', String(32 * Mi)],
      ['berth/c1/memory.max', String(64 * Mi)],
      ['berth/c1/memory.low', String(16 * Mi)],
      ['berth/c1/io.weight', '4950'],
      ['berth/c1/io.weight', '8:0 1'],
      ['berth/c1/io.max', '8:16 wiops=100'],
      ['berth/c1/cpu.weight', '39'],
      ['berth/c1/cpu.max', '50000 100000'],
      ['berth/c1/cpuset.cpus', '0-1'],
      ['berth/c1/cpuset.mems', '0'],
      ['berth/c1/hugetlb.2MB.max', String(2 * Mi)],
      ['berth/c1/memory.high', '50000000'],
      ['berth/c1/cgroup.max.depth', '3'],
    ]);
    assert.deepEqual(m.procsFiles(), [join(root, 'berth/c1/cgroup.procs')]);
    assert.deepEqual(m.paths(), { '': join(root, 'berth/c1') });
  });

  it('places a relative path below the parent of the own cgroup', async () => {
    const { m } = open({ cgroupsPath: 'c1' });
    assert.deepEqual(m.paths(), { '': join(root, 'user.slice/c1') });
    await m.create({ pids: { limit: 3 } });
    assert.equal(readFileSync(join(root, 'user.slice/c1/pids.max'), 'utf8'), '3');
  });

  it('names the field whose controller the hierarchy lacks, before creating anything', async () => {
    const { m, writes } = open({ controllers: ['cpu', 'pids'] });
    await assert.rejects(m.create({ pids: { limit: 3 }, memory: { limit: 64 * Mi } }), isInvalid('linux.resources.memory.limit'));
    await assert.rejects(m.create({ unified: { 'io.max': '8:0 rbps=1' } }), isInvalid('linux.resources.unified["io.max"]'));
    assert.deepEqual(dirs(), []);
    assert.deepEqual(writes(), []);
  });

  it('names memory.swap without swap accounting and removes what it created', async () => {
    const { m } = open({ drop: ['memory.swap.max', 'memory.swap.current'] });
    await assert.rejects(m.create({ memory: { limit: 64 * Mi, swap: 128 * Mi } }), isInvalid('linux.resources.memory.swap'));
    assert.deepEqual(dirs(), []);
    // Unlimited swap (or none) needs no swap accounting.
    await m.create({ memory: { limit: -1 } });
    assert.equal(readFileSync(join(root, 'berth/c1/memory.max'), 'utf8'), 'max');
  });

  it('refuses v1-only settings with the field named', async () => {
    const { m } = open();
    await assert.rejects(m.create({ memory: { swappiness: 0 } }), isInvalid('linux.resources.memory.swappiness'));
    await assert.rejects(m.create({ memory: { disableOOMKiller: true } }), isInvalid('linux.resources.memory.disableOOMKiller'));
    await assert.rejects(m.create({ cpu: { realtimeRuntime: 950000 } }), isInvalid('linux.resources.cpu.realtimeRuntime'));
    await assert.rejects(m.create({ blockIO: { leafWeight: 100 } }), isInvalid('linux.resources.blockIO.leafWeight'));
    await assert.rejects(m.create({ network: { classID: 1 } }), isInvalid('linux.resources.network'));
    await assert.rejects(m.create({ unified: { '../x': '1' } }), isInvalid('linux.resources.unified["../x"]'));
    await assert.rejects(m.create({ devices: [{ allow: true, type: 'z' }] }), isInvalid('linux.resources.devices[0].type'));
    assert.deepEqual(dirs(), []);
  });

  it('accepts device rules without applying them (no eBPF from Node)', async () => {
    const { m, writes } = open();
    await m.create({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }] });
    assert.deepEqual(writes().filter(([p]) => p!.startsWith('berth/c1/')), []);
  });

  it('tells why a needed controller cannot be enabled', async () => {
    const { m } = open({ hooks: { fail: (p, v) => (p === join(root, 'berth/cgroup.subtree_control') && v.includes('memory') ? 'EBUSY' : undefined) } });
    await assert.rejects(m.create({ memory: { limit: 64 * Mi } }), (e: unknown) => {
      assert.ok(e instanceof BerthError && e.code === 'FAILED_PRECONDITION');
      assert.match(e.message, /cannot enable the memory controller in .*berth\/cgroup\.subtree_control \(EBUSY\): the cgroup holds processes itself/);
      return true;
    });
    assert.deepEqual(dirs(), []);
  });

  it('updates only the fields given, keeping the quota when only the period changes', async () => {
    const { m, fs } = open();
    await m.create({ cpu: { quota: 20000, period: 100000 } });
    fs.writes.length = 0;
    await m.update({ cpu: { period: 50000 } });
    await m.update({ memory: { limit: 128 * Mi, swap: -1 }, pids: { limit: 10 } });
    await m.update({ cpu: { quota: -1 } });
    assert.deepEqual(fs.writes.map((w) => [relative(root, w.path), w.value]), [
      ['berth/c1/cpu.max', '20000 50000'],
      ['berth/c1/pids.max', '10'],
      ['berth/c1/memory.swap.max', 'max'],
      ['berth/c1/memory.max', String(128 * Mi)],
      ['berth/c1/cpu.max', 'max 50000'],
    ]);
    await assert.rejects(m.update({ memory: { swap: 256 * Mi } }), isInvalid('linux.resources.memory.swap'));
    writeFileSync(join(root, 'berth/c1/memory.current'), String(200 * Mi));
    await assert.rejects(m.update({ memory: { limit: 100 * Mi, checkBeforeUpdate: true } }), isInvalid('linux.resources.memory.limit'));
  });

  it('freezes through cgroup.freeze and waits for cgroup.events', async () => {
    const { m } = open();
    await m.create({});
    assert.equal(await m.isFrozen(), false);
    await m.freeze();
    assert.equal(readFileSync(join(root, 'berth/c1/cgroup.freeze'), 'utf8'), '1');
    assert.equal(await m.isFrozen(), true);
    await m.thaw();
    assert.equal(await m.isFrozen(), false);
  });

  it('reads stats, pids and OOM kills', async () => {
    const { m } = open();
    await m.create({});
    const put = (f: string, text: string) => writeFileSync(join(root, 'berth/c1', f), text);
    put('cpu.stat', 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 20\n');
    put('memory.current', '8192\n');
    put('memory.max', String(64 * Mi));
    put('memory.swap.current', '4096\n');
    put('memory.swap.max', String(32 * Mi));
    put('memory.stat', 'anon 4096\nfile 2048\n');
    put('memory.events', 'low 0\nhigh 0\nmax 5\noom 1\noom_kill 2\n');
    put('pids.current', '3\n');
    put('io.stat', '8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n');
    put('cgroup.procs', '7\n8\n');
    const s = await m.stats();
    assert.deepEqual(s.cpu.usage, { total: 1500000, percpu: [], percpu_kernel: [], percpu_user: [], kernel: 500000, user: 1000000 });
    assert.deepEqual(s.cpu.throttling, { periods: 4, throttledPeriods: 1, throttledTime: 20000 });
    assert.deepEqual(s.memory.usage, { usage: 8192, limit: 64 * Mi, max: 0, failcnt: 5 });
    assert.deepEqual(s.memory.swap, { usage: 12288, limit: 96 * Mi, max: 0, failcnt: 0 });
    assert.equal(s.memory.cache, 2048);
    assert.deepEqual(s.pids, { current: 3, limit: 0 });
    assert.deepEqual(s.blkio.ioServicedRecursive, [{ major: 8, minor: 0, op: 'Read', value: 1 }, { major: 8, minor: 0, op: 'Write', value: 2 }]);
    assert.deepEqual(s.hugetlb, { '2MB': { usage: 0, max: 0, failcnt: 0 } });
    put('memory.max', 'max\n');
    assert.equal((await m.stats()).memory.swap.limit, UINT64_MAX);
    assert.deepEqual(await m.pids(), [7, 8]);
    assert.equal(await m.oomKillCount(), 2);
    put('cgroup.procs', '');
  });

  it('destroys idempotently and reopens from paths', async () => {
    const { m, fs } = open();
    await m.create({ pids: { limit: 4 } });
    const again = openCgroupManager({ id: 'c1', paths: m.paths(), fs });
    assert.equal(again.version, 2);
    await again.update({ pids: { limit: 8 } });
    assert.equal(readFileSync(join(root, 'berth/c1/pids.max'), 'utf8'), '8');
    await again.destroy();
    assert.equal(existsSync(join(root, 'berth/c1')), false);
    assert.equal(existsSync(join(root, 'berth')), true);
    await m.destroy();
    await again.destroy();
  });
});
