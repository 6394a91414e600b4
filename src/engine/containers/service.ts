// The engine's containers: create (an image's config merged with the request, a writable snapshot
// on the image's layers), start (root filesystem mounted, /etc files written, an OCI spec built,
// a task under its shim), and everything after: stop, kill, pause, wait, restart policies, remove.
// Records are written through on every change, so a restarted daemon finds each container as it
// was; tasks outlive the daemon in their shims and are re-adopted by restore().
import { EventEmitter } from 'node:events';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyedLock } from '../../common/keyed-lock.js';
import { BerthError, invalid, precondition } from '../../common/errors.js';
import { capabilityNames } from '../../runtime/spec/capabilities.js';
import { boundingCapabilities } from '../../sys/proc.js';
import { initBinaryPath } from '../../runtime/launch.js';
import { isMountPoint, mountAll, unmountAll } from '../../sys/mount.js';
import type { ExitStatus } from '../../supervisor/tasks/shim-client.js';
import type { TaskEvent, TaskService } from '../../supervisor/tasks/service.js';
import type { Snapshotter } from '../../supervisor/snapshots/types.js';
import type { EventLog } from '../events.js';
import type { ImageService } from '../images/service.js';
import type { EndpointSettings, HostConfig } from './api-types.js';
import type { Resources } from '../../runtime/spec/types.js';
import { checkCreateBody, commandOf, logOptions, mergeImageConfig } from './create.js';
import { writeEtcFiles } from './etc-files.js';
import { containerName, newContainerId } from './names.js';
import { initialState, type ContainerRecord } from './record.js';
import { buildSpec } from './spec/build-spec.js';
import { DEFAULT_SHM_SIZE } from './spec/defaults.js';
import { ipcKind } from './spec/namespaces.js';
import { sharedNamespaces } from './shared-namespaces.js';
import { mountShareableShm, unmountShm } from './shm.js';
import { RestartScheduler, shouldRestart } from './restart-policy.js';
import { signalNumber } from './signals.js';
import { exitCodeForStartError, startError } from './start-errors.js';
import { ensureWorkingDir } from '../../image/rootfs-files.js';
import type { ContainerNetworking } from './networking.js';
import { prepareMounts, releaseMounts, removeContainerVolumes, resolveMounts } from '../../volume/mounts.js';
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

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';


export class ContainerService {
  /** Per container: 'exit' when its task ends, 'removed' when it is gone. */
  private readonly signals = new EventEmitter();
  private readonly restarts = new RestartScheduler((id) => this.restartDue(id));
  /** One change at a time per container. */
  private readonly busy = new KeyedLock();
  /** Attachers waiting for the next start: run once the task exists, before it is started. */
  private readonly startHooks = new Map<string, Set<() => Promise<void>>>();
  /** Their way out when that start fails: an attacher must not wait for a task that never comes. */
  private readonly startFailures = new Map<string, Set<(err: Error) => void>>();

  /**
   * Task exits not recorded yet: a stop that waited for its turn behind another operation, while
   * the task died, must find the exit that was announced meanwhile instead of waiting forever.
   */
  private readonly unrecordedExits = new Map<string, ExitStatus>();

  constructor(readonly deps: ContainerServiceDeps) {
    this.signals.setMaxListeners(0);
    deps.tasks.on('event', (e: TaskEvent) => {
      if (e.namespace !== deps.namespace || e.execId) return;
      if (e.type === 'exited' && e.exit) {
        // Raw, for a stop or remove under way (they hold the container's turn and record the exit
        // themselves); queued, for an exit nobody asked for.
        this.unrecordedExits.set(e.id, e.exit);
        this.signals.emit(`task-exit:${e.id}`, e.exit);
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

  private bundleDir(id: string): string {
    return containerBundleDir(this.deps.execRoot, id);
  }

  private async releaseNetwork(c: ContainerRecord): Promise<void> {
    try {
      await this.deps.networking.detach(c);
    } catch (err) {
      this.deps.warn?.(`container ${c.ID.slice(0, 12)}: leaving its networks: ${(err as Error).message}`);
    }
  }

  private releaseVolumes(c: ContainerRecord): void {
    for (const problem of releaseMounts(this.deps.volumes, c.MountPoints ?? [], c.ID)) this.deps.warn?.(`container ${c.ID.slice(0, 12)}: ${problem}`);
  }

  private rootfs(id: string): string {
    return join(this.bundleDir(id), 'rootfs');
  }

  /** Where a --ipc shareable container's /dev/shm is mounted on the host. */
  private shmDir(id: string): string {
    return join(this.bundleDir(id), 'shm');
  }

  /** What the engine mounted on the host for a run: the rootfs and a shareable /dev/shm. */
  private unmountRun(id: string): void {
    const rootfs = this.rootfs(id);
    if (isMountPoint(rootfs)) unmountAll(rootfs);
    unmountShm(this.shmDir(id));
  }

  get(ref: string): ContainerRecord {
    return this.deps.store.get(ref);
  }

  list(): ContainerRecord[] {
    return this.deps.store.list();
  }

  /** POST /containers/create. */
  async create(rawBody: unknown, name?: string): Promise<{ Id: string; Warnings: string[] }> {
    const body = checkCreateBody(rawBody);
    if (name) containerName(name, () => false); // a bad name is refused before the image is looked up
    const img = this.deps.images.get(body.Image!);
    const { HostConfig: host = {}, NetworkingConfig: _networking, Platform: _platform, ...config } = body;
    const merged = mergeImageConfig(config, img.config.config);
    const { path, args } = commandOf(merged);
    logOptions(host);
    const id = newContainerId();
    const fullName = containerName(name, (n) => this.deps.store.list().some((c) => c.Name === n));
    if (!merged.Hostname) merged.Hostname = host.NetworkMode === 'host' ? readHostname() : id.slice(0, 12);
    const h: HostConfig = { NetworkMode: 'default', RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, LogConfig: { Type: 'json-file', Config: {} }, ...host };
    const networks = this.deps.networking.planEndpoints(h, body.NetworkingConfig?.EndpointsConfig);
    const dir = this.deps.store.dir(id);
    const volumes = resolveMounts(this.deps.volumes, {
      containerId: id, hostConfig: h, imageVolumes: merged.Volumes, daemonRoot: this.deps.dataRoot,
      containerMounts: (ref) => {
        const other = this.get(ref);
        return { id: other.ID, mounts: other.MountPoints ?? [] };
      },
    });
    const record: ContainerRecord = {
      ID: id, Name: fullName, Created: new Date().toISOString(), Path: path, Args: args,
      Config: merged, HostConfig: h, Image: img.id, State: initialState(), RestartCount: 0,
      Platform: 'linux', Driver: this.deps.snapshotter.name, LogPath: join(dir, `${id}-json.log`),
      ResolvConfPath: join(dir, 'resolv.conf'), HostnamePath: join(dir, 'hostname'), HostsPath: join(dir, 'hosts'),
      Networks: networks, Ports: {}, SnapshotKey: id, ImageChainId: img.chainIds.at(-1), ManuallyStopped: false, HasBeenStarted: false,
      MountPoints: volumes.mounts,
    };
    try {
      this.deps.snapshotter.prepare(id, record.ImageChainId, { 'berth.container': id });
      try {
        this.deps.store.add(record);
      } catch (err) {
        this.deps.snapshotter.remove(id);
        throw err;
      }
    } catch (err) {
      removeContainerVolumes(this.deps.volumes, volumes.mounts, id, { removeVolumes: true });
      throw err;
    }
    this.event(record, 'create');
    return { Id: id, Warnings: [] };
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
    this.unrecordedExits.delete(c.ID); // a new task: an old one's exit is no answer for it
    this.cancelRestart(c.ID);
    const bundle = this.bundleDir(c.ID);
    const rootfs = this.rootfs(c.ID);
    mkdirSync(rootfs, { recursive: true, mode: 0o755 });
    await this.deleteTask(c.ID);
    if (!isMountPoint(rootfs)) mountAll(this.deps.snapshotter.mounts(c.SnapshotKey), rootfs);
    try {
      if (c.Config.WorkingDir) ensureWorkingDir(rootfs, c.Config.WorkingDir);
      const mounts = prepareMounts(this.deps.volumes, c.MountPoints ?? [], { containerId: c.ID, rootfs, copyUp: !c.HasBeenStarted });
      const net = await this.deps.networking.attach(c);
      const netnsPath = net.netnsPath;
      const etc = writeEtcFiles(this.deps.store.dir(c.ID), c.Config, c.HostConfig, net.addresses, net.resolvConf);
      const shared = sharedNamespaces(c, netnsPath, (ref) => this.deps.store.find(ref), (id) => this.shmDir(id));
      if (ipcKind(c.HostConfig.IpcMode) === 'shareable') shared.shmPath = mountShareableShm(this.shmDir(c.ID), c.HostConfig.ShmSize || DEFAULT_SHM_SIZE);
      const spec = buildSpec(c.Config, c.HostConfig, {
        rootfs,
        netnsPath,
        joinNamespaces: shared.namespaces,
        shmPath: shared.shmPath,
        mounts,
        etcFiles: { hosts: etc.hosts, resolvConf: etc.resolvConf, hostname: etc.hostname },
        cgroupsPath: `${c.HostConfig.CgroupParent || this.deps.cgroupParent}/${c.ID}`,
        hostCapabilities: capabilityNames(boundingCapabilities()),
        initBinary: c.HostConfig.Init ? initBinaryPath() : undefined,
      });
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
      const log = logOptions(c.HostConfig);
      const logging = c.HostConfig.LogConfig?.Type !== 'none';
      const task = await this.deps.tasks.create(this.deps.namespace, c.ID, {
        bundle, runtime: c.HostConfig.Runtime || this.deps.defaultRuntime, terminal: !!c.Config.Tty,
        stdin: !!c.Config.OpenStdin, stdinOnce: !!c.Config.StdinOnce,
        log: logging ? { path: c.LogPath, ...log } : undefined,
      });
      const hooks = [...(this.startHooks.get(c.ID) ?? [])];
      this.startHooks.delete(c.ID);
      this.startFailures.delete(c.ID);
      await Promise.all(hooks.map((h) => h().catch(() => {})));
      await this.deps.tasks.start(this.deps.namespace, c.ID);
      c.State = { ...c.State, Status: 'running', Running: true, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: task.pid, ExitCode: 0, Error: '', StartedAt: new Date().toISOString() };
      c.HasBeenStarted = true;
      c.ManuallyStopped = false;
      this.deps.store.save(c);
      this.event(c, 'start');
      return true;
    } catch (err) {
      await this.deleteTask(c.ID);
      await this.releaseNetwork(c);
      this.releaseVolumes(c);
      this.unmountRun(c.ID);
      c.State = { ...c.State, Status: c.HasBeenStarted ? 'exited' : 'created', Running: false, Restarting: false, Error: (err as Error).message, ExitCode: exitCodeForStartError((err as Error).message) };
      this.deps.store.save(c);
      const failed = [...(this.startFailures.get(c.ID) ?? [])];
      this.startHooks.delete(c.ID);
      this.startFailures.delete(c.ID);
      for (const f of failed) f(err as Error);
      // As Docker: a --rm container whose start failed is removed (its `wait removed` ends).
      if (c.HostConfig.AutoRemove) void this.remove(c.ID, { force: true, volumes: true }).catch(() => {});
      throw startError(err);
    }
  }

  private async deleteTask(id: string): Promise<void> {
    try {
      await this.deps.tasks.delete(this.deps.namespace, id, true);
    } catch (err) {
      if (!(err instanceof BerthError && err.code === 'NOT_FOUND')) this.deps.warn?.(`container ${id.slice(0, 12)}: deleting its task: ${(err as Error).message}`);
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
    this.unrecordedExits.delete(id);
    const c = current;
    if (!c || !c.State.Running) return;
    const ranMs = Date.now() - new Date(c.State.StartedAt).getTime();
    c.State = { ...c.State, Status: 'exited', Running: false, Paused: false, Pid: 0, ExitCode: exit.status, OOMKilled: exit.oomKilled, FinishedAt: exit.exitedAt.toISOString(), Error: reason ?? '' };
    await this.deleteTask(id);
    await this.releaseNetwork(c);
    this.releaseVolumes(c);
    try {
      this.unmountRun(id);
    } catch (err) {
      // A host process still inside the rootfs must not keep the exit from being recorded (waiters
      // would hang); the mount stays for the next start, or for rm to retry.
      this.deps.warn?.(`container ${id.slice(0, 12)}: ${(err as Error).message}`);
    }
    this.deps.store.save(c);
    this.event(c, 'die', { exitCode: String(exit.status) });
    this.signals.emit(`exit:${id}`, exit.status);
    if (c.HostConfig.AutoRemove) {
      await this.removeNow(id, { force: true, volumes: true }).catch((err) => this.deps.warn?.(`auto-remove ${id.slice(0, 12)}: ${(err as Error).message}`));
      return;
    }
    if (shouldRestart(c, exit.status)) this.scheduleRestart(c, ranMs);
  }

  /** Marks the container restarting and arms its restart, as its policy says after an exit. */
  private scheduleRestart(c: ContainerRecord, ranMs: number): void {
    c.State = { ...c.State, Status: 'restarting', Restarting: true };
    this.deps.store.save(c);
    this.restarts.schedule(c.ID, ranMs);
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

  private cancelRestart(id: string): boolean {
    if (!this.restarts.cancel(id)) return false;
    const c = this.deps.store.find(id);
    if (c?.State.Restarting) {
      c.State = { ...c.State, Status: 'exited', Restarting: false };
      this.deps.store.save(c);
    }
    return true;
  }

  /**
   * Runs `hook` when the container's next task exists but has not started yet (attach before
   * start, as `docker run` does, loses no output). Returns a function that cancels it.
   */
  beforeNextStart(ref: string, hook: () => Promise<void>, onFailure?: (err: Error) => void): () => void {
    const id = this.get(ref).ID;
    let set = this.startHooks.get(id);
    if (!set) this.startHooks.set(id, (set = new Set()));
    set.add(hook);
    let failures = this.startFailures.get(id);
    if (!failures) this.startFailures.set(id, (failures = new Set()));
    if (onFailure) failures.add(onFailure);
    return () => {
      set!.delete(hook);
      if (onFailure) failures!.delete(onFailure);
    };
  }

  /** POST /containers/{id}/stop; false when it was not running (304). */
  stop(ref: string, opts: { signal?: string; timeoutSec?: number } = {}): Promise<boolean> {
    const c = this.get(ref);
    return this.serialize(c.ID, () => this.stopNow(c.ID, opts));
  }

  private async stopNow(id: string, opts: { signal?: string; timeoutSec?: number }): Promise<boolean> {
    const c = this.get(id);
    const wasRestarting = this.cancelRestart(c.ID);
    c.ManuallyStopped = true;
    this.deps.store.save(c);
    if (!c.State.Running) return wasRestarting;
    const exited = this.taskExit(c.ID);
    const sig = signalNumber(opts.signal ?? c.Config.StopSignal, 15);
    const timeout = opts.timeoutSec ?? c.Config.StopTimeout ?? 10;
    if (c.State.Paused) await this.deps.tasks.resume(this.deps.namespace, c.ID).catch(() => {});
    await this.deps.tasks.kill(this.deps.namespace, c.ID, sig).catch(() => {});
    // A negative timeout waits for as long as it takes; otherwise SIGKILL when time is up.
    if (timeout >= 0 && !(await within(exited, timeout * 1000))) await this.deps.tasks.kill(this.deps.namespace, c.ID, 9, { all: true }).catch(() => {});
    await this.onExit(c.ID, await exited);
    this.event(this.get(c.ID), 'stop');
    return true;
  }

  /** Resolves with the exit status of the container's next exit, once it is recorded. */
  private nextExit(id: string): Promise<number> {
    return new Promise((resolve) => this.signals.once(`exit:${id}`, resolve));
  }

  /** Resolves when the container's task ends (for callers holding the container's turn). */
  private taskExit(id: string): Promise<ExitStatus> {
    const seen = this.unrecordedExits.get(id);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.signals.once(`task-exit:${id}`, resolve));
  }

  /** POST /containers/{id}/kill. */
  async kill(ref: string, signal?: string): Promise<void> {
    const c = this.get(ref);
    if (!c.State.Running) throw precondition(`Container ${c.ID} is not running`);
    const sig = signalNumber(signal, 9);
    if (sig === 9 || sig === 15) {
      c.ManuallyStopped = true;
      this.deps.store.save(c);
    }
    await this.deps.tasks.kill(this.deps.namespace, c.ID, sig, { all: sig === 9 });
    this.event(c, 'kill', { signal: String(sig) });
  }

  async restart(ref: string, opts: { signal?: string; timeoutSec?: number } = {}): Promise<void> {
    const c = this.get(ref);
    await this.serialize(c.ID, async () => {
      await this.stopNow(c.ID, opts);
      await this.startNow(c.ID);
    });
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

  /** POST /containers/{id}/wait: the exit status once the condition holds. */
  async wait(ref: string, condition: WaitCondition = 'not-running'): Promise<{ StatusCode: number; Error: { Message: string } | null }> {
    const c = this.get(ref);
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw invalid(`invalid condition: "${condition}"`);
    const result = (status: number) => ({ StatusCode: status, Error: null });
    if (condition === 'removed') {
      const status = await new Promise<number>((resolve) => this.signals.once(`removed:${c.ID}`, resolve));
      return result(status);
    }
    if (condition === 'not-running' && !c.State.Running && !c.State.Restarting) return result(c.State.ExitCode);
    return result(await this.nextExit(c.ID));
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
      throw precondition(`You cannot remove a ${c.State.Paused ? 'paused' : 'running'} container ${c.ID}. Stop the container before attempting removal or force remove`);
    }
    this.cancelRestart(c.ID);
    if (c.State.Running) {
      const exited = this.taskExit(c.ID);
      c.ManuallyStopped = true;
      c.HostConfig.AutoRemove = false; // this removal is the one that happens
      this.deps.store.save(c);
      await this.deps.tasks.kill(this.deps.namespace, c.ID, 9, { all: true }).catch(() => {});
      const exit = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000).unref())]);
      await this.onExit(c.ID, exit ?? { status: 137, oomKilled: false, exitedAt: new Date() });
    }
    c.State = { ...c.State, Status: 'removing' };
    await this.deleteTask(c.ID);
    await this.releaseNetwork(c);
    this.unmountRun(c.ID);
    rmSync(this.bundleDir(c.ID), { recursive: true, force: true });
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
    this.signals.emit(`removed:${c.ID}`, c.State.ExitCode);
  }

  rename(ref: string, newName: string): void {
    const c = this.get(ref);
    const name = containerName(newName, () => false);
    const clash = this.deps.store.list().find((x) => x.Name === name && x.ID !== c.ID);
    if (clash) throw new BerthError('ALREADY_EXISTS', `Conflict. The container name "${name}" is already in use by container "${clash.ID}". You have to remove (or rename) that container to be able to reuse that name.`);
    const old = c.Name;
    c.Name = name;
    this.deps.store.save(c);
    this.event(c, 'rename', { oldName: old });
  }

  /**
   * Runs `fn` with the container's root filesystem mounted on the host (cp, export, diff): the
   * running container's own mount, or a mount made for the call and taken down after it. In the
   * container's turn, so a stop or rm does not unmount the tree under `fn`.
   */
  async withRootfs<T>(ref: string, fn: (rootfs: string) => Promise<T>): Promise<T> {
    const c = this.get(ref);
    const rootfs = this.rootfs(c.ID);
    return this.serialize(c.ID, async () => {
      const now = this.get(c.ID);
      if (now.State.Running) {
        // berth resolves a path inside the rootfs, then uses it: a process of the container could
        // swap a directory on it for a symlink to "/" in between and have the host's files read or
        // written (CVE-2018-15664). Its processes are frozen meanwhile, as podman cp --pause does.
        const freeze = !now.State.Paused;
        if (freeze) await this.deps.tasks.pause(this.deps.namespace, c.ID);
        try {
          return await fn(rootfs);
        } finally {
          if (freeze) await this.deps.tasks.resume(this.deps.namespace, c.ID).catch((err) => this.deps.warn?.(`container ${c.ID.slice(0, 12)}: thawing after a copy: ${(err as Error).message}`));
        }
      }
      if (isMountPoint(rootfs)) return fn(rootfs);
      mkdirSync(rootfs, { recursive: true, mode: 0o755 });
      mountAll(this.deps.snapshotter.mounts(c.SnapshotKey), rootfs);
      try {
        return await fn(rootfs);
      } finally {
        unmountAll(rootfs);
      }
    });
  }

  /** POST /containers/{id}/update: new limits, live when it runs, and a new restart policy. */
  async update(ref: string, resources: Resources, host: HostConfig): Promise<void> {
    const c = this.get(ref);
    if (host.RestartPolicy?.Name && c.HostConfig.AutoRemove && host.RestartPolicy.Name !== 'no') throw invalid('Restart policy cannot be updated because AutoRemove is enabled for the container');
    if (c.State.Running) await this.deps.tasks.update(this.deps.namespace, c.ID, resources);
    for (const [k, v] of Object.entries(host)) if (v !== undefined && v !== null && v !== 0 && v !== '') (c.HostConfig as Record<string, unknown>)[k] = v;
    this.deps.store.save(c);
    this.event(c, 'update');
  }

  /** `network connect`: recorded for the next start, and plugged in now if it runs. */
  async connectNetwork(ref: string, network: string, settings: EndpointSettings): Promise<void> {
    const c = this.get(ref);
    await this.serialize(c.ID, async () => {
      const mode = c.HostConfig.NetworkMode ?? 'default';
      if (mode === 'host' || mode === 'none' || mode.startsWith('container:')) throw precondition(`container sharing network namespace with another container or host cannot be connected to any other network`);
      if (c.State.Running) {
        await this.deps.networking.connectRunning(c, network, settings);
        // As Docker: joining a network with embedded DNS switches the container to it. The file
        // is bind-mounted, so it is rewritten in place, not replaced.
        const resolvConf = this.deps.networking.resolvConfOf(c);
        if (resolvConf && c.HostConfig.NetworkMode !== 'host') writeFileSync(join(this.deps.store.dir(c.ID), 'resolv.conf'), resolvConf);
      } else c.Networks[network] = { Aliases: settings.Aliases ?? null, IPAMConfig: settings.IPAMConfig ?? null, Links: null };
      this.deps.store.save(c);
    });
  }

  async disconnectNetwork(ref: string, network: string, force: boolean): Promise<void> {
    const c = this.get(ref);
    await this.serialize(c.ID, async () => {
      if (!(network in c.Networks)) {
        if (force) return;
        throw precondition(`container ${c.ID} is not connected to network ${network}`);
      }
      if (c.State.Running) await this.deps.networking.disconnectRunning(c, network);
      else delete c.Networks[network];
      this.deps.store.save(c);
    });
  }

  /** Docker's SizeRw (bytes the container wrote) and SizeRootFs (those plus its image's). */
  sizes(ref: string): { rw: number; rootfs: number } {
    const c = this.get(ref);
    let rw = 0;
    try {
      rw = this.deps.snapshotter.usage(c.SnapshotKey).size;
    } catch {
      // the snapshot is gone (a removal under way)
    }
    let image = 0;
    try {
      image = this.deps.images.size(this.deps.images.get(c.Image));
    } catch {
      // its image was removed with -f
    }
    return { rw, rootfs: rw + image };
  }

  /** The containers that use an image (for rmi's conflicts). */
  usersOf(imageId: string): Array<{ id: string; running: boolean }> {
    return this.deps.store.list().filter((c) => c.Image === imageId).map((c) => ({ id: c.ID, running: c.State.Running }));
  }

  /** Snapshot keys the containers hold (kept by image GC). */
  snapshotKeys(): string[] {
    return this.deps.store.list().map((c) => c.SnapshotKey);
  }

  /**
   * After a daemon (re)start: containers whose task ended while the daemon was away get their
   * exit recorded (and their restart policy); running ones are watched again; `always` and
   * `unless-stopped` (not stopped by a user) containers that are down are started.
   */
  async restore(): Promise<void> {
    await this.deps.tasks.restore();
    for (const c of this.deps.store.list()) {
      if (c.State.Status === 'removing') {
        await this.removeNow(c.ID, { force: true }).catch(() => {});
        continue;
      }
      if (c.State.Running) {
        let status;
        try {
          status = await this.deps.tasks.status(this.deps.namespace, c.ID);
        } catch {
          status = undefined;
        }
        if (status && status.status !== 'stopped') {
          if (status.status === 'paused' && !c.State.Paused) c.State = { ...c.State, Status: 'paused', Paused: true };
          this.deps.store.save(c);
          continue;
        }
        // It ended while the daemon was away: recorded now, then the daemon-start rule below.
        await this.serialize(c.ID, () => this.onExit(c.ID, status?.exit ?? { status: 255, oomKilled: false, exitedAt: new Date() }, undefined, status?.exitReason ?? (status ? undefined : 'its task was lost while the daemon was down')));
        this.cancelRestart(c.ID);
      }
      const now = this.deps.store.find(c.ID);
      if (!now || now.State.Running) continue;
      // A start the daemon died in may have left a task, a network namespace and mounts.
      if (!c.State.Running) await this.clearInterruptedStart(now);
      const p = now.HostConfig.RestartPolicy?.Name;
      if (now.State.Restarting || ((p === 'always' || (p === 'unless-stopped' && !now.ManuallyStopped)) && now.HasBeenStarted)) {
        now.State = { ...now.State, Restarting: false, Status: 'exited' };
        this.deps.store.save(now);
        await this.start(c.ID).catch((err) => this.deps.warn?.(`restart ${c.ID.slice(0, 12)} at daemon start: ${(err as Error).message}`));
      }
    }
  }

  private async clearInterruptedStart(c: ContainerRecord): Promise<void> {
    await this.deleteTask(c.ID);
    await this.releaseNetwork(c);
    this.unmountRun(c.ID);
  }

  /** Stops the restart timers (the daemon is shutting down; containers keep running). */
  close(): void {
    this.restarts.close();
  }
}

function readHostname(): string {
  try {
    return readFileSync('/etc/hostname', 'utf8').trim();
  } catch {
    return 'localhost';
  }
}


/** Whether `p` settles within `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  const done = p.then(() => true);
  const r = await Promise.race([done, timeout]);
  clearTimeout(timer);
  return r;
}
