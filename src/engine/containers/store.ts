// Container records on disk, one directory per container under <data-root>/containers/<id>:
// config.v2.json (replaced atomically), the json-file log, hostname, hosts and resolv.conf. All
// records are loaded at start and kept in memory; every change is written through.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, exists, notFound } from '../../common/errors.js';
import { writeFileAtomic } from '../../sys/fs-atomic.js';
import type { ContainerRecord } from './record.js';

export class ContainerStore {
  private readonly byId = new Map<string, ContainerRecord>();

  constructor(readonly root: string) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    for (const id of readdirSync(root)) {
      try {
        this.byId.set(id, JSON.parse(readFileSync(join(root, id, 'config.v2.json'), 'utf8')) as ContainerRecord);
      } catch {
        rmSync(join(root, id), { recursive: true, force: true }); // a create that died before its record
      }
    }
  }

  dir(id: string): string {
    return join(this.root, id);
  }

  list(): ContainerRecord[] {
    return [...this.byId.values()];
  }

  /** Finds a container by full ID, name (with or without "/"), or unique ID prefix, as Docker does. */
  find(ref: string): ContainerRecord | undefined {
    const byId = this.byId.get(ref);
    if (byId) return byId;
    const name = ref.startsWith('/') ? ref : `/${ref}`;
    const byName = this.list().find((c) => c.Name === name);
    if (byName) return byName;
    if (!/^[0-9a-f]+$/.test(ref)) return undefined;
    const matches = this.list().filter((c) => c.ID.startsWith(ref));
    if (matches.length > 1) throw new BerthError('INVALID_ARGUMENT', `multiple IDs found with provided prefix: ${ref}`);
    return matches[0];
  }

  get(ref: string): ContainerRecord {
    const c = this.find(ref);
    if (!c) throw notFound(`No such container: ${ref}`);
    return c;
  }

  /** Creates the directory and first record; a taken name is refused here, under one roof. */
  add(r: ContainerRecord): void {
    const clash = this.list().find((c) => c.Name === r.Name);
    if (clash) throw exists(`Conflict. The container name "${r.Name}" is already in use by container "${clash.ID}". You have to remove (or rename) that container to be able to reuse that name.`);
    mkdirSync(this.dir(r.ID), { recursive: true, mode: 0o700 });
    this.write(r);
  }

  save(r: ContainerRecord): void {
    // A request that was queued behind the container's removal (a network connect, an update)
    // finds no container, as Docker answers it, rather than a failed write into a removed directory.
    if (!this.byId.has(r.ID)) throw notFound(`No such container: ${r.ID}`);
    this.write(r);
  }

  private write(r: ContainerRecord): void {
    writeFileAtomic(join(this.dir(r.ID), 'config.v2.json'), JSON.stringify(r), 0o600);
    this.byId.set(r.ID, r);
  }

  /**
   * Forgets the container: its record file goes at once (a daemon killed now does not find it
   * again; the directory left is removed at start), the rest of its directory (logs can be big)
   * in the background, off the event loop.
   */
  remove(id: string): void {
    this.byId.delete(id);
    rmSync(join(this.dir(id), 'config.v2.json'), { force: true });
    void rm(this.dir(id), { recursive: true, force: true }).catch(() => undefined);
  }
}
