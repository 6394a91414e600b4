// The supervisor's record of each task, one directory per task under <exec-root>/tasks/<ns>/<id>:
// task.json (replaced atomically; run-time state, so not flushed to disk), the shim's socket and exit file, the pid file, exec sessions.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errnoOf, exists, invalid, notFound } from '../../common/errors.js';
import type { ExitStatus } from './shim-client.js';
import { writeFileReplacing } from '../../sys/fs-atomic.js';

/** containerd's stdio FIFO paths, as the create (or exec) request named them. */
export interface StdioPaths {
  stdin?: string;
  stdout?: string;
  stderr?: string;
}

export interface ExecRecord {
  pid: number;
  shimPid: number;
  terminal: boolean;
  stdio?: StdioPaths;
  exit?: ExitStatus;
}

export interface TaskRecord {
  namespace: string;
  id: string;
  bundle: string;
  runtime: string;
  pid: number;
  shimPid: number;
  terminal: boolean;
  stdin: boolean;
  stdio?: StdioPaths;
  logPath?: string;
  createdAt: string;
  started: boolean;
  paused?: boolean;
  exit?: ExitStatus;
  /** Why the task ended when the container's own status is not the whole story (shim gone). */
  exitReason?: string;
  execs: Record<string, ExecRecord>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/;

export class TaskStore {
  constructor(readonly root: string) {}

  dir(ns: string, id: string): string {
    return join(this.root, ns, id);
  }

  execDir(ns: string, id: string, execId: string): string {
    return join(this.dir(ns, id), `exec-${execId}`);
  }

  /** Makes the task's directory; fails if the task exists. */
  /**
   * Makes the task's directory, naming the runtime in it first: a supervisor killed before the
   * record is written still knows, at its restart, which runtime to clean up after.
   */
  reserve(ns: string, id: string, runtime: string): string {
    for (const [what, v] of [['namespace', ns], ['task id', id]]) if (!NAME.test(v!)) throw invalid(`invalid ${what} "${v}"`);
    mkdirSync(join(this.root, ns), { recursive: true, mode: 0o711 });
    try {
      mkdirSync(this.dir(ns, id), { mode: 0o700 });
    } catch (err) {
      if (errnoOf(err) === 'EEXIST') throw exists(`task ${id} already exists in namespace ${ns}`);
      throw err;
    }
    writeFileSync(join(this.dir(ns, id), 'runtime'), runtime);
    return this.dir(ns, id);
  }

  /** The runtime a reserved task directory names (undefined for one made before this file existed). */
  reservedRuntime(ns: string, id: string): string | undefined {
    try {
      return readFileSync(join(this.dir(ns, id), 'runtime'), 'utf8');
    } catch {
      return undefined;
    }
  }

  save(rec: TaskRecord): void {
    // Run-time state: replaced atomically, not flushed to disk (see fs-atomic.ts).
    writeFileReplacing(join(this.dir(rec.namespace, rec.id), 'task.json'), JSON.stringify(rec), 0o600);
  }

  load(ns: string, id: string): TaskRecord {
    try {
      const rec = JSON.parse(readFileSync(join(this.dir(ns, id), 'task.json'), 'utf8')) as TaskRecord;
      if (rec.exit) rec.exit.exitedAt = new Date(rec.exit.exitedAt);
      for (const e of Object.values(rec.execs)) if (e.exit) e.exit.exitedAt = new Date(e.exit.exitedAt);
      return rec;
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') throw notFound(`task ${id} not found in namespace ${ns}`);
      throw err;
    }
  }

  /** Every task directory, as [namespace, id]. */
  list(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const ns of safeReaddir(this.root)) for (const id of safeReaddir(join(this.root, ns))) out.push([ns, id]);
    return out;
  }

  remove(ns: string, id: string): void {
    rmSync(this.dir(ns, id), { recursive: true, force: true });
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => NAME.test(n));
  } catch {
    return [];
  }
}
