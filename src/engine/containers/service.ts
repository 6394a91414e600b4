// The engine's containers: create (an image's config merged with the request, a writable snapshot
// on the image's layers), start (root filesystem mounted, /etc files written, an OCI spec built,
// a task under its shim), and everything after: stop, kill, pause, wait, restart policies, remove.
// Records are written through on every change, so a restarted daemon finds each container as it
// was; tasks outlive the daemon in their shims and are re-adopted by restore().
// This file decides which operations take a container's turn (one change at a time per
// container) and in what order the steps run; the steps live beside it: create-container.ts,
// run-bundle.ts (what a start puts on the host), run-teardown.ts, stop-signal.ts, exits.ts,
// pending-restarts.ts, start-hooks.ts, rootfs.ts, restore.ts.
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TIMED_OUT, within } from '../../common/deadline.js';
import { KeyedLock } from '../../common/keyed-lock.js';
import { BerthError, invalid, precondition } from '../../common/errors.js';
import { isMountPoint, mountAll } from '../../sys/mount.js';
import type { TaskEvent, TaskService } from '../../supervisor/tasks/service.js';
import type { ExitStatus } from '../../supervisor/tasks/shim-client.js';
import type { Snapshotter } from '../../supervisor/snapshots/types.js';
import type { EventLog } from '../events.js';
import type { ImageService } from '../images/service.js';
import type { EndpointSettings, HostConfig } from './api-types.js';
import type { Resources } from '../../runtime/spec/types.js';
import { createContainer } from './create-container.js';
import { logOptions } from './create.js';
import { ContainerExits } from './exits.js';
import { containerName } from './names.js';
import type { ContainerRecord } from './record.js';
import { rootfsSizes, withMountedRootfs } from './rootfs.js';
import { restoreContainers } from './restore.js';
import { refreshLinkingHosts, runRootfs, unmountRun, writeRunBundle } from './run-bundle.js';
import { clearInterruptedStart, deleteTask, releaseNetwork, releaseVolumes } from './run-teardown.js';
import { PendingRestarts } from './pending-restarts.js';
import { checkRestartPolicy, shouldRestart } from './restart-policy.js';
import { signalNumber } from './signals.js';
import { killAfterTimeout, sendStopSignal, type StopOptions } from './stop-signal.js';
import { StartHooks } from './start-hooks.js';
import { exitCodeForStartError, startError } from './start-errors.js';
import type { ContainerNetworking } from './networking.js';
import { removeContainerVolumes } from '../../volume/mounts.js';
import type { VolumeStore } from '../../volume/store.js';
import type { ContainerStore } from './store.js';
import { containerBundleDir } from './containerd-view.js';

export interface ContainerServiceDeps {
  store: ContainerStore;
  tasks: TaskService;
  images: ImageService;
  snapshotter: Snapshotter;
  events: EventLog;
  namespace: string;
  execRoot: string;
  defaultRuntime: string;
  cgroupParent: string;
  volumes: VolumeStore;
  networking: ContainerNetworking;
  /** The data root: binds of it get rslave propagation, as in Docker. */
  dataRoot: string;
  warn?: (message: string) => void;
}

/** How long a forced removal waits for the exit after SIGKILL (Docker's wait, too). */
const KILL_WAIT_MS = 10_000;

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export class ContainerService {
  /** Task exits, recorded exits and removals, for whoever waits for them. */
  private readonly exits = new ContainerExits();
  /** Restarts of exited containers, waiting for their delay. */
  private readonly restarts: PendingRestarts;
  /** One change at a time per container. */
  private readonly busy = new KeyedLock();
  /** Attachers waiting for the next start. */
  private readonly startHooks = new StartHooks();

  constructor(readonly deps: ContainerServiceDeps) {
    this.restarts = new PendingRestarts(deps.store, (id) => this.restartDue(id));
    deps.tasks.on('event', (e: TaskEvent) => {
      if (e.namespace !== deps.namespace || e.execId) return;
      if (e.type === 'exited' && e.exit) {
        // Raw, for a stop waiting for it and a remove under way (which holds the container's turn
        // and records the exit itself); queued, to be recorded in the container's turn.
        this.exits.taskEnded(e.id, e.exit);
        void this.serialize(e.id, () => this.onExit(e.id, e.exit!, e.pid, e.reason));
      }
      if (e.type === 'oom') {
        const c = this.deps.store.find(e.id);
        if (c) this.event(c, 'oom');
      }
    });
  }

  /** Runs `fn` after whatever else is under way for the same container: one change at a time. */
  private serialize<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.busy.run(id, fn);
  }

  private event(c: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.deps.events.publish('container', action, c.ID, { ...(c.Config.Labels ?? {}), image: c.Config.Image ?? '', name: c.Name.slice(1), ...extra });
  }

  get(ref: string): ContainerRecord {
    return this.deps.store.get(ref);
  }

  list(): ContainerRecord[] {
    return this.deps.store.list();
  }

  /** POST /containers/create. */
  async create(rawBody: unknown, name?: string, platform?: string): Promise<{ Id: string; Warnings: string[] }> {
    const { record, warnings } = createContainer(this.deps, rawBody, name, platform);
    this.event(record, 'create');
    return { Id: record.ID, Warnings: warnings };
  }

  /** POST /containers/{id}/start; false when it was running already (Docker's 304). */
  start(ref: string): Promise<boolean> {
    const c = this.get(ref);
    return this.serialize(c.ID, () => this.startNow(c.ID));
  }

  private async startNow(id: string): Promise<boolean> {
    const c = this.get(id);
    if (c.State.Paused) throw precondition('cannot start a paused container, try unpause instead');
    if (c.State.Running) return false;
    this.exits.forgetTaskExit(c.ID); // a new task: an old one's exit is no answer for it
    this.restarts.cancel(c.ID);
    const bundle = containerBundleDir(this.deps.execRoot, c.ID);
    const rootfs = runRootfs(this.deps.execRoot, c.ID);
    try {
      // Inside the try: a layer that cannot be mounted is a failed start like any other (recorded,
      // --rm applied, attachers told).
      mkdirSync(rootfs, { recursive: true, mode: 0o755 });
      await deleteTask(this.deps, c.ID);
      if (!isMountPoint(rootfs)) mountAll(this.deps.snapshotter.mounts(c.SnapshotKey), rootfs);
      await writeRunBundle(this.deps, c);
      const log = logOptions(c.HostConfig);
      const logging = c.HostConfig.LogConfig?.Type !== 'none';
      const task = await this.deps.tasks.create(this.deps.namespace, c.ID, {
        bundle, runtime: c.HostConfig.Runtime || this.deps.defaultRuntime, terminal: !!c.Config.Tty,
        stdin: !!c.Config.OpenStdin, stdinOnce: !!c.Config.StdinOnce,
        log: logging ? { path: c.LogPath, ...log } : undefined,
      });
      await this.startHooks.runBeforeStart(c.ID);
      await this.deps.tasks.start(this.deps.namespace, c.ID);
      c.State = { ...c.State, Status: 'running', Running: true, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: task.pid, ExitCode: 0, Error: '', StartedAt: new Date().toISOString() };
      c.HasBeenStarted = true;
      c.ManuallyStopped = false;
      this.deps.store.save(c);
      this.event(c, 'start');
      refreshLinkingHosts(this.deps, c);
      return true;
    } catch (err) {
      await deleteTask(this.deps, c.ID);
      await releaseNetwork(this.deps, c);
      releaseVolumes(this.deps, c);
      unmountRun(this.deps.execRoot, c.ID);
      c.State = { ...c.State, Status: c.HasBeenStarted ? 'exited' : 'created', Running: false, Restarting: false, Error: (err as Error).message, ExitCode: exitCodeForStartError((err as Error).message) };
      this.deps.store.save(c);
      this.startHooks.startFailed(c.ID, err as Error);
      // As Docker: a --rm container whose start failed is removed (its `wait removed` ends).
      if (c.HostConfig.AutoRemove) void this.remove(c.ID, { force: true, volumes: true }).catch(() => {});
      throw startError(err);
    }
  }

  /**
   * The task ended: record it, clean up, and apply --rm or the restart policy. `pid` names the
   * process that ended: by the time a queued exit runs, a restart may have started a new one,
   * and that one is still running.
   */
  private async onExit(id: string, exit: ExitStatus, pid?: number, reason?: string): Promise<void> {
    const current = this.deps.store.find(id);
    if (current && pid && current.State.Pid && pid !== current.State.Pid) return;
    this.exits.forgetTaskExit(id);
    const c = current;
    if (!c || !c.State.Running) return;
    const ranMs = Date.now() - new Date(c.State.StartedAt).getTime();
    c.State = { ...c.State, Status: 'exited', Running: false, Paused: false, Pid: 0, ExitCode: exit.status, OOMKilled: exit.oomKilled, FinishedAt: exit.exitedAt.toISOString(), Error: reason ?? '' };
    // As Docker: "die" first, then the network disconnects and volume unmounts of the cleanup.
    this.event(c, 'die', { exitCode: String(exit.status) });
    await deleteTask(this.deps, id);
    await releaseNetwork(this.deps, c);
    releaseVolumes(this.deps, c);
    try {
      unmountRun(this.deps.execRoot, id);
    } catch (err) {
      // A host process still inside the rootfs must not keep the exit from being recorded (waiters
      // would hang); the mount stays for the next start, or for rm to retry.
      this.deps.warn?.(`container ${id.slice(0, 12)}: ${(err as Error).message}`);
    }
    this.deps.store.save(c);
    this.exits.recorded(id, exit.status);
    if (c.HostConfig.AutoRemove) {
      await this.removeNow(id, { force: true, volumes: true }).catch((err) => this.deps.warn?.(`auto-remove ${id.slice(0, 12)}: ${(err as Error).message}`));
      return;
    }
    if (shouldRestart(c, exit.status)) this.restarts.schedule(c, ranMs);
  }

  /** A restart's delay is over: start it again (unless it was stopped or removed meanwhile). */
  private restartDue(id: string): void {
    void this.serialize(id, async () => {
      const now = this.deps.store.find(id);
      if (!now || !now.State.Restarting) return;
      now.RestartCount++;
      this.deps.store.save(now);
      await this.startNow(id).catch((err) => this.deps.warn?.(`restart ${id.slice(0, 12)}: ${(err as Error).message}`));
      this.event(now, 'restart');
    });
  }

  /**
   * Runs `hook` when the container's next task exists but has not started yet (attach before
   * start, as `docker run` does, loses no output). Returns a function that cancels it.
   */
  beforeNextStart(ref: string, hook: () => Promise<void>, onFailure?: (err: Error) => void): () => void {
    return this.startHooks.add(this.get(ref).ID, hook, onFailure);
  }

  /**
   * POST /containers/{id}/stop; false when it was not running (304). The signal goes out in the
   * container's turn, the wait for the exit happens outside it (stop-signal.ts says why), and the
   * exit is recorded in its turn again, unless the exit's own turn came first.
   */
  async stop(ref: string, opts: StopOptions = {}): Promise<boolean> {
    const id = this.get(ref).ID;
    const signalled = await this.serialize(id, () => this.signalStop(id, opts));
    if (!signalled.running) return signalled.wasRestarting;
    const { c, pid, exited } = signalled;
    const exit = await killAfterTimeout(this.deps, c, opts, exited, (sig) => this.event(c, 'kill', { signal: String(sig) }));
    // With the pid that was signalled: a start may have come between, and its task runs on.
    await this.serialize(id, () => this.onExit(id, exit, pid));
    this.event(this.deps.store.find(id) ?? c, 'stop');
    return true;
  }

  private async signalStop(id: string, opts: StopOptions): Promise<{ running: false; wasRestarting: boolean } | { running: true; c: ContainerRecord; pid: number; exited: Promise<ExitStatus> }> {
    const c = this.get(id);
    const wasRestarting = this.restarts.cancel(c.ID);
    c.ManuallyStopped = true;
    this.deps.store.save(c);
    if (!c.State.Running) return { running: false, wasRestarting };
    const exited = this.exits.taskExit(c.ID);
    // As Docker: each signal a stop sends is a "kill" event.
    await sendStopSignal(this.deps, c, opts, (sig) => this.event(c, 'kill', { signal: String(sig) }));
    return { running: true, c, pid: c.State.Pid, exited };
  }

  /** POST /containers/{id}/kill; its errors as Docker's ("Cannot kill container: REF: …"). */
  async kill(ref: string, signal?: string): Promise<void> {
    const cannot = (err: unknown): never => {
      if (err instanceof BerthError) throw new BerthError(err.code, `Cannot kill container: ${ref}: ${err.message}`);
      throw err;
    };
    let c: ContainerRecord;
    try {
      c = this.get(ref);
      if (!c.State.Running) throw precondition(`Container ${c.ID} is not running`);
    } catch (err) {
      return cannot(err);
    }
    const sig = signalNumber(signal, 9);
    if (sig === 9 || sig === 15) {
      c.ManuallyStopped = true;
      this.deps.store.save(c);
    }
    await this.deps.tasks.kill(this.deps.namespace, c.ID, sig, { all: sig === 9 });
    this.event(c, 'kill', { signal: String(sig) });
  }

  async restart(ref: string, opts: StopOptions = {}): Promise<void> {
    const c = this.get(ref);
    // Not in one turn: the stop's wait must not hold it (as Docker's restart, a stop and then a start).
    await this.stop(c.ID, opts);
    await this.serialize(c.ID, () => this.startNow(c.ID));
    this.event(this.get(c.ID), 'restart');
  }

  async pause(ref: string): Promise<void> {
    const c = this.get(ref);
    if (!c.State.Running) throw precondition(`Container ${c.ID} is not running`);
    if (c.State.Paused) throw precondition(`Container ${c.ID} is already paused`);
    await this.deps.tasks.pause(this.deps.namespace, c.ID);
    c.State = { ...c.State, Status: 'paused', Paused: true };
    this.deps.store.save(c);
    this.event(c, 'pause');
  }

  async unpause(ref: string): Promise<void> {
    const c = this.get(ref);
    if (!c.State.Paused) throw precondition(`Container ${c.ID} is not paused`);
    await this.deps.tasks.resume(this.deps.namespace, c.ID);
    c.State = { ...c.State, Status: 'running', Paused: false };
    this.deps.store.save(c);
    this.event(c, 'unpause');
  }

  /**
   * POST /containers/{id}/wait: the exit status once the condition holds. An unknown container or
   * condition throws at once, not in the promise: the route sends its headers before the wait.
   */
  wait(ref: string, condition: WaitCondition = 'not-running'): Promise<{ StatusCode: number; Error: { Message: string } | null }> {
    const c = this.get(ref);
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw invalid(`invalid condition: "${condition}"`);
    const result = (status: number) => ({ StatusCode: status, Error: null });
    if (condition === 'removed') return this.exits.removal(c.ID).then(result);
    if (condition === 'not-running' && !c.State.Running && !c.State.Restarting) return Promise.resolve(result(c.State.ExitCode));
    return this.exits.nextExit(c.ID).then(result);
  }

  /** DELETE /containers/{id}; `volumes` (-v) also removes its anonymous volumes. */
  remove(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const c = this.get(ref);
    return this.serialize(c.ID, () => this.removeNow(c.ID, opts));
  }

  private async removeNow(id: string, opts: { force?: boolean; volumes?: boolean }): Promise<void> {
    const c = this.deps.store.find(id);
    if (!c) return;
    if (c.State.Running && !opts.force) {
      throw precondition(c.State.Paused
        ? `You cannot remove a paused container ${c.ID}. Unpause and then stop the container before attempting removal or force remove`
        : `You cannot remove a running container ${c.ID}. Stop the container before attempting removal or force remove`);
    }
    this.restarts.cancel(c.ID);
    if (c.State.Running) {
      const exited = this.exits.taskExit(c.ID);
      c.ManuallyStopped = true;
      this.deps.store.save(c);
      this.event(c, 'kill', { signal: '9' });
      await this.deps.tasks.kill(this.deps.namespace, c.ID, 9, { all: true }).catch(() => {});
      const exit = await within(exited, KILL_WAIT_MS);
      // As Docker: a process that does not die (frozen by someone else, uninterruptible) keeps its
      // container, rather than a record removed over a task, shim and cgroup nothing would find again.
      if (exit === TIMED_OUT) throw new BerthError('INTERNAL', `Could not kill running container ${c.ID}, cannot remove - tried to kill container, but did not receive an exit event`);
      c.HostConfig.AutoRemove = false; // this removal is the one that happens
      await this.onExit(c.ID, exit);
    }
    await deleteTask(this.deps, c.ID, { keepOnUnavailable: true });
    c.State = { ...c.State, Status: 'removing' };
    await releaseNetwork(this.deps, c);
    unmountRun(this.deps.execRoot, c.ID);
    // In the background, off the event loop: nothing will use the directory again.
    void rm(containerBundleDir(this.deps.execRoot, c.ID), { recursive: true, force: true }).catch(() => undefined);
    try {
      this.deps.snapshotter.remove(c.SnapshotKey);
    } catch (err) {
      if (!(err instanceof BerthError && err.code === 'NOT_FOUND')) throw err;
    }
    const gone = removeContainerVolumes(this.deps.volumes, c.MountPoints ?? [], c.ID, { removeVolumes: opts.volumes });
    for (const problem of gone.problems) this.deps.warn?.(`container ${c.ID.slice(0, 12)}: ${problem}`);
    this.deps.store.remove(c.ID);
    this.restarts.forget(c.ID);
    this.event(c, 'destroy');
    this.exits.removed(c.ID, c.State.ExitCode);
  }

  rename(ref: string, newName: string): void {
    const c = this.get(ref);
    const name = containerName(newName, () => false);
    if (name === c.Name) throw invalid('Renaming a container with the same name as its current name');
    const clash = this.deps.store.list().find((x) => x.Name === name && x.ID !== c.ID);
    if (clash) throw new BerthError('ALREADY_EXISTS', `Conflict. The container name "${name}" is already in use by container "${clash.ID}". You have to remove (or rename) that container to be able to reuse that name.`);
    const old = c.Name;
    c.Name = name;
    this.deps.store.save(c);
    this.event(c, 'rename', { oldName: old });
  }

  /**
   * Runs `fn` with the container's root filesystem mounted on the host (cp, export, diff): the
   * running container's own mount, or a mount made for the call and taken down after it; with
   * `withMounts` (cp), its volumes, binds and /etc files over it as well. In the container's turn,
   * so a stop or rm does not unmount the tree under `fn`.
   */
  async withRootfs<T>(ref: string, fn: (rootfs: string) => Promise<T>, opts: { withMounts?: boolean } = {}): Promise<T> {
    const c = this.get(ref);
    return this.serialize(c.ID, () => withMountedRootfs(this.deps, c, fn, opts));
  }

  /** POST /containers/{id}/update: new limits, live when it runs, and a new restart policy. */
  async update(ref: string, resources: Resources, host: HostConfig): Promise<void> {
    const c = this.get(ref);
    if (host.RestartPolicy) checkRestartPolicy(host.RestartPolicy);
    if (host.RestartPolicy?.Name && c.HostConfig.AutoRemove && host.RestartPolicy.Name !== 'no') throw invalid('Restart policy cannot be updated because AutoRemove is enabled for the container');
    // As Docker: a memory limit above the swap limit already set needs a new swap limit with it.
    const swap = c.HostConfig.MemorySwap ?? 0;
    if ((host.Memory ?? 0) > 0 && !host.MemorySwap && swap > 0 && host.Memory! > swap) {
      throw invalid(`Cannot update container ${c.ID}: Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time`);
    }
    if (c.State.Running) await this.deps.tasks.update(this.deps.namespace, c.ID, resources);
    for (const [k, v] of Object.entries(host)) if (v !== undefined && v !== null && v !== 0 && v !== '') (c.HostConfig as Record<string, unknown>)[k] = v;
    this.deps.store.save(c);
    this.event(c, 'update');
  }

  /** `network connect`: recorded for the next start, and plugged in now if it runs. */
  async connectNetwork(ref: string, network: string, settings: EndpointSettings): Promise<void> {
    const c = this.get(ref);
    await this.serialize(c.ID, async () => {
      await this.deps.networking.connect(c, network, settings, join(this.deps.store.dir(c.ID), 'resolv.conf'));
      this.deps.store.save(c);
    });
  }

  async disconnectNetwork(ref: string, network: string, force: boolean): Promise<void> {
    const c = this.get(ref);
    await this.serialize(c.ID, async () => {
      if (await this.deps.networking.disconnect(c, network, force)) this.deps.store.save(c);
    });
  }

  /** Docker's SizeRw (bytes the container wrote) and SizeRootFs (those plus its image's). */
  sizes(ref: string): { rw: number; rootfs: number } {
    return rootfsSizes(this.deps, this.get(ref));
  }

  /** The containers that use an image (for rmi's conflicts). */
  usersOf(imageId: string): Array<{ id: string; running: boolean }> {
    return this.deps.store.list().filter((c) => c.Image === imageId).map((c) => ({ id: c.ID, running: c.State.Running }));
  }

  /** Snapshot keys the containers hold (kept by image GC). */
  snapshotKeys(): string[] {
    return this.deps.store.list().map((c) => c.SnapshotKey);
  }

  /** After a daemon (re)start (restore.ts); a lost exit is recorded in the container's turn. */
  async restore(): Promise<void> {
    await restoreContainers(this.deps, {
      finishRemoval: (id) => this.removeNow(id, { force: true }),
      recordExit: async (id, exit, reason) => {
        await this.serialize(id, () => this.onExit(id, exit, undefined, reason));
        this.restarts.cancel(id); // restore() applies the daemon-start rule instead of a timer
      },
      clearInterruptedStart: (c) => clearInterruptedStart(this.deps, c),
      start: (id) => this.start(id),
    });
  }

  /** Stops the restart timers (the daemon is shutting down; containers keep running). */
  close(): void {
    this.restarts.close();
  }
}
