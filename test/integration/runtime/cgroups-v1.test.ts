// The cgroupfs driver against the real kernel, as root: limits land in the kernel's files, a
// process joins through procsFiles(), stats and the freezer see it, and destroy() leaves no
// directory behind, also when an assertion fails half-way. v1 runs where /sys/fs/cgroup is v1
// (or hybrid); the v2 part runs wherever a cgroup2 hierarchy is mounted (pure v2, or hybrid's
// /sys/fs/cgroup/unified) and offers at least one controller.
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { BerthError } from '../../../src/common/errors.js';
import { openCgroupManager, type CgroupManager } from '../../../src/runtime/cgroups/manager.js';
import { parseMountinfo } from '../../../src/runtime/cgroups/detect.js';

const Mi = 1 << 20;
const isRoot = process.getuid?.() === 0;
const mounts = parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
const v1Host = !existsSync('/sys/fs/cgroup/cgroup.controllers') && mounts.some((m) => m.fstype === 'cgroup');
const v2Mount = mounts.find((m) => m.fstype === 'cgroup2');
const v2Controllers = v2Mount ? readFileSync(join(v2Mount.mountpoint, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean) : [];

const uniquePath = () => `/berth-test-${randomBytes(6).toString('hex')}`;
const read = (path: string) => readFileSync(path, 'utf8').trim();

/** `sh` waits for a line on stdin, then execs sleep: memory it touches after joining is charged to the new cgroup. */
function spawnSleeper(): ChildProcess {
  return spawn('sh', ['-c', 'read line; exec sleep 5'], { stdio: ['pipe', 'ignore', 'ignore'] });
}

async function waitFor(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const comm = (pid: number) => {
  try {
    return read(`/proc/${pid}/comm`);
  } catch {
    return '';
  }
};

/** Kill the child (thawing first: a v1-frozen task ignores even SIGKILL) and wait for its exit. */
async function stop(m: CgroupManager | undefined, child: ChildProcess | undefined): Promise<void> {
  if (m) await m.thaw().catch(() => undefined);
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}

/** Last resort if destroy() itself failed: remove whatever directory is left. */
function removeLeftovers(m: CgroupManager | undefined): void {
  for (const dir of Object.values(m?.paths() ?? {})) {
    try {
      rmdirSync(dir);
    } catch {
      // Gone already, or still busy: nothing more to do from here.
    }
  }
}

describe('cgroup v1 on the real kernel', { skip: !isRoot ? 'needs root' : !v1Host ? 'this host does not run cgroup v1' : false }, () => {
  const managers: CgroupManager[] = [];
  const children: ChildProcess[] = [];
  after(async () => {
    for (const [i, m] of managers.entries()) {
      await stop(m, children[i]);
      await m.destroy().catch(() => undefined);
      removeLeftovers(m);
    }
  });

  it('limits memory, pids and cpu, tracks a joined process, freezes it, and removes every directory', { timeout: 30_000 }, async () => {
    const m = openCgroupManager({ id: 'berth-test', cgroupsPath: uniquePath() });
    managers.push(m);
    assert.equal(m.version, 1);
    await m.create({ memory: { limit: 64 * Mi }, pids: { limit: 32 }, cpu: { shares: 512 } });
    const paths = m.paths();
    assert.equal(read(join(paths.memory!, 'memory.limit_in_bytes')), String(64 * Mi));
    assert.equal(read(join(paths.pids!, 'pids.max')), '32');
    assert.equal(read(join(paths.cpu!, 'cpu.shares')), '512');
    if (paths.cpuset) assert.notEqual(read(join(paths.cpuset, 'cpuset.cpus')), '', 'cpuset.cpus was inherited');

    const child = spawnSleeper();
    children.push(child);
    const pid = child.pid!;
    for (const file of m.procsFiles()) writeFileSync(file, String(pid));
    child.stdin!.end('go\n');
    await waitFor(() => comm(pid) === 'sleep', 'the child to exec sleep');

    assert.ok((await m.pids()).includes(pid), 'pids() lists the child');
    const stats = await m.stats();
    assert.ok(stats.memory.usage.usage > 0, `memory usage ${stats.memory.usage.usage}`);
    assert.equal(stats.memory.usage.limit, 64 * Mi);
    assert.ok(stats.pids.current >= 1, `pids current ${stats.pids.current}`);
    assert.equal(stats.pids.limit, 32);
    assert.equal(await m.oomKillCount(), 0);

    if (paths.freezer) {
      await m.freeze();
      assert.equal(read(join(paths.freezer, 'freezer.state')), 'FROZEN');
      assert.equal(await m.isFrozen(), true);
      await m.thaw();
      assert.equal(await m.isFrozen(), false);
      assert.match(read(`/proc/${pid}/status`), /^State:\s+S/m, 'sleeping again after thaw');
    }

    await m.update({ pids: { limit: 64 }, memory: { limit: 128 * Mi } });
    assert.equal(read(join(paths.pids!, 'pids.max')), '64');
    assert.equal(read(join(paths.memory!, 'memory.limit_in_bytes')), String(128 * Mi));

    await stop(m, child);
    await m.destroy();
    for (const dir of Object.values(paths)) assert.equal(existsSync(dir), false, `${dir} is gone`);
    await m.destroy();
  });

  it('rolls back when the kernel refuses a value, leaving no directory', { timeout: 30_000 }, async () => {
    const m = openCgroupManager({ id: 'berth-test', cgroupsPath: uniquePath() });
    managers.push(m);
    if (!m.paths().cpuset) return;
    await assert.rejects(m.create({ pids: { limit: 8 }, cpu: { cpus: '100000' } }), (e: unknown) => {
      assert.ok(e instanceof BerthError, String(e));
      assert.match(e.message, /^linux\.resources\.cpu\.cpus: /);
      return true;
    });
    for (const dir of Object.values(m.paths())) assert.equal(existsSync(dir), false, `${dir} was rolled back`);
  });
});

const v2Skip = !isRoot ? 'needs root' : !v2Mount ? 'no cgroup2 hierarchy is mounted' : v2Controllers.length === 0 ? `the cgroup2 hierarchy at ${v2Mount.mountpoint} offers no controllers` : false;

describe('cgroup v2 on the real kernel', { skip: v2Skip }, () => {
  const root = v2Mount?.mountpoint ?? '/sys/fs/cgroup';
  const before = v2Mount ? read(join(root, 'cgroup.subtree_control')) : '';
  let m: CgroupManager | undefined;
  let child: ChildProcess | undefined;
  after(async () => {
    await stop(m, child);
    await m?.destroy().catch(() => undefined);
    removeLeftovers(m);
    // Give back the root's subtree_control as found, where nothing else took the controllers up since.
    const added = read(join(root, 'cgroup.subtree_control')).split(/\s+/).filter((c) => c && !before.split(/\s+/).includes(c));
    for (const c of added) {
      try {
        writeFileSync(join(root, 'cgroup.subtree_control'), `-${c}`);
      } catch {
        // In use below the root by someone else: leave it.
      }
    }
  });

  it('creates, joins, freezes, reads stats and removes', { timeout: 30_000 }, async () => {
    m = openCgroupManager({ id: 'berth-test', cgroupsPath: uniquePath(), root });
    assert.equal(m.version, 2);
    const has = (c: string) => v2Controllers.includes(c);
    await m.create({
      ...(has('pids') ? { pids: { limit: 32 } } : {}),
      ...(has('memory') ? { memory: { limit: 64 * Mi } } : {}),
      ...(has('hugetlb') && existsSync('/sys/kernel/mm/hugepages/hugepages-2048kB') ? { hugepageLimits: [{ pageSize: '2MB', limit: 0 }] } : {}),
    });
    const dir = m.paths()['']!;
    if (has('pids')) assert.equal(read(join(dir, 'pids.max')), '32');

    child = spawnSleeper();
    const pid = child.pid!;
    writeFileSync(m.procsFiles()[0]!, String(pid));
    child.stdin!.end('go\n');
    await waitFor(() => comm(pid) === 'sleep', 'the child to exec sleep');
    assert.deepEqual(await m.pids(), [pid]);
    const stats = await m.stats();
    if (has('pids')) assert.ok(stats.pids.current >= 1);
    if (has('memory')) assert.ok(stats.memory.usage.usage > 0);

    if (existsSync(join(dir, 'cgroup.freeze'))) {
      await m.freeze();
      assert.match(read(join(dir, 'cgroup.events')), /^frozen 1$/m);
      assert.equal(await m.isFrozen(), true);
      await m.thaw();
      assert.equal(await m.isFrozen(), false);
    }

    await stop(m, child);
    await m.destroy();
    assert.equal(existsSync(dir), false);
  });
});
