// Leases (containerd's role): a lease holds content, ingests and snapshots against garbage
// collection while an operation (a pull, a build) is under way. Each lease is a JSON file under
// <root>/<id>.json; an expired lease holds nothing and is removed by the next collection.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { errnoOf, exists, invalid, notFound } from '../../common/errors.js';
import { writeFileAtomic } from '../../sys/fs-atomic.js';

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

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class LeaseStore {
  constructor(readonly root: string) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  private path(id: string): string {
    if (!ID.test(id)) throw invalid(`invalid lease id "${id}"`);
    return join(this.root, `${id}.json`);
  }

  create(opts: { id?: string; labels?: Record<string, string>; expiresInMs?: number } = {}): Lease {
    const id = opts.id ?? `lease-${Date.now()}-${randomBytes(4).toString('hex')}`;
    const path = this.path(id);
    try {
      readFileSync(path);
      throw exists(`lease ${id} already exists`);
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw err;
    }
    const lease: Lease = {
      id,
      createdAt: new Date().toISOString(),
      expiresAt: opts.expiresInMs !== undefined ? new Date(Date.now() + opts.expiresInMs).toISOString() : undefined,
      labels: opts.labels ?? {},
      resources: [],
    };
    writeFileAtomic(path, JSON.stringify(lease), 0o600);
    return lease;
  }

  get(id: string): Lease {
    try {
      return JSON.parse(readFileSync(this.path(id), 'utf8')) as Lease;
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') throw notFound(`lease ${id} not found`);
      throw err;
    }
  }

  list(): Lease[] {
    return readdirSync(this.root).filter((n) => n.endsWith('.json')).flatMap((n) => {
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
    const lease = this.get(id);
    if (!lease.resources.some((x) => x.type === r.type && x.id === r.id)) lease.resources.push(r);
    writeFileAtomic(this.path(id), JSON.stringify(lease), 0o600);
  }

  deleteResource(id: string, r: LeaseResource): void {
    const lease = this.get(id);
    lease.resources = lease.resources.filter((x) => !(x.type === r.type && x.id === r.id));
    writeFileAtomic(this.path(id), JSON.stringify(lease), 0o600);
  }

  expired(lease: Lease, now = new Date()): boolean {
    return lease.expiresAt !== undefined && new Date(lease.expiresAt) <= now;
  }
}
