// The cgroupfs driver: one CgroupManager per container, for cgroup v1 (a directory in each
// mounted hierarchy) or v2 (one directory in the unified hierarchy). On a hybrid host (v1
// hierarchies plus a cgroup2 mount beside them at /sys/fs/cgroup/unified) v1 is used.
import { readFileSync } from 'node:fs';
import type { Resources } from '../spec/types.js';
import { detectVersion, parseMountinfo, parseProcCgroup, v1Hierarchies } from './detect.js';
import type { CgroupFs } from './host.js';
import { nodeCgroupFs } from './host.js';
import { innerPath, v1Dir, v2Dir } from './paths.js';
import type { CgroupStats } from './stats.js';
import { V1Manager } from './v1.js';
import { V2Manager } from './v2.js';

export type { CgroupStats } from './stats.js';
export type { CgroupFs } from './host.js';

export interface CgroupManager {
  readonly version: 1 | 2;
  /**
   * Creates the container's cgroup directories and applies `resources`. Throws
   * invalid('linux.resources.<field>: ...') naming the field when the host lacks the controller
   * or file it needs; leaves nothing behind on failure.
   */
  create(resources: Resources | undefined): Promise<void>;
  /** The cgroup.procs files a process must write its pid into to join (one per v1 hierarchy, one for v2). */
  procsFiles(): string[];
  /** Live update (like runc update): applies only the fields present. */
  update(resources: Resources): Promise<void>;
  /** Freezes every process and waits until the kernel reports the cgroup frozen. */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  isFrozen(): Promise<boolean>;
  /** Every pid in the container cgroup and its descendants. */
  pids(): Promise<number[]>;
  /** Usage in the shape of runc's `events --stats` data (see stats.ts). */
  stats(): Promise<CgroupStats>;
  /** How many processes the OOM killer killed in the cgroup (v1 without oom_kill: 1 while under OOM). */
  oomKillCount(): Promise<number>;
  /** Removes the directories (retrying briefly while processes exit); idempotent; already-gone dirs are fine. */
  destroy(): Promise<void>;
  /**
   * Absolute directory per controller (v1: "memory", "cpu", "name=systemd", ...; v2: the ""
   * key), to store in the container state and reopen with openCgroupManager({ id, paths }).
   */
  paths(): Record<string, string>;
}

export interface CgroupOptions {
  /**
   * The spec's linux.cgroupsPath: absolute = from each hierarchy's root; relative = below the
   * calling process's own cgroup (v1) or below its parent (v2), as runc places it; empty or
   * absent = the container id, relative.
   */
  cgroupsPath?: string;
  /** The container id. */
  id: string;
  /** cgroupfs root; default /sys/fs/cgroup (tests pass a fake tree). */
  root?: string;
  /** Text of /proc/self/mountinfo; default the real file. */
  mountinfo?: string;
  /** Text of /proc/self/cgroup (for relative paths); default the real file. */
  procSelfCgroup?: string;
  /** Reopen an existing container's cgroups from the paths() saved earlier (create() is then refused). */
  paths?: Record<string, string>;
  /** File access; default node:fs. Tests pass a fake kernel (fake-host.ts). */
  fs?: CgroupFs;
}

export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup';

export function openCgroupManager(opts: CgroupOptions): CgroupManager {
  const fs = opts.fs ?? nodeCgroupFs;
  const root = opts.root ?? DEFAULT_CGROUP_ROOT;
  if (opts.paths) return reopen(fs, opts.paths);
  const mounts = parseMountinfo(opts.mountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8'));
  const own = parseProcCgroup(opts.procSelfCgroup ?? readFileSync('/proc/self/cgroup', 'utf8'));
  const inner = innerPath(opts.cgroupsPath, opts.id);
  if (detectVersion(root, mounts) === 2) {
    const mountRoot = mounts.find((m) => m.fstype === 'cgroup2' && m.mountpoint === root)?.root ?? '/';
    return new V2Manager(fs, v2Dir(root, mountRoot, inner, own), root);
  }
  return new V1Manager(fs, v1Hierarchies(mounts, root).map((h) => ({ controllers: h.controllers, mountpoint: h.mountpoint, dir: v1Dir(h, inner, own) })));
}

function reopen(fs: CgroupFs, paths: Record<string, string>): CgroupManager {
  const unified = paths[''];
  if (unified !== undefined) return new V2Manager(fs, unified, undefined);
  // v1: the controllers sharing a directory share a hierarchy ("cpu" and "cpuacct" when combined).
  const byDir = new Map<string, string[]>();
  for (const [controller, dir] of Object.entries(paths)) byDir.set(dir, [...(byDir.get(dir) ?? []), controller]);
  return new V1Manager(fs, [...byDir].map(([dir, controllers]) => ({ controllers, dir })));
}
