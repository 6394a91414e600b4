// Container records as containerd keeps them: metadata only (which image, runtime, spec,
// snapshot), no process — a task is what runs. One JSON file per container,
// <data-root>/container-records/<namespace>/<id>.json, written atomically; containerd's
// /containers/* events announce creations, updates and removals. Protobuf Any values (spec,
// runtime options, extensions) are kept as their type URL and base64 bytes: the supervisor stores
// them, the front end decodes them.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { errnoOf, exists, invalid, notFound } from '../../common/errors.js';
import { readJsonRecord, writeFileAtomic } from '../../sys/fs-atomic.js';
import { containerdEvent, type Publish } from '../events/exchange.js';
import { isNamespaceName, validateLabels, validateNamespace } from '../namespaces/names.js';

/** A protobuf Any: its type URL and its encoded bytes, base64. */
export interface AnyValue {
  typeUrl: string;
  value: string;
}

export interface ContainerRecord {
  id: string;
  labels: Record<string, string>;
  image: string;
  runtime: { name: string; options?: AnyValue };
  spec?: AnyValue;
  snapshotter: string;
  snapshotKey: string;
  extensions: Record<string, AnyValue>;
  createdAt: string;
  updatedAt: string;
}

export type NewContainer = Omit<ContainerRecord, 'createdAt' | 'updatedAt'>;

// containerd's identifier rule for container ids.
const ID = /^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$/;

export function validateContainerId(id: string): string {
  if (!id) throw invalid('identifier must not be empty: container id');
  if (id.length > 76) throw invalid(`identifier "${id}" greater than maximum length (76 characters)`);
  if (!ID.test(id)) throw invalid(`identifier "${id}" must match ${ID.source}`);
  return id;
}

export class ContainerStore {
  constructor(readonly root: string, private readonly publish?: Publish) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  private dir(namespace: string): string {
    return join(this.root, validateNamespace(namespace));
  }

  private path(namespace: string, id: string): string {
    return join(this.dir(namespace), `${validateContainerId(id)}.json`);
  }

  find(namespace: string, id: string): ContainerRecord | undefined {
    return readJsonRecord<ContainerRecord>(this.path(namespace, id));
  }

  get(namespace: string, id: string): ContainerRecord {
    const r = this.find(namespace, id);
    if (!r) throw notFound(`container "${id}" in namespace "${namespace}": not found`);
    return r;
  }

  list(namespace: string): ContainerRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir(namespace));
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return [];
      throw err;
    }
    return names.filter((n) => n.endsWith('.json')).sort().flatMap((n) => {
      try {
        return [JSON.parse(readFileSync(join(this.dir(namespace), n), 'utf8')) as ContainerRecord];
      } catch {
        return []; // removed meanwhile
      }
    });
  }

  namespaces(): string[] {
    return readdirSync(this.root).filter((n) => isNamespaceName(n) && this.list(n).length > 0);
  }

  create(namespace: string, c: NewContainer): ContainerRecord {
    validateContainerId(c.id);
    if (!c.runtime.name) throw invalid('must be set: container.Runtime.Name');
    if (this.find(namespace, c.id)) throw exists(`container "${c.id}": already exists`);
    const now = new Date().toISOString();
    const record: ContainerRecord = { ...c, labels: validateLabels(c.labels, 'container.Labels'), createdAt: now, updatedAt: now };
    this.write(namespace, record);
    this.publish?.(namespace, '/containers/create', containerdEvent('ContainerCreate', { id: c.id, image: c.image, runtime: { name: c.runtime.name } }));
    return record;
  }

  /** Replaces a record (the caller has applied the field mask); the creation time stays. */
  update(namespace: string, c: ContainerRecord): ContainerRecord {
    const old = this.get(namespace, c.id);
    const record: ContainerRecord = { ...c, labels: validateLabels(c.labels, 'container.Labels'), createdAt: old.createdAt, updatedAt: new Date().toISOString() };
    this.write(namespace, record);
    this.publish?.(namespace, '/containers/update', containerdEvent('ContainerUpdate', { id: c.id, image: c.image, labels: record.labels, snapshot_key: c.snapshotKey }));
    return record;
  }

  delete(namespace: string, id: string): void {
    this.get(namespace, id);
    rmSync(this.path(namespace, id), { force: true });
    this.publish?.(namespace, '/containers/delete', containerdEvent('ContainerDelete', { id }));
  }

  private write(namespace: string, record: ContainerRecord): void {
    mkdirSync(this.dir(namespace), { recursive: true, mode: 0o700 });
    writeFileAtomic(this.path(namespace, record.id), JSON.stringify(record), 0o600);
  }
}
