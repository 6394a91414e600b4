// cgroup v1: the container gets one directory in every mounted hierarchy (also name=systemd,
// which only tracks processes), and each limit goes to the hierarchy of its controller.
import { posix } from 'node:path';
import { BerthError, invalid, precondition } from '../../common/errors.js';
import type { Resources } from '../spec/types.js';
import type { CgroupFs } from './host.js';
import { readOptional } from './host.js';
import type { CgroupManager } from './manager.js';
import { applyResolved, requireControllers, resolveOps } from './ops.js';
import { parseKeyValues, parseNumber } from './parse.js';
import { planV1 } from './plan-v1.js';
import type { CgroupStats } from './stats.js';
import { statsV1 } from './stats-v1.js';
import { makeDir, removeTree, treePids, waitUntil } from './tree.js';

export interface V1Mount {
  /** The controllers of the hierarchy, e.g. ["cpu", "cpuacct"] or ["name=systemd"]. */
  controllers: string[];
  /** The container's directory in it. */
  dir: string;
  /** Where the hierarchy is mounted; unknown for a manager reopened from saved paths. */
  mountpoint?: string;
}

const FREEZE_TIMEOUT_MS = 5000;

export class V1Manager implements CgroupManager {
  readonly version = 1 as const;

  constructor(private readonly fs: CgroupFs, private readonly mounts: V1Mount[]) {}

  private dirOf(controller: string): string | undefined {
    return this.mounts.find((m) => m.controllers.includes(controller))?.dir;
  }

  async create(resources: Resources | undefined): Promise<void> {
    if (this.mounts.some((m) => m.mountpoint === undefined)) {
      throw precondition('this cgroup manager was reopened from saved paths: it can update, stop and remove the cgroup, not create it');
    }
    const ops = planV1(resources ?? {});
    requireControllers(ops, (c) => this.dirOf(c) !== undefined, 'mounted (cgroup v1)');
    const created: string[] = [];
    try {
      for (const m of this.mounts) await this.makeDirs(m, created);
      await applyResolved(this.fs, await resolveOps(this.fs, ops, (c) => this.dirOf(c)!));
    } catch (err) {
      for (const dir of created.reverse()) await this.fs.rmdir(dir).catch(() => undefined);
      throw err;
    }
  }

  /** mkdir -p below the mount point, recording what it made; cpuset levels get their cpus/mems. */
  private async makeDirs(m: V1Mount, created: string[]): Promise<void> {
    const rel = posix.relative(m.mountpoint!, m.dir);
    if (rel === '' || rel.startsWith('..')) throw invalid(`linux.cgroupsPath: ${m.dir} is not below the ${m.controllers.join(',')} hierarchy at ${m.mountpoint}`);
    let dir = m.mountpoint!;
    for (const part of rel.split('/')) {
      const parent = dir;
      dir = posix.join(dir, part);
      if (await makeDir(this.fs, dir)) created.push(dir);
      if (m.controllers.includes('cpuset')) await this.inheritCpuset(parent, dir);
    }
  }

  /**
   * A new v1 cpuset cgroup starts with empty cpus and mems, and no process can join it until
   * both are set: copy the parent's down, level by level, as runc does.
   */
  private async inheritCpuset(parent: string, dir: string): Promise<void> {
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      const mine = await readOptional(this.fs, posix.join(dir, file));
      if (mine !== '') continue;
      const theirs = await readOptional(this.fs, posix.join(parent, file));
      if (theirs) await this.fs.write(posix.join(dir, file), theirs);
    }
  }

  procsFiles(): string[] {
    return this.mounts.map((m) => posix.join(m.dir, 'cgroup.procs'));
  }

  async update(resources: Resources): Promise<void> {
    const mem = resources.memory;
    const memDir = this.dirOf('memory');
    let memoryLimit: number | undefined;
    if (mem && memDir !== undefined && (mem.limit ?? 0) !== 0) {
      memoryLimit = parseNumber(await readOptional(this.fs, posix.join(memDir, 'memory.limit_in_bytes')));
      if (mem.checkBeforeUpdate && mem.limit! > 0) {
        const usage = parseNumber(await readOptional(this.fs, posix.join(memDir, 'memory.usage_in_bytes')));
        if (mem.limit! < usage) throw invalid(`linux.resources.memory.limit: ${mem.limit} is below the container's current usage of ${usage} bytes`);
      }
    }
    const ops = planV1(resources, { memoryLimit });
    requireControllers(ops, (c) => this.dirOf(c) !== undefined, 'mounted (cgroup v1)');
    await applyResolved(this.fs, await resolveOps(this.fs, ops, (c) => this.dirOf(c)!));
  }

  private freezerState(): Promise<string | undefined> {
    const dir = this.dirOf('freezer');
    return dir === undefined ? Promise.resolve(undefined) : readOptional(this.fs, posix.join(dir, 'freezer.state'));
  }

  private freezerFile(): string {
    const dir = this.dirOf('freezer');
    if (dir === undefined) throw precondition('cannot freeze: the freezer cgroup v1 controller is not mounted on this host');
    return posix.join(dir, 'freezer.state');
  }

  async freeze(): Promise<void> {
    const file = this.freezerFile();
    await this.fs.write(file, 'FROZEN');
    // The state reads FREEZING until every task stopped; a task caught in a fork or vfork can
    // keep it there, so the request is repeated while waiting.
    const frozen = await waitUntil(async () => {
      const state = await this.freezerState();
      if (state === 'FROZEN') return true;
      await this.fs.write(file, 'FROZEN');
      return false;
    }, FREEZE_TIMEOUT_MS);
    if (!frozen) {
      await this.fs.write(file, 'THAWED').catch(() => undefined);
      throw new BerthError('UNAVAILABLE', `the processes of cgroup ${posix.dirname(file)} did not freeze within ${FREEZE_TIMEOUT_MS / 1000}s; they were thawed again, retry later`);
    }
  }

  async thaw(): Promise<void> {
    await this.fs.write(this.freezerFile(), 'THAWED');
    await waitUntil(async () => (await this.freezerState()) === 'THAWED', 1000);
  }

  async isFrozen(): Promise<boolean> {
    return (await this.freezerState()) === 'FROZEN';
  }

  async pids(): Promise<number[]> {
    // Every process joins every hierarchy; prefer one nobody nests further below the container.
    const dir = this.dirOf('freezer') ?? this.dirOf('devices') ?? this.dirOf('pids') ?? this.mounts[0]?.dir;
    return dir === undefined ? [] : treePids(this.fs, dir);
  }

  stats(): Promise<CgroupStats> {
    return statsV1(this.fs, (c) => this.dirOf(c));
  }

  async oomKillCount(): Promise<number> {
    const dir = this.dirOf('memory');
    if (dir === undefined) return 0;
    const oom = parseKeyValues(await readOptional(this.fs, posix.join(dir, 'memory.oom_control')));
    // oom_kill exists since Linux 4.13; before that, only "is it under OOM now" is known.
    return oom.oom_kill ?? (oom.under_oom ? 1 : 0);
  }

  async destroy(): Promise<void> {
    let first: unknown;
    for (const m of this.mounts) {
      await removeTree(this.fs, m.dir).catch((err: unknown) => {
        first ??= err;
      });
    }
    if (first !== undefined) throw first;
  }

  paths(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const m of this.mounts) for (const c of m.controllers) out[c] = m.dir;
    return out;
  }
}
