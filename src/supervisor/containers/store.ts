// Container records as containerd keeps them: metadata only (which image, runtime, spec,
// snapshot), no process — a task is what runs. One JSON file per container,
// <data-root>/container-records/<namespace>/<id>.json, written atomically; containerd's
// /containers/* events announce creations, updates and removals. Protobuf Any values (spec,
// runtime options, extensions) are kept as their type URL and base64 bytes: the supervisor stores
// them, the front end decodes them.
//
// A front end that keeps its own containers (the engine, in `moby`) registers a read view of them
// instead of writing copies here: they are listed and found like the records written here, but
// only their keeper changes or removes them.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { errnoOf, exists, invalid, notFound, precondition } from '../../common/errors.js';
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

/** Containers another component keeps, seen as container records (read-only here). */
export interface ContainerView {
  /** Who keeps them, and how to change them, for the errors of a refused update or removal. */
  keeper: string;
  list(): ContainerRecord[];
  find(id: string): ContainerRecord | undefined;
}

// containerd's identifier rule for container ids.
const ID = /^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$/;

export function validateContainerId(id: string): string {
  if (!id) throw invalid('identifier must not be empty: container id');
  if (id.length > 76) throw invalid(`identifier "${id}" greater than maximum length (76 characters)`);
  if (!ID.test(id)) throw invalid(`identifier "${id}" must match ${ID.source}`);
  return id;
}

export class ContainerStore {
  private readonly views = new Map<string, ContainerView[]>();

  constructor(readonly root: string, private readonly publish?: Publish) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  /** Shows `view`'s containers in `namespace`, beside the records written here. */
  addView(namespace: string, view: ContainerView): void {
    this.views.set(validateNamespace(namespace), [...(this.views.get(namespace) ?? []), view]);
  }

  /** The view that holds container `id` in `namespace`, if a view does. */
  viewOf(namespace: string, id: string): ContainerView | undefined {
    return this.views.get(namespace)?.find((v) => v.find(id));
  }

  /** Refuses to change a container another component keeps. */
  private ownRecord(namespace: string, id: string, verb: string): ContainerRecord {
    const view = this.viewOf(namespace, id);
    if (view) throw precondition(`cannot ${verb} container "${id}": it belongs to ${view.keeper}`);
    return this.get(namespace, id);
  }

  private dir(namespace: string): string {
    return join(this.root, validateNamespace(namespace));
  }

  private path(namespace: string, id: string): string {
    return join(this.dir(namespace), `${validateContainerId(id)}.json`);
  }

  find(namespace: string, id: string): ContainerRecord | undefined {
    return readJsonRecord<ContainerRecord>(this.path(namespace, id)) ?? this.views.get(namespace)?.map((v) => v.find(id)).find((r) => r);
  }

  get(namespace: string, id: string): ContainerRecord {
    const r = this.find(namespace, id);
    if (!r) throw notFound(`container "${id}" in namespace "${namespace}": not found`);
    return r;
  }

  /** The records written here and those of the namespace's views, by id. */
  list(namespace: string): ContainerRecord[] {
    const viewed = (this.views.get(namespace) ?? []).flatMap((v) => v.list());
    return [...this.ownRecords(namespace), ...viewed].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private ownRecords(namespace: string): ContainerRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir(namespace));
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return [];
      throw err;
    }
    return names.filter((n) => n.endsWith('.json')).flatMap((n) => {
      try {
        return [JSON.parse(readFileSync(join(this.dir(namespace), n), 'utf8')) as ContainerRecord];
      } catch {
        return []; // removed meanwhile
      }
    });
  }

  namespaces(): string[] {
    const names = new Set([...readdirSync(this.root), ...this.views.keys()]);
    return [...names].filter((n) => isNamespaceName(n) && this.list(n).length > 0).sort();
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
    const old = this.ownRecord(namespace, c.id, 'update');
    const record: ContainerRecord = { ...c, labels: validateLabels(c.labels, 'container.Labels'), createdAt: old.createdAt, updatedAt: new Date().toISOString() };
    this.write(namespace, record);
    this.publish?.(namespace, '/containers/update', containerdEvent('ContainerUpdate', { id: c.id, image: c.image, labels: record.labels, snapshot_key: c.snapshotKey }));
    return record;
  }

  delete(namespace: string, id: string): void {
    this.ownRecord(namespace, id, 'delete');
    rmSync(this.path(namespace, id), { force: true });
    this.publish?.(namespace, '/containers/delete', containerdEvent('ContainerDelete', { id }));
  }

  private write(namespace: string, record: ContainerRecord): void {
    mkdirSync(this.dir(namespace), { recursive: true, mode: 0o700 });
    writeFileAtomic(this.path(namespace, record.id), JSON.stringify(record), 0o600);
  }
}
