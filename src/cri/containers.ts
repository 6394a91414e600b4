// A pod's containers (containerd's container_create/start/stop/remove/status/list/update and
// exec_sync): a container record in the CRI's namespace with its spec and snapshot, made at
// create; a task at start, its output in the kubelet's log format at the path the kubelet gave.
// The state the CRI reports comes from the task: none yet is CREATED, a running one RUNNING, an
// exited one EXITED with its code, until the container is removed.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { BerthError, invalid, precondition } from '../common/errors.js';
import { GrpcError } from '../common/grpc/errors.js';
import type { Message } from '../common/grpc/service-def.js';
import { ensureWorkingDir } from '../image/rootfs-files.js';
import { readUserDatabase, type UserDatabase } from '../image/user-database.js';
import { parseSignal } from '../runtime/container/kill.js';
import type { Spec } from '../runtime/spec/types.js';
import { frameSplitter } from '../supervisor/tasks/output-frames.js';
import type { ExitStatus } from '../supervisor/tasks/shim-client.js';
import { isMountPoint, mountAll, unmountAll } from '../sys/mount.js';
import { CriContext } from './context.js';
import { RUNC_RUNTIME, SPEC_TYPE_URL, type SandboxService } from './sandboxes.js';
import { containerSpec } from './spec/container-spec.js';
import { ociResources } from './spec/resources.js';
import type { ContainerCriRecord } from './store.js';

export type ContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';

export interface ContainerView {
  rec: ContainerCriRecord;
  state: ContainerState;
  pid?: number;
  exit?: ExitStatus;
}

/** The exit code and reason containerd gives a container whose task could not start. */
const START_ERROR_CODE = 128;
/** ExecSync keeps at most this much of each stream (the kubelet reads probes' first bytes only). */
const MAX_EXEC_OUTPUT = 16 << 20;

export class ContainerService {
  private readonly userDbs = new Map<string, UserDatabase>();

  constructor(private readonly ctx: CriContext, private readonly sandboxes: SandboxService) {}

  private get tasks() {
    return this.ctx.supervisor.tasks;
  }

  private spec(id: string): Spec {
    const rec = this.ctx.supervisor.containers.get(this.ctx.ns, id);
    return JSON.parse(Buffer.from(rec.spec!.value, 'base64').toString('utf8')) as Spec;
  }

  /** CreateContainer. */
  async create(sandboxId: string, config: Message): Promise<string> {
    const { ctx } = this;
    const meta = (config?.metadata ?? {}) as Message;
    if (!meta.name) throw invalid('config.metadata.name must not be empty');
    const sandbox = await this.sandboxes.ready(sandboxId, 'create');
    const podMeta = sandbox.config.metadata as Message;
    const name = `${meta.name}_${podMeta.name}_${podMeta.namespace}_${podMeta.uid}_${meta.attempt ?? 0}`;
    const imageRef = String(config.image?.image ?? '');
    const image = ctx.images.get(imageRef);
    return ctx.locks.run(`container-name/${name}`, async () => {
      ctx.store.checkName('container', name);
      const id = randomBytes(32).toString('hex');
      const sn = ctx.supervisor.snapshotter(ctx.ns);
      const mounts = sn.prepare(id, image.topChainId, { 'containerd.io/snapshot.ref': id });
      try {
        const own = (config.linux?.security_context?.namespace_options ?? {}) as Message;
        const targetPid = own.pid === 'TARGET' && own.target_id ? (await this.view(this.get(String(own.target_id)))).pid : undefined;
        const spec = containerSpec({
          id, config, sandbox, sandboxPid: sandbox.pid!, targetPid, image: image.config, imageName: imageRef, userDb: this.userDatabase(image.id, mounts),
          cgroupsPath: `${sandbox.cgroupParent}/${id}`, clampOomScoreAdj: ctx.clampOomScoreAdj, hostCapabilities: ctx.hostCapabilities,
        });
        ctx.supervisor.containers.create(ctx.ns, {
          id, labels: { ...(config.labels ?? {}), 'io.cri-containerd.kind': 'container', 'io.kubernetes.pod.uid': String(podMeta.uid), 'io.kubernetes.pod.name': String(podMeta.name), 'io.kubernetes.pod.namespace': String(podMeta.namespace), 'io.kubernetes.container.name': String(meta.name) },
          image: image.repoTags[0] ?? image.id, runtime: { name: RUNC_RUNTIME }, spec: { typeUrl: SPEC_TYPE_URL, value: Buffer.from(JSON.stringify(spec)).toString('base64') },
          snapshotter: ctx.supervisor.snapshotterName, snapshotKey: id, extensions: {},
        });
        const logDir = String(sandbox.config.log_directory ?? '');
        const logPath = logDir && config.log_path ? join(logDir, String(config.log_path)) : undefined;
        ctx.store.containers.save({
          id, sandboxId: sandbox.id, name, config, imageId: image.id, imageRef: image.repoDigests[0] ?? image.id, ...(logPath ? { logPath } : {}), createdAt: CriContext.now(),
        });
        return id;
      } catch (err) {
        if (ctx.supervisor.containers.find(ctx.ns, id)) ctx.supervisor.containers.delete(ctx.ns, id);
        sn.remove(id);
        throw err;
      }
    });
  }

  /**
   * The image's /etc/passwd and /etc/group (they decide the process user), read through a short
   * mount of a new container's rootfs the first time an image is used; an image never changes.
   */
  private userDatabase(imageId: string, mounts: Parameters<typeof mountAll>[0]): UserDatabase {
    let db = this.userDbs.get(imageId);
    if (db) return db;
    const peek = mkdtempSync(join(this.ctx.options.execDir, 'peek-'));
    try {
      mountAll(mounts, peek);
      try {
        db = readUserDatabase(peek);
      } finally {
        unmountAll(peek);
      }
    } finally {
      rmSync(peek, { recursive: true, force: true });
    }
    if (this.userDbs.size >= 256) this.userDbs.clear();
    this.userDbs.set(imageId, db);
    return db;
  }

  get(idOrPrefix: string): ContainerCriRecord {
    return this.ctx.store.containers.resolve(idOrPrefix);
  }

  /** The container with its state, from its task. */
  async view(rec: ContainerCriRecord): Promise<ContainerView> {
    const st = await this.tasks.status(this.ctx.ns, rec.id).catch(() => undefined);
    if (!st) return { rec, state: rec.finishedAt ? 'CONTAINER_EXITED' : 'CONTAINER_CREATED' };
    if (st.status === 'created') return { rec, state: 'CONTAINER_CREATED', pid: st.pid };
    if (st.status === 'stopped') return { rec, state: 'CONTAINER_EXITED', pid: st.pid, exit: st.exit };
    return { rec, state: 'CONTAINER_RUNNING', pid: st.pid };
  }

  /** StartContainer. */
  async start(idOrPrefix: string): Promise<void> {
    const rec = this.get(idOrPrefix);
    await this.ctx.locks.run(rec.id, async () => {
      const { ctx } = this;
      const v = await this.view(rec);
      if (v.state !== 'CONTAINER_CREATED' || v.pid) throw precondition(`container ${rec.id} is in ${v.state} state: only a created container can be started`);
      await this.sandboxes.ready(rec.sandboxId, 'start');
      const spec = this.spec(rec.id);
      try {
        const bundle = ctx.bundles.prepare(ctx.ns, rec.id, Buffer.from(JSON.stringify(spec)), ctx.supervisor.snapshotter(ctx.ns).mounts(rec.id));
        ensureWorkingDir(join(bundle, 'rootfs'), spec.process!.cwd);
        if (rec.logPath) mkdirSync(dirname(rec.logPath), { recursive: true, mode: 0o755 });
        await this.tasks.create(ctx.ns, rec.id, {
          bundle, runtime: ctx.options.runtime, terminal: !!rec.config.tty, stdin: !!rec.config.stdin, stdinOnce: !!rec.config.stdin_once,
          ...(rec.logPath ? { log: { path: rec.logPath, format: 'cri' as const } } : {}),
        });
        await this.tasks.start(ctx.ns, rec.id);
        ctx.store.containers.save({ ...rec, startedAt: CriContext.now() });
      } catch (err) {
        await this.tasks.delete(ctx.ns, rec.id, true).catch(() => {});
        ctx.bundles.remove(ctx.ns, rec.id);
        ctx.store.containers.save({ ...rec, finishedAt: CriContext.now(), exitCode: START_ERROR_CODE, reason: 'StartError', message: (err as Error).message });
        throw err;
      }
    });
  }

  /** StopContainer: the image's stop signal (else SIGTERM), then SIGKILL after `timeout` seconds. */
  async stop(idOrPrefix: string, timeoutSeconds: number): Promise<void> {
    const rec = this.get(idOrPrefix);
    await this.ctx.locks.run(rec.id, () => this.stopNow(rec, timeoutSeconds));
  }

  private async stopNow(rec: ContainerCriRecord, timeoutSeconds: number): Promise<void> {
    const { ctx } = this;
    const v = await this.view(rec);
    if (v.state !== 'CONTAINER_RUNNING') return;
    const waited = this.tasks.wait(ctx.ns, rec.id);
    if (timeoutSeconds > 0) {
      const img = ctx.images.find(rec.imageId);
      const signal = img?.config.config?.StopSignal ? parseSignal(img.config.config.StopSignal) : 15;
      await this.tasks.kill(ctx.ns, rec.id, signal).catch(() => {});
      const done = await Promise.race([waited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), timeoutSeconds * 1000).unref())]);
      if (done) return;
    }
    await this.tasks.kill(ctx.ns, rec.id, 9, { all: true }).catch(() => {});
    await waited;
  }

  /** RemoveContainer: a running container is killed first; a missing one is no error. */
  async remove(idOrPrefix: string): Promise<void> {
    let rec: ContainerCriRecord;
    try {
      rec = this.get(idOrPrefix);
    } catch (err) {
      if (err instanceof BerthError && err.code === 'NOT_FOUND') return;
      throw err;
    }
    await this.ctx.locks.run(rec.id, async () => {
      const { ctx } = this;
      if (!ctx.store.containers.find(rec.id)) return;
      await this.stopNow(rec, 0);
      await ctx.deleteTask(rec.id);
      ctx.removeRecordAndSnapshot(rec.id);
      ctx.store.containers.remove(rec.id);
    });
  }

  list(): ContainerCriRecord[] {
    return this.ctx.store.containers.list();
  }

  /**
   * After a daemon restart: what a CreateContainer cut short left goes, as its failure would have
   * undone it: a scratch mount of a new rootfs, a supervisor container with its snapshot that never
   * got its CRI record (the record is written last, so a container with one is whole), a snapshot
   * alone.
   */
  restore(): void {
    const { ctx } = this;
    for (const name of readdirSync(ctx.options.execDir).filter((n) => n.startsWith('peek-'))) {
      const peek = join(ctx.options.execDir, name);
      if (isMountPoint(peek)) unmountAll(peek);
      rmSync(peek, { recursive: true, force: true });
    }
    const supervisorContainers = ctx.supervisor.containers.list(ctx.ns);
    for (const c of supervisorContainers) {
      if (c.labels?.['io.cri-containerd.kind'] !== 'container' || ctx.store.containers.find(c.id)) continue;
      ctx.options.log('info', `container ${c.id}: its creation was cut short by a daemon restart; removing what it left`);
      ctx.removeRecordAndSnapshot(c.id);
    }
    // A kill between preparing the rootfs and creating the supervisor container leaves only the
    // snapshot: one the CRI prepared (named by the ID it references) that nothing owns.
    const owned = new Set([...supervisorContainers.map((c) => c.snapshotKey), ...ctx.store.sandboxes.list().map((r) => r.id)]);
    for (const sn of ctx.supervisor.snapshotter(ctx.ns).list()) {
      if (sn.kind !== 'active' || !/^[0-9a-f]{64}$/.test(sn.key) || sn.labels['containerd.io/snapshot.ref'] !== sn.key || owned.has(sn.key) || ctx.store.containers.find(sn.key)) continue;
      ctx.options.log('info', `snapshot ${sn.key}: a container's rootfs whose creation was cut short by a daemon restart; removing it`);
      ctx.removeSnapshot(sn.key);
    }
  }

  inSandbox(sandboxId: string): ContainerCriRecord[] {
    return this.list().filter((c) => c.sandboxId === sandboxId);
  }

  async stopAll(sandboxId: string): Promise<void> {
    await Promise.all(this.inSandbox(sandboxId).map((c) => this.ctx.locks.run(c.id, () => this.stopNow(c, 0))));
  }

  async removeAll(sandboxId: string): Promise<void> {
    await Promise.all(this.inSandbox(sandboxId).map((c) => this.remove(c.id)));
  }

  /** UpdateContainerResources: the running task's cgroups, and the spec for later starts. */
  async updateResources(idOrPrefix: string, linux: Message | null | undefined): Promise<void> {
    const rec = this.get(idOrPrefix);
    await this.ctx.locks.run(rec.id, async () => {
      const { ctx } = this;
      const resources = ociResources(linux);
      const v = await this.view(rec);
      if (v.state === 'CONTAINER_EXITED') throw precondition(`container ${rec.id} has exited: its resources cannot be updated`);
      if (v.state === 'CONTAINER_RUNNING') await this.tasks.update(ctx.ns, rec.id, resources);
      const record = ctx.supervisor.containers.get(ctx.ns, rec.id);
      const spec = this.spec(rec.id);
      spec.linux = { ...spec.linux, resources: { ...spec.linux?.resources, ...resources } };
      if (spec.process && linux?.oom_score_adj !== undefined) spec.process.oomScoreAdj = ctx.clampOomScoreAdj(Number(linux.oom_score_adj));
      ctx.supervisor.containers.update(ctx.ns, { ...record, spec: { typeUrl: SPEC_TYPE_URL, value: Buffer.from(JSON.stringify(spec)).toString('base64') } });
      ctx.store.containers.save({ ...rec, config: { ...rec.config, linux: { ...(rec.config.linux ?? {}), resources: linux } } });
    });
  }

  /** ReopenContainerLog: the shim reopens the log file (after the kubelet rotated it away). */
  async reopenLog(idOrPrefix: string): Promise<void> {
    const rec = this.get(idOrPrefix);
    const v = await this.view(rec);
    if (v.state !== 'CONTAINER_RUNNING') throw precondition(`container ${rec.id} is not running: its log cannot be reopened`);
    if (!rec.logPath) throw precondition(`container ${rec.id} has no log path`);
    await this.tasks.shim(this.ctx.ns, rec.id).reopenLog();
  }

  /** The process an exec runs: the container's own, with another command and no terminal. */
  execProcess(id: string, cmd: string[], tty: boolean) {
    if (!cmd.length) throw invalid('cmd must not be empty');
    return { ...this.spec(id).process!, args: cmd, terminal: tty };
  }

  /** ExecSync: runs `cmd` in the container and returns its output and exit code. */
  async execSync(idOrPrefix: string, cmd: string[], timeoutSeconds: number): Promise<{ stdout: Buffer; stderr: Buffer; exitCode: number }> {
    const rec = this.get(idOrPrefix);
    const { ctx } = this;
    if ((await this.view(rec)).state !== 'CONTAINER_RUNNING') throw precondition(`container ${rec.id} is not running`);
    const execId = randomBytes(8).toString('hex');
    await this.tasks.exec(ctx.ns, rec.id, execId, this.execProcess(rec.id, cmd, false), { stdin: false, holdOutputMs: 30_000 });
    const out = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
    const sizes = { stdout: 0, stderr: 0 };
    try {
      const sock = await this.tasks.attach(ctx.ns, rec.id, ['stdout', 'stderr'], execId);
      const drained = new Promise<void>((resolve) => {
        const split = frameSplitter((stream, data) => {
          if (sizes[stream] >= MAX_EXEC_OUTPUT) return;
          out[stream].push(Buffer.from(data.subarray(0, MAX_EXEC_OUTPUT - sizes[stream])));
          sizes[stream] += data.length;
        });
        sock.on('data', split);
        sock.once('close', () => resolve());
        sock.once('error', () => resolve());
        sock.resume(); // attach connections come paused, so that no byte is lost before this
      });
      const exited = this.tasks.wait(ctx.ns, rec.id, execId);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = timeoutSeconds > 0 ? new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutSeconds * 1000))) : new Promise<never>(() => {});
      const first = await Promise.race([exited, timedOut]);
      clearTimeout(timer);
      if (first === 'timeout') {
        await this.tasks.kill(ctx.ns, rec.id, 9, { execId }).catch(() => {});
        await exited.catch(() => {});
        sock.destroy();
        throw new GrpcError(grpcStatus.DEADLINE_EXCEEDED, `command ${JSON.stringify(cmd)} timed out after ${timeoutSeconds}s`);
      }
      await Promise.race([drained, new Promise((r) => setTimeout(r, 2000).unref())]);
      sock.destroy();
      return { stdout: Buffer.concat(out.stdout), stderr: Buffer.concat(out.stderr), exitCode: first.status };
    } finally {
      try {
        this.tasks.deleteExec(ctx.ns, rec.id, execId);
      } catch {
        // still running (a failed attach): it goes with the task
      }
    }
  }

}
