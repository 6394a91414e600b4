// The CRI's own records, beside the supervisor's container records in namespace k8s.io: what a pod
// sandbox or a container was asked for (its CRI config), what berth set up for it (network
// namespace, addresses, files), and the times and exit the CRI reports. One JSON file per object,
// written atomically, under <data-root>/cri. Names are reserved as containerd reserves them, so a
// second pod or container with the same metadata is refused.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError, notFound } from '../common/errors.js';
import type { Message } from '../common/grpc/service-def.js';
import { readJsonRecord, writeFileAtomic } from '../sys/fs-atomic.js';

export interface SandboxRecord {
  id: string;
  /** The reserved name: <name>_<namespace>_<uid>_<attempt>. */
  name: string;
  /** The PodSandboxConfig as the CRI sent it. */
  config: Message;
  runtimeHandler: string;
  /** Unix nanoseconds, as the CRI reports times. */
  createdAt: number;
  state: 'ready' | 'notready';
  /** The network namespace file; none with the host's network. */
  netnsPath?: string;
  ip?: string;
  additionalIps?: string[];
  /** The sandbox's own dir (hostname, hosts, resolv.conf) and its /dev/shm tmpfs. */
  dir: string;
  shmPath?: string;
  /** The pause process's pid while the pod is ready. */
  pid?: number;
  image: string;
  cgroupParent: string;
}

export interface ContainerCriRecord {
  id: string;
  sandboxId: string;
  name: string;
  config: Message;
  /** The image ID (config digest) and what the CRI reports as the reference. */
  imageId: string;
  imageRef: string;
  logPath?: string;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  exitCode?: number;
  reason?: string;
  message?: string;
}

type Kind = 'sandboxes' | 'containers';

class RecordDir<T extends { id: string; name: string }> {
  constructor(private readonly dir: string, private readonly what: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // A daemon killed in the middle of a write leaves its temp file (the record itself is the old
    // one, or none): nothing writes while the store opens, so every temp file is such a leftover,
    // also one of a CreateContainer whose record never made it (restore removes the rest of it).
    for (const name of readdirSync(dir)) if (name.endsWith('.tmp')) rmSync(join(dir, name), { force: true });
  }

  private path(id: string): string {
    if (!/^[0-9a-f]{64}$/.test(id)) throw notFound(`${this.what} "${id}" does not exist`);
    return join(this.dir, `${id}.json`);
  }

  find(id: string): T | undefined {
    return readJsonRecord<T>(this.path(id));
  }

  save(rec: T): void {
    writeFileAtomic(this.path(rec.id), JSON.stringify(rec), 0o600);
  }

  /** Removes the record, and any temp file of it that a daemon killed mid-write left behind. */
  remove(id: string): void {
    const path = this.path(id);
    rmSync(path, { force: true });
    for (const name of readdirSync(this.dir)) if (name.startsWith(`${id}.json.`) && name.endsWith('.tmp')) rmSync(join(this.dir, name), { force: true });
  }

  list(): T[] {
    return readdirSync(this.dir).filter((n) => n.endsWith('.json')).flatMap((n) => {
      const rec = readJsonRecord<T>(join(this.dir, n));
      return rec ? [rec] : [];
    });
  }

  /**
   * An object by its full ID or an unambiguous prefix (the kubelet and crictl pass either, as
   * containerd's truncated index takes them).
   */
  resolve(idOrPrefix: string): T {
    if (!idOrPrefix) throw new BerthError('INVALID_ARGUMENT', `${this.what} ID must not be empty`);
    if (/^[0-9a-f]{64}$/.test(idOrPrefix)) {
      const rec = this.find(idOrPrefix);
      if (rec) return rec;
    }
    const matches = this.list().filter((r) => r.id.startsWith(idOrPrefix));
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) throw new BerthError('INVALID_ARGUMENT', `${this.what} ID "${idOrPrefix}" is ambiguous: give more of it`);
    throw notFound(`an error occurred when try to find ${this.what} "${idOrPrefix}": not found`);
  }
}

export class CriStore {
  readonly sandboxes: RecordDir<SandboxRecord>;
  readonly containers: RecordDir<ContainerCriRecord>;

  constructor(readonly root: string) {
    this.sandboxes = new RecordDir(join(root, 'sandboxes' satisfies Kind), 'sandbox');
    this.containers = new RecordDir(join(root, 'containers' satisfies Kind), 'container');
  }

  /** Refuses a name another sandbox or container holds (containerd's name index). */
  checkName(kind: 'sandbox' | 'container', name: string): void {
    const owners: Array<{ id: string; name: string }> = kind === 'sandbox' ? this.sandboxes.list() : this.containers.list();
    const owner = owners.find((r) => r.name === name);
    if (owner) throw new BerthError('ALREADY_EXISTS', `failed to reserve ${kind} name "${name}": name "${name}" is reserved for "${owner.id}"`);
  }
}
