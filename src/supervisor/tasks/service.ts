// The task service: containerd's tasks on berth. Each task runs under its own berth-shim, so tasks
// outlive the process hosting this service; `restore()` re-adopts them when it starts again.
import { EventEmitter } from 'node:events';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError, notFound, precondition } from '../../common/errors.js';
import { isSameProcessAlive, procStat } from '../../sys/proc.js';
import type { Process, Resources } from '../../runtime/spec/types.js';
import { BerthDriver } from './berth-driver.js';
import type { RuntimeDriver } from './driver.js';
import { OciCliDriver } from './oci-cli-driver.js';
import { findRuntimeBinary } from './runtime-binary.js';
import { TIMED_OUT, within } from '../../common/deadline.js';
import { type ExitStatus, readExitFile, ShimClient } from './shim-client.js';
import type { ShimLogOptions, ShimOptions } from './shim-process.js';
import { describeProcess, killShim, shimAnswers } from './stuck-shim.js';
import { type StdioPaths, type TaskRecord, TaskStore } from './task-store.js';

export type TaskEventType = 'created' | 'started' | 'exited' | 'oom' | 'paused' | 'resumed' | 'deleted' | 'exec-started' | 'exec-exited';

export interface TaskEvent {
  type: TaskEventType;
  namespace: string;
  id: string;
  execId?: string;
  pid?: number;
  exit?: ExitStatus;
  /** Why an exit was not the process's own (its shim died first). */
  reason?: string;
  at: Date;
}

export interface CreateTaskOptions {
  bundle: string;
  /** "berth" (default), or the name of a runtime in the service's `runtimes` (e.g. "runc"). */
  runtime?: string;
  terminal?: boolean;
  stdin?: boolean;
  stdinOnce?: boolean;
  /** The process's log: Docker's json-file (default) or, with format 'cri', the kubelet's. */
  log?: ShimLogOptions;
  /** containerd's stdio FIFOs, pumped by the shim (ctr's create request). */
  fifos?: StdioPaths;
}

export interface TaskServiceOptions {
  /** Exec root: tasks under <execRoot>/tasks, runtime state under <execRoot>/runtime/<name>. */
  execRoot: string;
  /** Other OCI runtimes by name: binary paths of runc-compatible CLIs. */
  runtimes?: Record<string, string>;
  /**
   * How long a task has to exit after SIGKILL (a forced delete's kill, or any SIGKILL of a task)
   * before its shim is probed: 10 s by default, as Docker and berth's runtime wait after SIGKILL.
   */
  killTimeoutMs?: number;
  warn?: (message: string) => void;
}

const DEFAULT_KILL_TIMEOUT_MS = 10_000;

/** How long a killed shim has to be seen gone (its wait connection closing). */
const SHIM_GONE_MS = 2000;

export type TaskStatus = 'created' | 'running' | 'paused' | 'stopped';

const SIGKILL = 9;

export class TaskService extends EventEmitter {
  readonly store: TaskStore;
  private readonly drivers = new Map<string, RuntimeDriver>();
  /** Exit waits in flight, by task key: one per task, shared by every caller. */
  private readonly exits = new Map<string, Promise<ExitStatus>>();
  /** Tasks whose exit after a SIGKILL is being watched (one watch per task). */
  private readonly killWatches = new Set<string>();
  private readonly killTimeoutMs: number;

  constructor(private readonly opts: TaskServiceOptions) {
    super();
    this.store = new TaskStore(join(opts.execRoot, 'tasks'));
    this.killTimeoutMs = opts.killTimeoutMs ?? DEFAULT_KILL_TIMEOUT_MS;
  }

  /** Whether `runtime` names a runtime tasks can use: berth, a configured one, or a runtime CLI on PATH. */
  hasRuntime(runtime: string): boolean {
    return runtime === 'berth' || !!(this.opts.runtimes?.[runtime] ?? findRuntimeBinary(runtime));
  }

  private driver(runtime: string, ns: string): RuntimeDriver {
    const key = `${runtime}/${ns}`;
    let d = this.drivers.get(key);
    if (!d) {
      const root = join(this.opts.execRoot, 'runtime', runtime, ns);
      if (runtime === 'berth') d = new BerthDriver(root, this.opts.warn);
      else {
        // A configured runtime by name, else a runtime CLI on PATH (containerd's BinaryName).
        const binary = this.opts.runtimes?.[runtime] ?? findRuntimeBinary(runtime);
        if (!binary) throw new BerthError('INVALID_ARGUMENT', `unknown runtime "${runtime}": it is neither a configured runtime (berth${Object.keys(this.opts.runtimes ?? {}).map((r) => `, ${r}`).join('')}) nor an executable on PATH`);
        d = new OciCliDriver(runtime, binary, root);
      }
      this.drivers.set(key, d);
    }
    return d;
  }

  private emitEvent(e: Omit<TaskEvent, 'at'>): void {
    this.emit('event', { ...e, at: new Date() });
  }

  async create(ns: string, id: string, o: CreateTaskOptions): Promise<TaskRecord> {
    const runtime = o.runtime ?? 'berth';
    const driver = this.driver(runtime, ns);
    const dir = this.store.reserve(ns, id, runtime);
    const shim: ShimOptions = { namespace: ns, fifos: o.fifos, id, dir, pidFile: join(dir, 'pid'), log: o.log, stdin: o.stdin, stdinOnce: o.stdinOnce, terminal: o.terminal };
    try {
      const report = await driver.create(id, o.bundle, shim);
      const rec: TaskRecord = {
        namespace: ns, id, bundle: o.bundle, runtime, pid: report.pid, shimPid: report.shimPid, terminal: !!o.terminal,
        stdin: !!o.stdin, ...(o.fifos ? { stdio: o.fifos } : {}), logPath: o.log?.path, createdAt: new Date().toISOString(), started: false, execs: {},
      };
      this.store.save(rec);
      this.watchExit(rec);
      this.emitEvent({ type: 'created', namespace: ns, id, pid: rec.pid });
      return rec;
    } catch (err) {
      await driver.delete(id, true).catch(() => {});
      this.store.remove(ns, id);
      throw err;
    }
  }

  async start(ns: string, id: string): Promise<void> {
    const rec = this.store.load(ns, id);
    if (rec.started) throw precondition(`task ${id} already started`);
    await this.driver(rec.runtime, ns).start(id);
    // Reloaded: a quick process may have exited (and its exit been saved) while start ran.
    this.store.save({ ...this.store.load(ns, id), started: true });
    this.emitEvent({ type: 'started', namespace: ns, id, pid: rec.pid });
  }

  async status(ns: string, id: string): Promise<{ status: TaskStatus; pid: number; exit?: ExitStatus; exitReason?: string }> {
    const rec = this.store.load(ns, id);
    if (rec.exit) return { status: 'stopped', pid: rec.pid, exit: rec.exit, exitReason: rec.exitReason };
    if (!rec.started) return { status: 'created', pid: rec.pid };
    return { status: rec.paused ? 'paused' : 'running', pid: rec.pid };
  }

  async kill(ns: string, id: string, signal: number, opts: { all?: boolean; execId?: string } = {}): Promise<void> {
    const rec = this.store.load(ns, id);
    if (opts.execId) {
      const e = rec.execs[opts.execId];
      if (!e) throw notFound(`exec ${opts.execId} not found in task ${id}`);
      await new ShimClient(join(this.store.execDir(ns, id, opts.execId), 'shim.sock')).signal(signal);
      return;
    }
    if (rec.exit) throw precondition(`task ${id} is not running`);
    await this.driver(rec.runtime, ns).kill(id, signal, !!opts.all);
    if (signal === SIGKILL) this.watchKill(rec);
  }

  /** Waits for the task (or one of its execs) to exit. */
  wait(ns: string, id: string, execId?: string): Promise<ExitStatus> {
    const rec = this.store.load(ns, id);
    if (execId) {
      const e = rec.execs[execId];
      if (!e) throw notFound(`exec ${execId} not found in task ${id}`);
      return e.exit ? Promise.resolve(e.exit) : this.watchExecExit(rec, execId);
    }
    return rec.exit ? Promise.resolve(rec.exit) : this.watchExit(rec);
  }

  /**
   * Removes a stopped task (with force: kills it first) and returns its exit status. The kill is
   * given killTimeoutMs (plus a second to probe the shim, two to see a stuck one gone): a process
   * that does not die by then fails the delete with UNAVAILABLE and stays recorded, its exit still
   * awaited, for a later delete to finish; a shim that does not answer is killed (see stuck-shim.ts).
   */
  async delete(ns: string, id: string, force = false): Promise<ExitStatus> {
    let rec = this.store.load(ns, id);
    const driver = this.driver(rec.runtime, ns);
    if (!rec.exit && !force && rec.started) throw precondition(`task ${id} must be stopped before deletion: it is running`);
    if (!rec.exit) {
      const deadline = Date.now() + this.killTimeoutMs;
      // The kill has the same deadline: a runtime CLI that hangs on a frozen cgroup must not hold us.
      await within(driver.kill(id, SIGKILL, true).catch(() => {}), deadline - Date.now());
      const exit = await this.exitAfterKill(rec, deadline - Date.now());
      if (!exit) throw new BerthError('UNAVAILABLE', `task ${id} did not exit within ${this.killTimeoutMs / 1000}s of SIGKILL (its process ${rec.pid}: ${describeProcess(rec.pid)}; its shim answers): it stays, delete it again once it has exited`);
      rec = this.store.load(ns, id);
    }
    await driver.delete(id, true).catch((err: Error) => {
      if (!/does not exist|not found/.test(err.message)) throw err;
    });
    this.store.remove(ns, id);
    this.emitEvent({ type: 'deleted', namespace: ns, id, pid: rec.pid, exit: rec.exit });
    return rec.exit!;
  }

  async exec(ns: string, id: string, execId: string, process: Process, o: { terminal?: boolean; stdin?: boolean; holdOutputMs?: number; fifos?: StdioPaths } = {}): Promise<number> {
    const rec = this.store.load(ns, id);
    if (rec.exit) throw precondition(`task ${id} is not running`);
    if (rec.execs[execId]) throw new BerthError('ALREADY_EXISTS', `exec ${execId} already exists in task ${id}`);
    const dir = this.store.execDir(ns, id, execId);
    mkdirSync(dir, { mode: 0o700 });
    const report = await this.driver(rec.runtime, ns).exec(id, { ...process, terminal: !!o.terminal }, { namespace: ns, fifos: o.fifos, id: `${id}/${execId}`, dir, pidFile: join(dir, 'pid'), stdin: o.stdin, terminal: o.terminal, holdOutputMs: o.holdOutputMs });
    rec.execs[execId] = { pid: report.pid, shimPid: report.shimPid, terminal: !!o.terminal, ...(o.fifos ? { stdio: o.fifos } : {}) };
    this.store.save(rec);
    this.watchExecExit(rec, execId);
    this.emitEvent({ type: 'exec-started', namespace: ns, id, execId, pid: report.pid });
    return report.pid;
  }

  /** Removes an exec session that has exited (containerd's DeleteProcess). */
  deleteExec(ns: string, id: string, execId: string): ExitStatus {
    const rec = this.store.load(ns, id);
    const e = rec.execs[execId];
    if (!e) throw notFound(`exec ${execId} not found in task ${id}`);
    if (!e.exit) throw precondition(`exec ${execId} of task ${id} must be stopped before deletion: it is running`);
    delete rec.execs[execId];
    this.store.save(rec);
    rmSync(this.store.execDir(ns, id, execId), { recursive: true, force: true });
    return e.exit;
  }

  async pids(ns: string, id: string): Promise<number[]> {
    const rec = this.store.load(ns, id);
    return this.driver(rec.runtime, ns).pids(id);
  }

  async pause(ns: string, id: string): Promise<void> {
    const rec = this.store.load(ns, id);
    await this.driver(rec.runtime, ns).pause(id);
    this.store.save({ ...this.store.load(ns, id), paused: true });
    this.emitEvent({ type: 'paused', namespace: ns, id });
  }

  async resume(ns: string, id: string): Promise<void> {
    const rec = this.store.load(ns, id);
    await this.driver(rec.runtime, ns).resume(id);
    this.store.save({ ...this.store.load(ns, id), paused: false });
    this.emitEvent({ type: 'resumed', namespace: ns, id });
  }

  async update(ns: string, id: string, resources: Resources): Promise<void> {
    const rec = this.store.load(ns, id);
    await this.driver(rec.runtime, ns).update(id, resources);
  }

  async stats(ns: string, id: string): Promise<unknown> {
    const rec = this.store.load(ns, id);
    return this.driver(rec.runtime, ns).stats(id);
  }

  /** A connection to the task's (or exec's) stdio through its shim. */
  attach(ns: string, id: string, streams: Array<'stdin' | 'stdout' | 'stderr'>, execId?: string) {
    const dir = execId ? this.store.execDir(ns, id, execId) : this.store.dir(ns, id);
    return new ShimClient(join(dir, 'shim.sock')).attach(streams);
  }

  shim(ns: string, id: string, execId?: string): ShimClient {
    return new ShimClient(join(execId ? this.store.execDir(ns, id, execId) : this.store.dir(ns, id), 'shim.sock'));
  }

  list(): TaskRecord[] {
    return this.store.list().flatMap(([ns, id]) => {
      try {
        return [this.store.load(ns, id)];
      } catch {
        return [];
      }
    });
  }

  /**
   * Re-adopts every task after this process (re)starts: a live shim is watched again; an exit that
   * happened while we were away is collected from the shim's exit file; a task whose shim is gone
   * without an exit file is reported exited with a reason, and its container is killed.
   */
  async restore(): Promise<void> {
    for (const [ns, id] of this.store.list()) {
      let rec: TaskRecord;
      try {
        rec = this.store.load(ns, id);
      } catch {
        // A create that died before its record was written: the runtime may have made the
        // container (state, cgroups, a shim waiting to start it) already.
        const runtime = this.store.reservedRuntime(ns, id);
        if (runtime) await this.driver(runtime, ns).delete(id, true).catch(() => {});
        this.store.remove(ns, id);
        continue;
      }
      for (const execId of Object.keys(rec.execs)) if (!rec.execs[execId]!.exit) this.watchExecExit(rec, execId);
      if (rec.exit) continue;
      if (shimAlive(rec.shimPid)) {
        this.watchExit(rec);
        continue;
      }
      const exit = readExitFile(this.store.dir(ns, id));
      if (exit) {
        this.recordExit(rec, exit);
        continue;
      }
      await this.driver(rec.runtime, ns).kill(id, 9, true).catch(() => {});
      this.recordExit(rec, { status: 137, oomKilled: false, exitedAt: new Date() }, 'shim exited without recording the container\'s exit');
    }
  }

  /**
   * The task's exit once SIGKILL was sent, waiting up to `ms`. Past that, a shim that does not
   * answer is killed and the task recorded as exited (137, with the reason); undefined means the
   * shim answers but the process does not die (frozen, uninterruptible): its exit is still awaited.
   */
  private async exitAfterKill(rec: TaskRecord, ms: number): Promise<ExitStatus | undefined> {
    const { namespace: ns, id } = rec;
    const exited = this.wait(ns, id); // this task's wait, also if the id is reused meanwhile
    const exit = await within(exited, ms);
    if (exit !== TIMED_OUT) return exit;
    const dir = this.store.dir(ns, id);
    if (await shimAnswers(join(dir, 'shim.sock'))) return undefined;
    const current = this.store.load(ns, id);
    if (current.shimPid !== rec.shimPid) return undefined; // deleted, and the id runs anew
    if (current.exit) return current.exit; // it came while the probe waited
    // Recorded first, with the reason, so that the exit its wait reports once the shim is gone
    // (a shim that died without an exit file) does not replace it.
    const status: ExitStatus = { status: 137, oomKilled: false, exitedAt: new Date() };
    this.recordExit(current, status, `shim did not answer within ${this.killTimeoutMs / 1000}s of SIGKILL and was killed`);
    killShim(rec.shimPid, dir);
    // Its wait connection closes with it: once that is seen, nothing refers to the task any more.
    if ((await within(exited, SHIM_GONE_MS)) === TIMED_OUT) this.opts.warn?.(`task ${ns}/${id}: shim ${rec.shimPid} was killed but its connection stays open`);
    return status;
  }

  /** After a SIGKILL of a task: its exit within killTimeoutMs, or a stuck shim killed (exitAfterKill). */
  private watchKill(rec: TaskRecord): void {
    const key = this.key(rec);
    if (this.killWatches.has(key)) return;
    this.killWatches.add(key);
    this.exitAfterKill(rec, this.killTimeoutMs)
      .catch(() => {}) // deleted meanwhile: nothing left to watch
      .finally(() => this.killWatches.delete(key));
  }

  private key(rec: TaskRecord, execId?: string): string {
    return `${rec.namespace}/${rec.id}${execId ? `/${execId}` : ''}`;
  }

  private watchExit(rec: TaskRecord): Promise<ExitStatus> {
    const key = this.key(rec);
    let p = this.exits.get(key);
    if (!p) {
      const dir = this.store.dir(rec.namespace, rec.id);
      p = waitShim(join(dir, 'shim.sock'), dir, rec.shimPid).then((exit) => {
        this.exits.delete(key);
        let current: TaskRecord;
        try {
          current = this.store.load(rec.namespace, rec.id);
        } catch {
          return exit.status; // deleted meanwhile: nothing to record it in
        }
        if (current.exit) return current.exit;
        this.recordExit(current, exit.status, exit.reason);
        return exit.status;
      });
      this.exits.set(key, p);
    }
    return p;
  }

  private watchExecExit(rec: TaskRecord, execId: string): Promise<ExitStatus> {
    const key = this.key(rec, execId);
    let p = this.exits.get(key);
    if (!p) {
      const dir = this.store.execDir(rec.namespace, rec.id, execId);
      p = waitShim(join(dir, 'shim.sock'), dir, rec.execs[execId]!.shimPid).then(({ status }) => {
        this.exits.delete(key);
        try {
          const current = this.store.load(rec.namespace, rec.id);
          current.execs[execId] = { ...current.execs[execId]!, exit: status };
          this.store.save(current);
        } catch {
          // the task was deleted meanwhile
        }
        this.emitEvent({ type: 'exec-exited', namespace: rec.namespace, id: rec.id, execId, exit: status });
        return status;
      });
      this.exits.set(key, p);
    }
    return p;
  }

  private recordExit(rec: TaskRecord, exit: ExitStatus, reason?: string): void {
    rec.exit = exit;
    if (reason) rec.exitReason = reason;
    this.store.save(rec);
    if (exit.oomKilled) this.emitEvent({ type: 'oom', namespace: rec.namespace, id: rec.id });
    this.emitEvent({ type: 'exited', namespace: rec.namespace, id: rec.id, pid: rec.pid, exit, ...(reason ? { reason } : {}) });
  }
}

function shimAlive(pid: number): boolean {
  const st = procStat(pid);
  return st !== undefined && st.state !== 'Z';
}

/**
 * The exit status through the shim's wait call; if the shim is gone (or goes), from its exit file;
 * and if there is none, an exit with the reason that the shim died.
 */
async function waitShim(socket: string, dir: string, shimPid: number): Promise<{ status: ExitStatus; reason?: string }> {
  try {
    return { status: await new ShimClient(socket).wait() };
  } catch {
    // Give a shim that is exiting a moment to finish writing its exit file.
    for (let i = 0; i < 50 && isSameProcessAlive(shimPid, procStat(shimPid)?.startTime ?? -1); i++) await new Promise((r) => setTimeout(r, 20));
    const exit = readExitFile(dir);
    if (exit) return { status: exit };
    return { status: { status: 137, oomKilled: false, exitedAt: new Date() }, reason: 'shim exited without recording the container\'s exit' };
  }
}
