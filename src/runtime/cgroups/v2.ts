// cgroup v2: one directory in the unified hierarchy. A controller's files only appear in a
// cgroup once every ancestor lists it in cgroup.subtree_control, so create() enables them on
// the way down. Device rules are not applied here (see v2DeviceRulesUnsupported in devices.ts).
import { posix } from 'node:path';
import { BerthError, errnoOf, invalid, precondition } from '../../common/errors.js';
import type { Resources } from '../spec/types.js';
import type { CgroupFs } from './host.js';
import { readOptional } from './host.js';
import type { CgroupManager } from './manager.js';
import { applyResolved, requireControllers, resolveOps } from './ops.js';
import { parseKeyValues, parseNumber } from './parse.js';
import { planV2 } from './plan-v2.js';
import type { CgroupStats } from './stats.js';
import { statsV2 } from './stats-v2.js';
import { makeDir, removeTree, treePids, waitUntil } from './tree.js';

const FREEZE_TIMEOUT_MS = 5000;

const words = (text: string | undefined): Set<string> => new Set((text ?? '').split(/\s+/).filter((w) => w !== '').map((w) => w.replace(/^[+-]/, '')));

export class V2Manager implements CgroupManager {
  readonly version = 2 as const;

  /** `root` is the hierarchy's mount point; undefined for a manager reopened from saved paths. */
  constructor(private readonly fs: CgroupFs, private readonly dir: string, private readonly root: string | undefined) {}

  private file(name: string): string {
    return posix.join(this.dir, name);
  }

  async create(resources: Resources | undefined): Promise<void> {
    const root = this.root;
    if (root === undefined) {
      throw precondition('this cgroup manager was reopened from saved paths: it can update, stop and remove the cgroup, not create it');
    }
    const rel = posix.relative(root, this.dir);
    if (rel === '' || rel.startsWith('..')) throw invalid(`linux.cgroupsPath: ${this.dir} is not below the cgroup v2 root ${root}`);
    const parts = rel.split('/');
    const ops = planV2(resources ?? {});

    // What the deepest existing ancestor can hand down bounds what the new cgroup can get.
    let deepest = root;
    for (let i = 1; i <= parts.length; i++) {
      const dir = posix.join(root, ...parts.slice(0, i));
      if (!(await this.fs.exists(dir))) break;
      deepest = dir;
    }
    const available = words(await readOptional(this.fs, posix.join(deepest, 'cgroup.controllers')));
    requireControllers(ops, (c) => available.has(c), `available to ${deepest} (cgroup v2: see its cgroup.controllers)`);
    const needed = new Set(ops.map((o) => o.controller).filter((c) => c !== ''));

    const created: string[] = [];
    try {
      let dir = root;
      for (const part of parts) {
        await this.enableControllers(dir, needed);
        dir = posix.join(dir, part);
        if (await makeDir(this.fs, dir)) created.push(dir);
      }
      await applyResolved(this.fs, await resolveOps(this.fs, ops, () => this.dir));
    } catch (err) {
      for (const d of created.reverse()) await this.fs.rmdir(d).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Enables in `dir`'s cgroup.subtree_control every controller it has (as runc does, so that
   * stats and later updates find their files). Only the `needed` ones must succeed: a cgroup
   * with processes of its own, for one, cannot enable controllers for its children.
   */
  private async enableControllers(dir: string, needed: Set<string>): Promise<void> {
    const file = posix.join(dir, 'cgroup.subtree_control');
    const have = words(await readOptional(this.fs, file));
    const want = [...words(await readOptional(this.fs, posix.join(dir, 'cgroup.controllers')))].filter((c) => !have.has(c));
    if (want.length === 0) return;
    try {
      await this.fs.write(file, want.map((c) => `+${c}`).join(' '));
      return;
    } catch {
      // One refused controller fails the whole write: retry them one by one.
    }
    for (const c of want) {
      try {
        await this.fs.write(file, `+${c}`);
      } catch (err) {
        if (!needed.has(c)) continue;
        const code = errnoOf(err) ?? String(err);
        const why = code === 'EBUSY' ? ': the cgroup holds processes itself; use a cgroupsPath whose parent holds none' : '';
        throw precondition(`cannot enable the ${c} controller in ${file} (${code})${why}`);
      }
    }
  }

  procsFiles(): string[] {
    return [this.file('cgroup.procs')];
  }

  async update(resources: Resources): Promise<void> {
    const mem = resources.memory;
    if (mem?.checkBeforeUpdate && (mem.limit ?? 0) > 0) {
      const usage = parseNumber(await readOptional(this.fs, this.file('memory.current')));
      if (mem.limit! < usage) throw invalid(`linux.resources.memory.limit: ${mem.limit} is below the container's current usage of ${usage} bytes`);
    }
    const cpuMax = resources.cpu && (resources.cpu.quota || resources.cpu.period) ? await readOptional(this.fs, this.file('cpu.max')) : undefined;
    const ops = planV2(resources, { cpuMax });
    const available = words(await readOptional(this.fs, this.file('cgroup.controllers')));
    requireControllers(ops, (c) => available.has(c), `enabled for ${this.dir} (cgroup v2: see its cgroup.controllers)`);
    await applyResolved(this.fs, await resolveOps(this.fs, ops, () => this.dir));
  }

  private async frozen(): Promise<boolean> {
    return parseKeyValues(await readOptional(this.fs, this.file('cgroup.events'))).frozen === 1;
  }

  private async requireFreezer(): Promise<void> {
    if (!(await this.fs.exists(this.file('cgroup.freeze')))) {
      throw precondition(`cannot freeze: ${this.dir} has no cgroup.freeze (the cgroup v2 freezer needs Linux 5.2 or later)`);
    }
  }

  async freeze(): Promise<void> {
    await this.requireFreezer();
    await this.fs.write(this.file('cgroup.freeze'), '1');
    if (!(await waitUntil(() => this.frozen(), FREEZE_TIMEOUT_MS))) {
      await this.fs.write(this.file('cgroup.freeze'), '0').catch(() => undefined);
      throw new BerthError('UNAVAILABLE', `the processes of cgroup ${this.dir} did not freeze within ${FREEZE_TIMEOUT_MS / 1000}s; they were thawed again, retry later`);
    }
  }

  async thaw(): Promise<void> {
    await this.requireFreezer();
    await this.fs.write(this.file('cgroup.freeze'), '0');
    await waitUntil(async () => !(await this.frozen()), 1000);
  }

  isFrozen(): Promise<boolean> {
    return this.frozen();
  }

  pids(): Promise<number[]> {
    return treePids(this.fs, this.dir);
  }

  stats(): Promise<CgroupStats> {
    return statsV2(this.fs, this.dir);
  }

  async oomKillCount(): Promise<number> {
    return parseKeyValues(await readOptional(this.fs, this.file('memory.events'))).oom_kill ?? 0;
  }

  destroy(): Promise<void> {
    return removeTree(this.fs, this.dir);
  }

  paths(): Record<string, string> {
    return { '': this.dir };
  }
}
