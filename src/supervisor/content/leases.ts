// Leases (containerd's role): a lease holds content, ingests and snapshots of its namespace
// against garbage collection while an operation (a pull, a build) is under way. Each lease is a
// JSON file <root>/<namespace>/<id>.json; a LeaseStore is one namespace's view. An expired lease
// (its expiry, or containerd's containerd.io/gc.expire label) holds nothing and is removed by the
// next collection.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { errnoOf, exists, invalid, notFound } from '../../common/errors.js';
import { writeFileAtomic } from '../../sys/fs-atomic.js';
import { DEFAULT_NAMESPACE, LEGACY_NAMESPACE, validateLabels, validateNamespace } from '../namespaces/names.js';

export interface LeaseResource {
  /** "content", "ingest", or "snapshots/<snapshotter>". */
  type: string;
  id: string;
}

export interface Lease {
  id: string;
  createdAt: string;
  expiresAt?: string;
  labels: Record<string, string>;
  resources: LeaseResource[];
}

/** The label containerd clients set for a lease's expiry (RFC 3339). */
export const EXPIRE_LABEL = 'containerd.io/gc.expire';

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class LeaseStore {
  readonly namespace: string;

  constructor(readonly root: string, opts: { namespace?: string } = {}) {
    this.namespace = validateNamespace(opts.namespace ?? DEFAULT_NAMESPACE);
    mkdirSync(root, { recursive: true, mode: 0o700 });
    migrateToNamespaces(root);
  }

  /** The same store as namespace `namespace` sees it. */
  forNamespace(namespace: string): LeaseStore {
    return Object.assign(Object.create(this) as LeaseStore, { namespace: validateNamespace(namespace) });
  }

  /** The namespaces that have leases. */
  namespaces(): string[] {
    return readdirSync(this.root).filter((n) => !n.endsWith('.json') && this.forNamespace(n).list().length > 0);
  }

  private dir(): string {
    return join(this.root, this.namespace);
  }

  private path(id: string): string {
    if (!ID.test(id)) throw invalid(`invalid lease id "${id}": want letters, digits, ".", "_" or "-", at most 128`);
    return join(this.dir(), `${id}.json`);
  }

  create(opts: { id?: string; labels?: Record<string, string>; expiresInMs?: number } = {}): Lease {
    const id = opts.id || `lease-${Date.now()}-${randomBytes(4).toString('hex')}`;
    const path = this.path(id);
    try {
      readFileSync(path);
      throw exists(`lease "${id}": already exists`);
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw err;
    }
    const lease: Lease = {
      id,
      createdAt: new Date().toISOString(),
      expiresAt: opts.expiresInMs !== undefined ? new Date(Date.now() + opts.expiresInMs).toISOString() : undefined,
      labels: validateLabels(opts.labels, 'lease.Labels'),
      resources: [],
    };
    mkdirSync(this.dir(), { recursive: true, mode: 0o700 });
    writeFileAtomic(path, JSON.stringify(lease), 0o600);
    return lease;
  }

  get(id: string): Lease {
    try {
      return JSON.parse(readFileSync(this.path(id), 'utf8')) as Lease;
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') throw notFound(`lease "${id}": not found`);
      throw err;
    }
  }

  list(): Lease[] {
    let names: string[];
    try {
      names = readdirSync(this.dir());
    } catch {
      return [];
    }
    return names.filter((n) => n.endsWith('.json')).flatMap((n) => {
      try {
        return [this.get(n.slice(0, -'.json'.length))];
      } catch {
        return [];
      }
    });
  }

  delete(id: string): void {
    this.get(id);
    rmSync(this.path(id), { force: true });
  }

  addResource(id: string, r: LeaseResource): void {
    this.addResources(id, [r]);
  }

  /** Adds resources in one write (each is a durable write: a pull names what it will make up front). */
  addResources(id: string, rs: LeaseResource[]): void {
    const lease = this.get(id);
    const fresh = rs.filter((r, i) => !lease.resources.some((x) => x.type === r.type && x.id === r.id) && rs.findIndex((y) => y.type === r.type && y.id === r.id) === i);
    if (fresh.length === 0) return; // held already: nothing to write
    lease.resources.push(...fresh);
    writeFileAtomic(this.path(id), JSON.stringify(lease), 0o600);
  }

  deleteResource(id: string, r: LeaseResource): void {
    const lease = this.get(id);
    lease.resources = lease.resources.filter((x) => !(x.type === r.type && x.id === r.id));
    writeFileAtomic(this.path(id), JSON.stringify(lease), 0o600);
  }

  expired(lease: Lease, now = new Date()): boolean {
    const label = lease.labels[EXPIRE_LABEL];
    if (label && !Number.isNaN(Date.parse(label)) && new Date(label) <= now) return true;
    return lease.expiresAt !== undefined && new Date(lease.expiresAt) <= now;
  }
}

/** Leases written before namespaces (files directly under the root) were the engine's. */
function migrateToNamespaces(root: string): void {
  for (const name of readdirSync(root)) {
    if (!name.endsWith('.json')) continue;
    try {
      if (!statSync(join(root, name)).isFile()) continue;
    } catch {
      continue;
    }
    mkdirSync(join(root, LEGACY_NAMESPACE), { recursive: true, mode: 0o700 });
    try {
      renameSync(join(root, name), join(root, LEGACY_NAMESPACE, name));
    } catch {
      // moved by another process
    }
  }
}
