// Pod sandboxes (containerd's sandbox_run/stop/remove/status/list): a pod is a network namespace
// set up through the pod network (CNI), a directory with its hostname, hosts and resolv.conf, its
// own /dev/shm, and the pause process (berth's init) holding the pod's namespaces, run as a task
// in the CRI's namespace with a container record that `ctr -n k8s.io containers ls` shows.
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname as hostHostname } from 'node:os';
import { join } from 'node:path';
import { BerthError, invalid, notFound, precondition } from '../common/errors.js';
import type { Message } from '../common/grpc/service-def.js';
import { createNetns, removeNetns } from '../network/netns.js';
import { isMountPoint, mountAll, unmountAll } from '../sys/mount.js';
import { CriContext } from './context.js';
import type { PodNetworkRequest } from './pod-network.js';
import { BUILTIN_SANDBOX_IMAGE, ensureBuiltinSandboxImage, PAUSE_PATH } from './sandbox-image.js';
import { namespaceModes } from './spec/namespaces.js';
import { sandboxSpec } from './spec/sandbox-spec.js';
import type { SandboxRecord } from './store.js';

export const SPEC_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Spec';
export const RUNC_RUNTIME = 'io.containerd.runc.v2';
const SHM_SIZE = '65536k';

export type SandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';

/**
 * Port mappings are checked before anything is set up: one the network cannot make would fail
 * its set-up and its teardown alike, leaving a pod that cannot be removed.
 */
function checkPortMappings(mappings: unknown): void {
  if (mappings === undefined || mappings === null) return;
  if (!Array.isArray(mappings)) throw invalid('config.port_mappings must be a list');
  const port = (v: unknown, field: string, min: number): void => {
    const n = Number(v ?? 0);
    if (!Number.isInteger(n) || n < min || n > 65535) throw invalid(`${field} ${String(v)} must be an integer from ${min} to 65535`);
  };
  for (const [i, m] of (mappings as Message[]).entries()) {
    const field = `config.port_mappings[${i}]`;
    port(m?.container_port, `${field}.container_port`, Number(m?.host_port ?? 0) > 0 ? 1 : 0);
    port(m?.host_port, `${field}.host_port`, 0);
    const protocol = String(m?.protocol ?? 'TCP');
    if (!['TCP', 'UDP', 'SCTP'].includes(protocol)) throw invalid(`${field}.protocol "${protocol}" must be TCP, UDP or SCTP`);
    if (m?.host_ip && isIP(String(m.host_ip)) === 0) throw invalid(`${field}.host_ip "${String(m.host_ip)}" is not an IP address`);
  }
}

export class SandboxService {
  /** Set by the CRI server: stops and removes a pod's containers, and restores them after a restart. */
  containers!: { stopAll(sandboxId: string): Promise<void>; removeAll(sandboxId: string): Promise<void>; restore(): void };

  constructor(private readonly ctx: CriContext) {}

  private get tasks() {
    return this.ctx.supervisor.tasks;
  }

  /** Where pods' network namespace files are (a private mount of its own). */
  private get netnsDir(): string {
    return join(this.ctx.options.execDir, 'netns');
  }

  /** RunPodSandbox. */
  async run(config: Message, runtimeHandler: string): Promise<string> {
    const meta = (config?.metadata ?? {}) as Message;
    for (const f of ['name', 'uid', 'namespace']) if (!meta[f]) throw invalid(`config.metadata.${f} must not be empty`);
    checkPortMappings(config.port_mappings);
    if (runtimeHandler && runtimeHandler !== 'runc' && runtimeHandler !== this.ctx.options.runtime) throw invalid(`no runtime for "${runtimeHandler}" is configured (berth runs pods with its own runtime: leave runtime_handler empty)`);
    const name = `${meta.name}_${meta.namespace}_${meta.uid}_${meta.attempt ?? 0}`;
    // One creation at a time per name: a second pod with the same metadata is refused, not raced.
    return this.ctx.locks.run(`sandbox-name/${name}`, async () => {
      this.ctx.store.checkName('sandbox', name);
      const id = randomBytes(32).toString('hex');
      return this.ctx.locks.run(id, () => this.create(id, name, config, runtimeHandler));
    });
  }

  private async create(id: string, name: string, config: Message, runtimeHandler: string): Promise<string> {
    const { ctx } = this;
    const linux = (config.linux ?? {}) as Message;
    const modes = namespaceModes(linux.security_context);
    const image = await this.sandboxImage();
    const dir = join(ctx.options.dataDir, 'sandboxes', id);
    const rec: SandboxRecord = {
      id, name, config, runtimeHandler, createdAt: CriContext.now(), state: 'notready', dir, image: ctx.options.sandboxImage,
      cgroupParent: String(linux.cgroup_parent || ctx.options.cgroupParent),
    };
    // The paths of what will be set up are saved before anything is, so that a daemon killed
    // half-way finds everything to tear down (each step of the teardown copes with a path that
    // was never made).
    if (modes.ipc !== 'NODE') rec.shmPath = join(ctx.options.execDir, 'sandboxes', id, 'shm');
    if (modes.network !== 'NODE') rec.netnsPath = join(this.netnsDir, id);
    ctx.store.sandboxes.save(rec);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o711 });
      this.writeFiles(rec, modes.network === 'NODE');
      if (rec.shmPath) {
        mkdirSync(rec.shmPath, { recursive: true, mode: 0o711 });
        mountAll([{ type: 'tmpfs', source: 'shm', options: ['nosuid', 'nodev', 'noexec', 'mode=1777', `size=${SHM_SIZE}`] }], rec.shmPath);
      }
      if (rec.netnsPath) {
        createNetns(this.netnsDir, id, { loopbackUp: false }); // CNI's loopback plugin brings lo up
        const { ips } = await ctx.network.setup(this.networkRequest(rec));
        rec.ip = ips[0];
        rec.additionalIps = ips.slice(1);
      }
      ctx.store.sandboxes.save(rec);
      const spec = sandboxSpec({
        id, config, netnsPath: rec.netnsPath, shmPath: rec.shmPath, cgroupsPath: `${rec.cgroupParent}/${id}`,
        oomScoreAdj: ctx.clampOomScoreAdj(-998), hostCapabilities: ctx.hostCapabilities, pausePath: PAUSE_PATH,
      });
      const specJson = Buffer.from(JSON.stringify(spec));
      const sn = ctx.supervisor.snapshotter(ctx.ns);
      const mounts = sn.prepare(id, image.topChainId, { 'containerd.io/snapshot.ref': id });
      ctx.supervisor.namespaces.ensure(ctx.ns);
      ctx.supervisor.containers.create(ctx.ns, {
        id, labels: { ...(config.labels ?? {}), 'io.cri-containerd.kind': 'sandbox' }, image: rec.image, runtime: { name: RUNC_RUNTIME },
        spec: { typeUrl: SPEC_TYPE_URL, value: specJson.toString('base64') }, snapshotter: ctx.supervisor.snapshotterName, snapshotKey: id, extensions: {},
      });
      const bundle = ctx.bundles.prepare(ctx.ns, id, specJson, mounts);
      const task = await this.tasks.create(ctx.ns, id, { bundle, runtime: ctx.options.runtime });
      await this.tasks.start(ctx.ns, id);
      rec.pid = task.pid;
      rec.state = 'ready';
      ctx.store.sandboxes.save(rec);
      return id;
    } catch (err) {
      await this.release(rec).catch((e: Error) => ctx.options.log('warn', `pod sandbox ${id}: cleaning up a failed start: ${e.message}`));
      throw err;
    }
  }

  /** The configured sandbox image: the built-in one is made here, another must have been pulled or is pulled now. */
  private async sandboxImage() {
    const { ctx } = this;
    if (ctx.options.sandboxImage === BUILTIN_SANDBOX_IMAGE && !ctx.images.find(BUILTIN_SANDBOX_IMAGE)) await ctx.locks.run('sandbox-image', async () => {
      if (!ctx.images.find(BUILTIN_SANDBOX_IMAGE)) await ensureBuiltinSandboxImage(ctx.supervisor, ctx.ns);
    });
    if (!ctx.images.find(ctx.options.sandboxImage)) await ctx.images.pull(ctx.options.sandboxImage);
    return ctx.images.get(ctx.options.sandboxImage);
  }

  /** /etc/hostname, /etc/hosts and /etc/resolv.conf for the pod's containers (containerd's setupSandboxFiles). */
  private writeFiles(rec: SandboxRecord, hostNetwork: boolean): void {
    const hostname = hostNetwork ? hostHostname() : String(rec.config.hostname || hostHostname());
    writeFileSync(join(rec.dir, 'hostname'), `${hostname}\n`, { mode: 0o644 });
    if (existsSync('/etc/hosts')) copyFileSync('/etc/hosts', join(rec.dir, 'hosts'));
    else writeFileSync(join(rec.dir, 'hosts'), '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n', { mode: 0o644 });
    const dns = rec.config.dns_config as Message | undefined;
    let resolv: string;
    if (dns && (dns.servers?.length || dns.searches?.length || dns.options?.length)) {
      resolv = [
        ...(dns.searches?.length ? [`search ${(dns.searches as string[]).join(' ')}`] : []),
        ...(dns.servers as string[] ?? []).map((s) => `nameserver ${s}`),
        ...(dns.options?.length ? [`options ${(dns.options as string[]).join(' ')}`] : []),
      ].join('\n') + '\n';
    } else resolv = existsSync('/etc/resolv.conf') ? readFileSync('/etc/resolv.conf', 'utf8') : '';
    writeFileSync(join(rec.dir, 'resolv.conf'), resolv, { mode: 0o644 });
  }

  private networkRequest(rec: SandboxRecord): PodNetworkRequest {
    const meta = rec.config.metadata as Message;
    return { id: rec.id, name: String(meta.name), namespace: String(meta.namespace), uid: String(meta.uid), netnsPath: rec.netnsPath!, portMappings: (rec.config.port_mappings ?? []) as Message[] };
  }

  /**
   * Tears down what a pod holds on the node (its pause task, network, namespace file and /dev/shm);
   * idempotent. The record, snapshot and directory stay until the pod is removed.
   */
  private async stopNow(rec: SandboxRecord): Promise<void> {
    const { ctx } = this;
    await this.containers.stopAll(rec.id);
    const status = await this.tasks.status(ctx.ns, rec.id).catch(() => undefined);
    if (status && status.status !== 'stopped') {
      await this.tasks.kill(ctx.ns, rec.id, 9, { all: true }).catch(() => {});
      await this.tasks.wait(ctx.ns, rec.id);
    }
    // The pause task goes too, as containerd deletes a sandbox's task when it exits: its cgroup
    // and rootfs mount are not held by a pod that only waits for removal.
    await ctx.deleteTask(rec.id);
    if (rec.netnsPath) {
      await ctx.network.teardown(this.networkRequest(rec));
      removeNetns(rec.netnsPath);
      rec.netnsPath = undefined;
    }
    if (rec.shmPath) {
      if (isMountPoint(rec.shmPath)) unmountAll(rec.shmPath);
      rmSync(join(ctx.options.execDir, 'sandboxes', rec.id), { recursive: true, force: true });
      rec.shmPath = undefined;
    }
    rec.state = 'notready';
    rec.pid = undefined;
    ctx.store.sandboxes.save(rec);
  }

  /** Everything a pod holds, then its record: the last step of remove, and the undo of a failed run. */
  private async release(rec: SandboxRecord): Promise<void> {
    const { ctx } = this;
    await this.stopNow(rec);
    ctx.removeRecordAndSnapshot(rec.id);
    rmSync(rec.dir, { recursive: true, force: true });
    ctx.store.sandboxes.remove(rec.id);
  }

  /** StopPodSandbox: its containers are killed, the pause process stops, the network goes. */
  async stop(idOrPrefix: string): Promise<void> {
    const rec = this.ctx.store.sandboxes.resolve(idOrPrefix);
    await this.ctx.locks.run(rec.id, async () => {
      const current = this.ctx.store.sandboxes.find(rec.id);
      if (current) await this.stopNow(current);
    });
  }

  /** RemovePodSandbox: stops it if need be, removes its containers and everything it held. */
  async remove(idOrPrefix: string): Promise<void> {
    let rec: SandboxRecord;
    try {
      rec = this.ctx.store.sandboxes.resolve(idOrPrefix);
    } catch (err) {
      if (err instanceof BerthError && err.code === 'NOT_FOUND') return; // already gone: as containerd, no error
      throw err;
    }
    await this.ctx.locks.run(rec.id, async () => {
      const current = this.ctx.store.sandboxes.find(rec.id);
      if (!current) return;
      await this.containers.removeAll(rec.id);
      await this.release(current);
    });
  }

  /** A ready pod whose pause process is gone is not ready. */
  async state(rec: SandboxRecord): Promise<SandboxState> {
    if (rec.state !== 'ready') return 'SANDBOX_NOTREADY';
    const status = await this.tasks.status(this.ctx.ns, rec.id).catch(() => undefined);
    return status && (status.status === 'running' || status.status === 'paused') ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY';
  }

  get(idOrPrefix: string): SandboxRecord {
    return this.ctx.store.sandboxes.resolve(idOrPrefix);
  }

  /**
   * A ready pod, for creating (`create`) and starting (`start`) its containers. A pod that is not
   * ready has no pause process to join: creating in it is NOT_FOUND, as containerd answers (its
   * sandbox task is gone), starting a container created before is FAILED_PRECONDITION.
   */
  async ready(idOrPrefix: string, forWhat: 'create' | 'start'): Promise<SandboxRecord> {
    const rec = this.get(idOrPrefix);
    if ((await this.state(rec)) === 'SANDBOX_READY' && rec.pid) return rec;
    const message = `pod sandbox ${rec.id} is not ready (stopped, or its pause process is gone): no container can be ${forWhat === 'create' ? 'created' : 'started'} in it; run a new pod`;
    throw forWhat === 'create' ? notFound(message) : precondition(message);
  }

  list(): SandboxRecord[] {
    return this.ctx.store.sandboxes.list();
  }

  /**
   * After a daemon restart: containers whose creation was cut short go; a pod whose creation was
   * cut short is released; a ready pod whose pause process died is torn down to not-ready (its
   * network goes), as StopPodSandbox would.
   */
  async restore(): Promise<void> {
    try {
      this.containers.restore();
    } catch (err) {
      this.ctx.options.log('warn', `containers: restoring after restart: ${(err as Error).message}`);
    }
    for (const rec of this.list()) {
      try {
        if (rec.state === 'notready' && !rec.pid && !this.ctx.supervisor.containers.find(this.ctx.ns, rec.id)) {
          await this.release(rec);
          continue;
        }
        if ((await this.state(rec)) === 'SANDBOX_NOTREADY' && (rec.netnsPath || rec.shmPath || rec.state === 'ready')) await this.stopNow(rec);
      } catch (err) {
        this.ctx.options.log('warn', `pod sandbox ${rec.id}: restoring after restart: ${(err as Error).message}`);
      }
    }
  }
}
