// A fake cgroupfs on an ordinary directory, for tests that run without root: it behaves like
// the kernel where the managers depend on it (mkdir fills in interface files, writing a file
// that does not exist fails, rmdir refuses a cgroup with processes, subtree_control and
// cgroup.freeze act on other files) and records every write in order.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, readdir, rm, rmdir } from 'node:fs/promises';
import { posix } from 'node:path';
import type { CgroupFs } from './host.js';
import { nodeCgroupFs } from './host.js';

export interface FakeWrite {
  path: string;
  value: string;
}

export interface FakeHooks {
  /** Errno code to fail a write with (e.g. "EINVAL"), or undefined to let it through. */
  fail?: (path: string, value: string) => string | undefined;
  /** What the file holds after the write (the kernel clamps cpu.shares, merges subtree_control). */
  store?: (path: string, value: string) => string | undefined;
}

const errno = (code: string, path: string): Error => Object.assign(new Error(`${code}: ${path}`), { code });

const words = (text: string): string[] => text.split(/\s+/).filter((w) => w !== '');

export class FakeCgroupFs implements CgroupFs {
  readonly writes: FakeWrite[] = [];

  /** `populate(dir)`: the interface files the kernel would create in a new cgroup `dir`. */
  constructor(private readonly populate: (dir: string) => Record<string, string>, readonly hooks: FakeHooks = {}) {}

  read(path: string): Promise<string> {
    return nodeCgroupFs.read(path);
  }

  exists(path: string): Promise<boolean> {
    return nodeCgroupFs.exists(path);
  }

  list(path: string): Promise<Array<{ name: string; isDir: boolean }>> {
    return nodeCgroupFs.list(path);
  }

  /** Writes recorded for files whose name is `name` (or ends with "/name"). */
  writesTo(name: string): string[] {
    return this.writes.filter((w) => posix.basename(w.path) === name || w.path.endsWith(`/${name}`)).map((w) => w.value);
  }

  async write(path: string, value: string): Promise<void> {
    const code = this.hooks.fail?.(path, value);
    if (code) throw errno(code, path);
    if (!(await this.exists(path))) throw errno('ENOENT', path);
    this.writes.push({ path, value });
    const name = posix.basename(path);
    let stored = this.hooks.store?.(path, value) ?? value;
    if (name === 'cgroup.subtree_control') {
      const set = new Set(words(await this.read(path)));
      for (const w of words(value)) {
        if (w.startsWith('-')) set.delete(w.slice(1));
        else set.add(w.replace(/^\+/, ''));
      }
      stored = [...set].join(' ');
    }
    if (name === 'cgroup.freeze') {
      const events = posix.join(posix.dirname(path), 'cgroup.events');
      const text = (await this.read(events).catch(() => 'populated 0\nfrozen 0')).replace(/frozen \d/, `frozen ${value.trim() === '1' ? 1 : 0}`);
      await nodeCgroupFs.write(events, text);
    }
    await nodeCgroupFs.write(path, stored);
  }

  async mkdir(path: string): Promise<boolean> {
    const made = await nodeCgroupFs.mkdir(path);
    if (made) for (const [name, text] of Object.entries(this.populate(path))) writeFileSync(posix.join(path, name), text);
    return made;
  }

  async rmdir(path: string): Promise<void> {
    const entries = await readdir(path, { withFileTypes: true });
    if (entries.some((e) => e.isDirectory())) throw errno('EBUSY', path);
    const procs = await readFile(posix.join(path, 'cgroup.procs'), 'utf8').catch(() => '');
    if (procs.trim() !== '') throw errno('EBUSY', path);
    for (const e of entries) await rm(posix.join(path, e.name));
    await rmdir(path);
  }
}

// Interface files per v1 controller, as a new cgroup shows them.
const UNLIMITED = '9223372036854771712';
export const V1_FILES: Record<string, Record<string, string>> = {
  '': { 'cgroup.procs': '', tasks: '', notify_on_release: '0', 'cgroup.clone_children': '0' },
  cpu: {
    'cpu.shares': '1024', 'cpu.cfs_period_us': '100000', 'cpu.cfs_quota_us': '-1', 'cpu.cfs_burst_us': '0',
    'cpu.rt_period_us': '1000000', 'cpu.rt_runtime_us': '0', 'cpu.idle': '0', 'cpu.stat': 'nr_periods 0\nnr_throttled 0\nthrottled_time 0\n',
  },
  cpuacct: { 'cpuacct.usage': '0', 'cpuacct.usage_percpu': '0 0 ', 'cpuacct.stat': 'user 0\nsystem 0\n', 'cpuacct.usage_all': 'cpu user system\n0 0 0\n1 0 0\n' },
  cpuset: { 'cpuset.cpus': '\n', 'cpuset.mems': '\n' },
  memory: {
    'memory.limit_in_bytes': UNLIMITED, 'memory.soft_limit_in_bytes': UNLIMITED, 'memory.memsw.limit_in_bytes': UNLIMITED,
    'memory.usage_in_bytes': '0', 'memory.max_usage_in_bytes': '0', 'memory.failcnt': '0', 'memory.swappiness': '60',
    'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n', 'memory.stat': 'cache 0\nrss 0\n', 'memory.use_hierarchy': '1',
    'memory.kmem.tcp.limit_in_bytes': UNLIMITED,
  },
  devices: { 'devices.allow': '', 'devices.deny': '', 'devices.list': 'a *:* rwm\n' },
  freezer: { 'freezer.state': 'THAWED\n' },
  pids: { 'pids.max': 'max\n', 'pids.current': '0\n' },
  blkio: {
    'blkio.weight': '500', 'blkio.weight_device': '', 'blkio.throttle.read_bps_device': '', 'blkio.throttle.write_bps_device': '',
    'blkio.throttle.read_iops_device': '', 'blkio.throttle.write_iops_device': '', 'blkio.throttle.io_service_bytes_recursive': 'Total 0\n',
    'blkio.throttle.io_serviced_recursive': 'Total 0\n',
  },
  hugetlb: { 'hugetlb.2MB.limit_in_bytes': UNLIMITED, 'hugetlb.2MB.usage_in_bytes': '0', 'hugetlb.2MB.max_usage_in_bytes': '0', 'hugetlb.2MB.failcnt': '0' },
};

export interface FakeV1Tree {
  fs: FakeCgroupFs;
  mountinfo: string;
  /** Mount point per hierarchy name given. */
  mounts: Record<string, string>;
}

export interface FakeTreeOptions {
  /** Files a host may lack ("memory.memsw.limit_in_bytes" without swap accounting). */
  drop?: string[];
  /** Extra files every cgroup gets ("blkio.bfq.weight" on a BFQ host). */
  add?: Record<string, string>;
  hooks?: FakeHooks;
}

/**
 * Fake v1 hierarchies under `base`: `hierarchies` maps a mount name to its controllers
 * ({ "cpu,cpuacct": ["cpu", "cpuacct"], systemd: ["name=systemd"] }).
 */
export function fakeV1Tree(base: string, hierarchies: Record<string, string[]>, opts: FakeTreeOptions = {}): FakeV1Tree {
  const mounts: Record<string, string> = {};
  const filesFor = (controllers: string[]): Record<string, string> => {
    const files: Record<string, string> = { ...V1_FILES[''] };
    for (const c of controllers) Object.assign(files, V1_FILES[c] ?? {});
    for (const d of opts.drop ?? []) delete files[d];
    return { ...files, ...opts.add };
  };
  const lines: string[] = [`30 1 0:26 / ${base} rw,relatime - tmpfs tmpfs rw,mode=755`];
  let id = 31;
  for (const [name, controllers] of Object.entries(hierarchies)) {
    const mp = posix.join(base, name);
    mounts[name] = mp;
    mkdirSync(mp, { recursive: true });
    const files = filesFor(controllers);
    // The root cgroup has no freezer.state, pids.max or pids.current; cpuset's is full.
    for (const f of ['freezer.state', 'pids.max', 'pids.current']) delete files[f];
    if (controllers.includes('cpuset')) Object.assign(files, { 'cpuset.cpus': '0-3\n', 'cpuset.mems': '0\n' });
    for (const [f, text] of Object.entries(files)) writeFileSync(posix.join(mp, f), text);
    lines.push(`${id} 30 0:${id} / ${mp} rw,nosuid,nodev,noexec,relatime shared:${id} - cgroup cgroup rw,${controllers.join(',')}`);
    id++;
  }
  const owner = (dir: string): string[] => {
    const hit = Object.entries(mounts).find(([, mp]) => dir.startsWith(mp + '/'));
    return hit ? hierarchies[hit[0]]! : [];
  };
  return { fs: new FakeCgroupFs((dir) => filesFor(owner(dir)), opts.hooks), mountinfo: lines.join('\n') + '\n', mounts };
}

// Interface files per v2 controller, as a new cgroup shows them once the controller is enabled.
export const V2_FILES: Record<string, Record<string, string>> = {
  '': { 'cgroup.procs': '', 'cgroup.subtree_control': '', 'cgroup.events': 'populated 0\nfrozen 0\n', 'cgroup.freeze': '0', 'cgroup.type': 'domain', 'cgroup.max.depth': 'max', 'cpu.stat': 'usage_usec 0\nuser_usec 0\nsystem_usec 0\n' },
  cpu: { 'cpu.weight': '100', 'cpu.max': 'max 100000', 'cpu.max.burst': '0', 'cpu.idle': '0' },
  cpuset: { 'cpuset.cpus': '', 'cpuset.mems': '', 'cpuset.cpus.effective': '0-3', 'cpuset.mems.effective': '0' },
  memory: {
    'memory.max': 'max', 'memory.low': '0', 'memory.high': 'max', 'memory.swap.max': 'max', 'memory.current': '0', 'memory.swap.current': '0',
    'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n', 'memory.stat': 'anon 0\nfile 0\n', 'memory.peak': '0',
  },
  pids: { 'pids.max': 'max', 'pids.current': '0' },
  io: { 'io.max': '', 'io.weight': 'default 100', 'io.stat': '' },
  hugetlb: { 'hugetlb.2MB.max': 'max', 'hugetlb.2MB.current': '0', 'hugetlb.2MB.events': 'max 0\n' },
};

/** A fake v2 hierarchy at `root` whose root cgroup offers `controllers`. */
export function fakeV2Tree(root: string, controllers: string[], opts: FakeTreeOptions = {}): FakeCgroupFs {
  mkdirSync(root, { recursive: true });
  writeFileSync(posix.join(root, 'cgroup.controllers'), controllers.join(' ') + '\n');
  writeFileSync(posix.join(root, 'cgroup.subtree_control'), '\n');
  writeFileSync(posix.join(root, 'cgroup.procs'), '1\n');
  return new FakeCgroupFs((dir) => {
    // A new cgroup gets the controllers its parent enabled for its children.
    const enabled = words(readFileSyncSafe(posix.join(posix.dirname(dir), 'cgroup.subtree_control')));
    const files: Record<string, string> = { ...V2_FILES[''], 'cgroup.controllers': enabled.join(' ') + '\n' };
    for (const c of enabled) Object.assign(files, V2_FILES[c] ?? {});
    for (const d of opts.drop ?? []) delete files[d];
    return { ...files, ...opts.add };
  }, opts.hooks);
}

function readFileSyncSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
