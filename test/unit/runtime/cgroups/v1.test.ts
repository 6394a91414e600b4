// The cgroup v1 manager against a fake cgroupfs in a temp dir: exactly which files get which
// values in which order, the errors naming spec fields, and that failures leave nothing behind.
import { afterEach, beforeEach, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { BerthError } from '../../../../src/common/errors.js';
import { fakeV1Tree, type FakeHooks } from '../../../../src/runtime/cgroups/fake-host.js';
import { openCgroupManager, type CgroupManager } from '../../../../src/runtime/cgroups/manager.js';
import type { Resources } from '../../../../src/runtime/spec/types.js';

const Mi = 1 << 20;
const HIERARCHIES = {
  'cpu,cpuacct': ['cpu', 'cpuacct'],
  cpuset: ['cpuset'],
  memory: ['memory'],
  devices: ['devices'],
  freezer: ['freezer'],
  pids: ['pids'],
  blkio: ['blkio'],
  hugetlb: ['hugetlb'],
  systemd: ['name=systemd'],
};
const SELF = '9:name=systemd:/\n5:memory:/process_api/x\n2:cpu,cpuacct:/\n';

const isInvalid = (field: string) => (e: unknown): boolean => {
  assert.ok(e instanceof BerthError, String(e));
  assert.equal(e.code, 'INVALID_ARGUMENT');
  assert.ok(e.message.startsWith(`${field}: `), e.message);
  return true;
};

describe('cgroup v1 manager', () => {
  let base: string;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'berth-cg1-'));
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  const open = (opts: { hierarchies?: Record<string, string[]>; drop?: string[]; add?: Record<string, string>; hooks?: FakeHooks; cgroupsPath?: string } = {}) => {
    const tree = fakeV1Tree(base, opts.hierarchies ?? HIERARCHIES, opts);
    const m = openCgroupManager({ id: 'c1', cgroupsPath: opts.cgroupsPath ?? '/berth/c1', root: base, mountinfo: tree.mountinfo, procSelfCgroup: SELF, fs: tree.fs });
    const writes = () => tree.fs.writes.map((w) => [relative(base, w.path), w.value]);
    return { m, fs: tree.fs, writes };
  };
  /** Directories left under the fake hierarchies, besides their mount points. */
  const leftovers = () => readdirSync(base, { recursive: true, withFileTypes: true }).filter((e) => e.isDirectory() && relative(base, join(e.parentPath, e.name)).includes('/')).map((e) => relative(base, join(e.parentPath, e.name)));

  it('creates a directory in every hierarchy and writes each limit to its file, in order', async () => {
    const { m, writes } = open();
    assert.equal(m.version, 1);
    const resources: Resources = {
      devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, { allow: true, type: 'c', major: 136, access: 'rwm' }],
      memory: { limit: 64 * Mi, reservation: 32 * Mi, swap: 128 * Mi, swappiness: 10, disableOOMKiller: true },
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0-1', mems: '0' },
      pids: { limit: 32 },
      blockIO: { weight: 300, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: Mi }] },
      hugepageLimits: [{ pageSize: '2MB', limit: 4 * Mi }],
    };
    await m.create(resources);
    assert.deepEqual(writes(), [
      // New cpuset levels inherit the parent's cpus and mems, one level at a time.
      ['cpuset/berth/cpuset.cpus', '0-3'],
      ['cpuset/berth/cpuset.mems', '0'],
      ['cpuset/berth/c1/cpuset.cpus', '0-3'],
      ['cpuset/berth/c1/cpuset.mems', '0'],
      ['cpuset/berth/c1/cpuset.cpus', '0-1'],
      ['cpuset/berth/c1/cpuset.mems', '0'],
      ['devices/berth/c1/devices.deny', 'a'],
      ['devices/berth/c1/devices.deny', 'a *:* rwm'],
      ['devices/berth/c1/devices.allow', 'c 1:3 rwm'],
      ['devices/berth/c1/devices.allow', 'c 136:* rwm'],
      // A new cgroup is unlimited: set the memory limit before memory+swap.
      ['memory/berth/c1/memory.limit_in_bytes', String(64 * Mi)],
      ['memory/berth/c1/memory.memsw.limit_in_bytes', String(128 * Mi)],
      ['memory/berth/c1/memory.soft_limit_in_bytes', String(32 * Mi)],
      ['memory/berth/c1/memory.swappiness', '10'],
      ['memory/berth/c1/memory.oom_control', '1'],
      ['cpu,cpuacct/berth/c1/cpu.shares', '512'],
      ['cpu,cpuacct/berth/c1/cpu.cfs_period_us', '100000'],
      ['cpu,cpuacct/berth/c1/cpu.cfs_quota_us', '50000'],
      ['pids/berth/c1/pids.max', '32'],
      ['blkio/berth/c1/blkio.weight', '300'],
      ['blkio/berth/c1/blkio.throttle.read_bps_device', `8:0 ${Mi}`],
      ['hugetlb/berth/c1/hugetlb.2MB.limit_in_bytes', String(4 * Mi)],
    ]);
    assert.deepEqual(m.procsFiles().map((p) => relative(base, p)), Object.keys(HIERARCHIES).map((h) => `${h}/berth/c1/cgroup.procs`));
    const paths = m.paths();
    assert.equal(paths.cpu, join(base, 'cpu,cpuacct/berth/c1'));
    assert.equal(paths.cpuacct, paths.cpu);
    assert.equal(paths['name=systemd'], join(base, 'systemd/berth/c1'));
    assert.equal(Object.keys(paths).length, 10);
  });

  it('places a relative cgroupsPath below the own cgroup of each hierarchy', async () => {
    const { m } = open({ cgroupsPath: 'c1', hierarchies: { memory: ['memory'], cpu: ['cpu'] } });
    mkdirSync(join(base, 'memory/process_api/x'), { recursive: true });
    writeFileSync(join(base, 'memory/process_api/x/cgroup.procs'), '');
    await m.create(undefined);
    assert.deepEqual(m.paths(), { memory: join(base, 'memory/process_api/x/c1'), cpu: join(base, 'cpu/c1') });
  });

  it('names memory.swap when the host has no swap accounting, and leaves nothing behind', async () => {
    const { m, writes } = open({ drop: ['memory.memsw.limit_in_bytes'] });
    await assert.rejects(m.create({ pids: { limit: 5 }, memory: { limit: 64 * Mi, swap: 128 * Mi } }), isInvalid('linux.resources.memory.swap'));
    assert.deepEqual(leftovers(), []);
    assert.deepEqual(writes().filter(([p]) => !p!.startsWith('cpuset/')), [], 'nothing was written before the check');
  });

  it('names the field when its controller is not mounted, before creating anything', async () => {
    const { m, writes } = open({ hierarchies: { memory: ['memory'], cpu: ['cpu'] } });
    await assert.rejects(m.create({ pids: { limit: 10 } }), isInvalid('linux.resources.pids.limit'));
    await assert.rejects(m.create({ hugepageLimits: [{ pageSize: '2MB', limit: 0 }] }), isInvalid('linux.resources.hugepageLimits[0]'));
    await assert.rejects(m.create({ unified: { 'memory.high': '1' } }), isInvalid('linux.resources.unified'));
    await assert.rejects(m.create({ memory: { swappiness: 101 } }), isInvalid('linux.resources.memory.swappiness'));
    await assert.rejects(m.create({ hugepageLimits: [{ pageSize: '2 MB', limit: 0 }] }), isInvalid('linux.resources.hugepageLimits[0].pageSize'));
    assert.deepEqual(leftovers(), []);
    assert.deepEqual(writes(), []);
  });

  it('rolls back the directories when the kernel refuses a value', async () => {
    const { m } = open({ hooks: { fail: (p) => (p.endsWith('pids.max') ? 'EINVAL' : undefined) } });
    await assert.rejects(m.create({ memory: { limit: 64 * Mi }, pids: { limit: 7 } }), (e: unknown) => {
      assert.ok(e instanceof BerthError && e.code === 'INVALID_ARGUMENT');
      assert.match(e.message, /^linux\.resources\.pids\.limit: writing "7" to .*pids\/berth\/c1\/pids\.max failed \(EINVAL\)/);
      return true;
    });
    assert.deepEqual(leftovers(), []);
  });

  it('reports cpu.shares the kernel clamped', async () => {
    const { m } = open({ hooks: { store: (p, v) => (p.endsWith('cpu.shares') && Number(v) > 262144 ? '262144' : undefined) } });
    await assert.rejects(m.create({ cpu: { shares: 500000 } }), isInvalid('linux.resources.cpu.shares'));
    assert.deepEqual(leftovers(), []);
  });

  it('falls back to blkio.bfq.weight when blkio.weight is missing', async () => {
    const { m, fs } = open({ hierarchies: { blkio: ['blkio'] }, drop: ['blkio.weight'], add: { 'blkio.bfq.weight': '100' } });
    await m.create({ blockIO: { weight: 700 } });
    assert.deepEqual(fs.writesTo('blkio.bfq.weight'), ['700']);
    assert.deepEqual(fs.writesTo('blkio.weight'), []);
  });

  it('orders memory and memory+swap writes on update so the kernel accepts each step', async () => {
    const { m, fs } = open();
    await m.create({ memory: { limit: 64 * Mi, swap: 128 * Mi } });
    const mem = (f: string) => join(base, 'memory/berth/c1', f);
    fs.writes.length = 0;
    await m.update({ memory: { limit: 256 * Mi, swap: 512 * Mi } });
    assert.deepEqual(fs.writes.map((w) => [w.path, w.value]), [[mem('memory.memsw.limit_in_bytes'), String(512 * Mi)], [mem('memory.limit_in_bytes'), String(256 * Mi)]]);
    fs.writes.length = 0;
    await m.update({ memory: { limit: 32 * Mi, swap: 64 * Mi } });
    assert.deepEqual(fs.writes.map((w) => [w.path, w.value]), [[mem('memory.limit_in_bytes'), String(32 * Mi)], [mem('memory.memsw.limit_in_bytes'), String(64 * Mi)]]);
    fs.writes.length = 0;
    await m.update({ pids: { limit: -1 }, cpu: { quota: -1 } });
    assert.deepEqual(fs.writes.map((w) => [relative(base, w.path), w.value]), [['cpu,cpuacct/berth/c1/cpu.cfs_quota_us', '-1'], ['pids/berth/c1/pids.max', 'max']]);
    writeFileSync(mem('memory.usage_in_bytes'), String(100 * Mi));
    await assert.rejects(m.update({ memory: { limit: 50 * Mi, checkBeforeUpdate: true } }), isInvalid('linux.resources.memory.limit'));
  });

  it('retries a refused cfs period after the quota', async () => {
    let refused = false;
    const { m, fs } = open({ hooks: { fail: (p) => (p.endsWith('cfs_period_us') && !refused ? ((refused = true), 'EINVAL') : undefined) } });
    await m.create({ cpu: { period: 10000, quota: 5000 } });
    assert.deepEqual(fs.writes.filter((w) => w.path.includes('cpu,cpuacct')).map((w) => [relative(base, w.path), w.value]), [
      ['cpu,cpuacct/berth/c1/cpu.cfs_quota_us', '5000'],
      ['cpu,cpuacct/berth/c1/cpu.cfs_period_us', '10000'],
    ]);
  });

  it('freezes, thaws, lists pids below the cgroup and counts OOM kills', async () => {
    const { m } = open();
    await m.create({});
    const dir = (h: string) => join(base, h, 'berth/c1');
    assert.equal(await m.isFrozen(), false);
    await m.freeze();
    assert.equal(readFileSync(join(dir('freezer'), 'freezer.state'), 'utf8'), 'FROZEN');
    assert.equal(await m.isFrozen(), true);
    await m.thaw();
    assert.equal(await m.isFrozen(), false);

    writeFileSync(join(dir('freezer'), 'cgroup.procs'), '10\n11\n');
    mkdirSync(join(dir('freezer'), 'sub'));
    writeFileSync(join(dir('freezer'), 'sub/cgroup.procs'), '12\n');
    assert.deepEqual((await m.pids()).sort(), [10, 11, 12]);
    rmSync(join(dir('freezer'), 'sub'), { recursive: true });
    writeFileSync(join(dir('freezer'), 'cgroup.procs'), '');

    assert.equal(await m.oomKillCount(), 0);
    writeFileSync(join(dir('memory'), 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 3\n');
    assert.equal(await m.oomKillCount(), 3);
  });

  it('reads stats from each controller in the runc events shape', async () => {
    const { m } = open();
    await m.create({});
    const put = (h: string, f: string, text: string) => writeFileSync(join(base, h, 'berth/c1', f), text);
    put('cpu,cpuacct', 'cpuacct.usage', '5000000\n');
    put('cpu,cpuacct', 'cpuacct.usage_percpu', '3000000 2000000 \n');
    put('cpu,cpuacct', 'cpuacct.usage_all', 'cpu user system\n0 2000000 1000000\n1 1500000 500000\n');
    put('cpu,cpuacct', 'cpuacct.stat', 'user 3\nsystem 1\n');
    put('cpu,cpuacct', 'cpu.stat', 'nr_periods 10\nnr_throttled 2\nthrottled_time 777\n');
    put('memory', 'memory.stat', 'cache 4096\nrss 8192\ntotal_cache 4096\n');
    put('memory', 'memory.usage_in_bytes', '12288\n');
    put('memory', 'memory.max_usage_in_bytes', '20000\n');
    put('memory', 'memory.limit_in_bytes', String(64 * Mi));
    put('memory', 'memory.failcnt', '1\n');
    put('pids', 'pids.current', '2\n');
    put('pids', 'pids.max', '32\n');
    put('blkio', 'blkio.throttle.io_service_bytes_recursive', '8:0 Read 100\n8:0 Write 200\nTotal 300\n');
    put('hugetlb', 'hugetlb.2MB.usage_in_bytes', '2097152\n');
    const s = await m.stats();
    assert.deepEqual(s.cpu, {
      usage: { total: 5000000, percpu: [3000000, 2000000], percpu_user: [2000000, 1500000], percpu_kernel: [1000000, 500000], user: 30000000, kernel: 10000000 },
      throttling: { periods: 10, throttledPeriods: 2, throttledTime: 777 },
    });
    assert.deepEqual(s.memory.usage, { usage: 12288, max: 20000, limit: 64 * Mi, failcnt: 1 });
    assert.equal(s.memory.cache, 4096);
    assert.equal(s.memory.raw.rss, 8192);
    assert.equal(s.memory.swap.limit, 9223372036854771712);
    assert.deepEqual(s.pids, { current: 2, limit: 32 });
    assert.deepEqual(s.blkio.ioServiceBytesRecursive, [{ major: 8, minor: 0, op: 'Read', value: 100 }, { major: 8, minor: 0, op: 'Write', value: 200 }]);
    assert.deepEqual(s.hugetlb, { '2MB': { usage: 2097152, max: 0, failcnt: 0 } });
  });

  it('destroys every directory, child cgroups included, and is idempotent', async () => {
    const { m } = open();
    await m.create({ memory: { limit: 64 * Mi } });
    mkdirSync(join(base, 'memory/berth/c1/child'));
    writeFileSync(join(base, 'memory/berth/c1/child/cgroup.procs'), '');
    await m.destroy();
    for (const p of Object.values(m.paths())) assert.equal(existsSync(p), false, p);
    assert.equal(existsSync(join(base, 'memory/berth')), true, 'the shared parent stays');
    await m.destroy();
  });

  it('waits for the last processes to leave before removing', async () => {
    const { m } = open({ hierarchies: { pids: ['pids'] } });
    await m.create({});
    const procs = join(base, 'pids/berth/c1/cgroup.procs');
    writeFileSync(procs, '99\n');
    setTimeout(() => writeFileSync(procs, ''), 50);
    await m.destroy();
    assert.equal(existsSync(join(base, 'pids/berth/c1')), false);
  });

  it('reopens from saved paths to update, read and destroy, but not to create', async () => {
    const first = open();
    await first.m.create({ pids: { limit: 5 } });
    const again: CgroupManager = openCgroupManager({ id: 'c1', paths: first.m.paths(), fs: first.fs });
    assert.equal(again.version, 1);
    assert.deepEqual(again.paths(), first.m.paths());
    assert.deepEqual(again.procsFiles().sort(), first.m.procsFiles().sort());
    await again.update({ pids: { limit: 9 } });
    assert.equal(readFileSync(join(base, 'pids/berth/c1/pids.max'), 'utf8'), '9');
    await assert.rejects(again.create({}), (e: unknown) => e instanceof BerthError && e.code === 'FAILED_PRECONDITION');
    await again.destroy();
    assert.deepEqual(leftovers().filter((d) => d.endsWith('/c1')), []);
    for (const p of Object.values(first.m.paths())) assert.equal(existsSync(p), false, p);
  });
});
