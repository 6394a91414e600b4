// Docker's local volume driver and volume service in one: volumes under <root>/volumes/<name>,
// data in _data, the definition and the volume's users in opts.json (written atomically). A
// volume with driver options (type/device/o) is mounted with mount(8) on _data when its first
// container mounts it and unmounted when the last one lets go.
//
// Two kinds of users, as in Docker: containers that *refer* to a volume (from their create to
// their removal: a stopped container keeps its volume in use) and containers that have it
// *mounted* (while running). Both are persisted here, and `restore()` lets the engine replace
// them with the truth from its container records at daemon start.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError, errnoOf, invalid, notFound, precondition } from '../common/errors.js';
import { mountAll, unmountAll } from '../sys/mount.js';
import { boolFilter, checkFilterKeys, labelMatches, LIST_FILTERS, nameMatches, PRUNE_FILTERS } from './filters.js';
import { isMountpoint, mountsUnder, removeTree, treeSize, writeFileAtomic } from './fs-util.js';
import { checkLocalOptions, localMountOf } from './local-options.js';
import type { CreateVolumeRequest, Volume, VolumeEventHook, VolumeFilters } from './types.js';

/** The label Docker 23+ puts on volumes created without a name; prune removes only those unless all=true. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';
export const LOCAL_DRIVER = 'local';

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const REMOVING = '.removing-';

/** What opts.json holds. */
interface VolumeRecord {
  Name: string;
  Driver: string;
  CreatedAt: string;
  Labels: Record<string, string> | null;
  Options: Record<string, string> | null;
  /** Containers that refer to the volume (created with it and not removed yet). */
  Users: string[];
  /** Containers that have it mounted now. */
  Mounted: string[];
}

export interface VolumeStoreOptions {
  /** The daemon's data root: volumes live in <root>/volumes. */
  root: string;
  /** Volume events, for the engine to publish (create, destroy, mount, unmount, prune). */
  onEvent?: VolumeEventHook;
  warn?: (message: string) => void;
}

/** One container's volumes, for `restore`: the names its mount points refer to, and whether it runs. */
export interface VolumeUser {
  id: string;
  volumes: readonly string[];
  running: boolean;
}

const rfc3339 = (d: Date): string => d.toISOString().replace(/\.\d+Z$/, 'Z');
const nonEmpty = (m: Record<string, string> | null | undefined): Record<string, string> | null => (m && Object.keys(m).length ? { ...m } : null);

/** mount(8)'s message on one line, without its advice to read dmesg. */
const oneLine = (m: string): string => m.replace(/\s*dmesg\(1\) may have more information.*$/s, '').replace(/\s+/g, ' ').trim();

export function newVolumeName(): string {
  return randomBytes(32).toString('hex');
}

/** Docker's local volume names: two or more of [a-zA-Z0-9_.-], starting with a letter or digit. */
export function checkVolumeName(name: string): void {
  if (name.length === 1) throw invalid(`create ${name}: volume name is too short, names should be at least two alphanumeric characters`);
  if (!NAME_RE.test(name)) throw invalid(`create ${name}: ${JSON.stringify(name)} includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
  if (name.length > 255) throw invalid(`create ${name.slice(0, 20)}…: volume name is too long: at most 255 characters`);
}

function checkStringMap(m: unknown, field: string): Record<string, string> | null {
  if (m === undefined || m === null) return null;
  if (typeof m !== 'object' || Array.isArray(m)) throw invalid(`${field} must be an object of strings`);
  for (const [k, v] of Object.entries(m)) if (typeof v !== 'string') throw invalid(`${field}[${JSON.stringify(k)}] must be a string`);
  return m as Record<string, string>;
}

export class VolumeStore {
  /** <root>/volumes */
  readonly dir: string;
  private readonly volumes = new Map<string, VolumeRecord>();

  constructor(private readonly opts: VolumeStoreOptions) {
    this.dir = join(opts.root, 'volumes');
    mkdirSync(this.dir, { recursive: true, mode: 0o701 });
    this.load();
  }

  private warn(message: string): void {
    this.opts.warn?.(message);
  }

  private emit(action: Parameters<VolumeEventHook>[0], name: string, attributes: Record<string, string>): void {
    try {
      this.opts.onEvent?.(action, name, attributes);
    } catch (err) {
      this.warn(`volume event ${action} ${name}: ${(err as Error).message}`);
    }
  }

  /** Reads every volume; finishes removals and drops creations a crash cut short. */
  private load(): void {
    for (const entry of readdirSync(this.dir)) {
      const dir = join(this.dir, entry);
      if (entry.startsWith(REMOVING)) {
        this.removeDir(dir, entry);
        continue;
      }
      if (!NAME_RE.test(entry)) continue;
      let record: VolumeRecord;
      try {
        record = JSON.parse(readFileSync(join(dir, 'opts.json'), 'utf8')) as VolumeRecord;
      } catch (err) {
        if (errnoOf(err) === 'ENOENT') this.adoptOrDrop(entry);
        else this.warn(`volume ${entry}: unreadable ${join(dir, 'opts.json')}: ${(err as Error).message}; skipped`);
        continue;
      }
      for (const stray of readdirSync(dir).filter((n) => /^opts\.json\.\d+\.tmp$/.test(n))) this.removeDir(join(dir, stray), entry);
      record.Name = entry;
      record.Users ??= [];
      record.Mounted ??= [];
      this.volumes.set(entry, record);
    }
  }

  /** A directory without opts.json: an empty one is a create cut short; one with data is kept as a plain volume. */
  private adoptOrDrop(name: string): void {
    const dir = join(this.dir, name);
    const data = join(dir, '_data');
    let hasData = false;
    try {
      hasData = readdirSync(data).length > 0;
    } catch {
      // no _data at all
    }
    if (!hasData && !isMountpoint(data)) {
      this.removeDir(dir, name);
      return;
    }
    const record: VolumeRecord = { Name: name, Driver: LOCAL_DRIVER, CreatedAt: rfc3339(new Date()), Labels: null, Options: null, Users: [], Mounted: [] };
    this.save(record);
    this.volumes.set(name, record);
  }

  private removeDir(dir: string, what: string): void {
    try {
      if (mountsUnder(dir).length) throw new Error(`something is mounted under ${dir}`);
      removeTree(dir);
    } catch (err) {
      this.warn(`volume ${what}: removing ${dir}: ${(err as Error).message}`);
    }
  }

  private save(r: VolumeRecord): void {
    writeFileAtomic(join(this.dir, r.Name, 'opts.json'), JSON.stringify(r));
  }

  private record(name: string): VolumeRecord {
    const r = this.volumes.get(name);
    if (!r) throw notFound(`get ${name}: no such volume`);
    return r;
  }

  private view(r: VolumeRecord, usage = false): Volume {
    const v: Volume = {
      CreatedAt: r.CreatedAt, Driver: r.Driver, Labels: r.Labels ? { ...r.Labels } : null, Mountpoint: this.path(r.Name),
      Name: r.Name, Options: r.Options ? { ...r.Options } : null, Scope: 'local',
    };
    if (usage) v.UsageData = this.usage(r.Name);
    return v;
  }

  /** The host directory of the volume's data (what containers bind). */
  path(name: string): string {
    return join(this.dir, name, '_data');
  }

  has(name: string): boolean {
    return this.volumes.has(name);
  }

  /**
   * POST /volumes/create: a new volume, or the existing one of that name (Docker returns it
   * unchanged). No name: an anonymous volume with a random 64-hex name and Docker's anonymous label.
   */
  create(req: CreateVolumeRequest = {}): Volume {
    return this.createOrGet(req).volume;
  }

  /** `create`, saying whether the volume is new (so a caller can undo only what it made). */
  createOrGet(req: CreateVolumeRequest = {}): { volume: Volume; created: boolean } {
    if (req.Name !== undefined && typeof req.Name !== 'string') throw invalid('Name must be a string');
    if (req.Driver !== undefined && req.Driver !== null && typeof req.Driver !== 'string') throw invalid('Driver must be a string');
    const anonymous = !req.Name;
    const name = req.Name || newVolumeName();
    const driver = req.Driver || LOCAL_DRIVER;
    if (driver !== LOCAL_DRIVER) throw notFound(`create ${name}: error looking up volume plugin ${driver}: plugin ${JSON.stringify(driver)} not found (berth has only the "local" volume driver)`);
    const existing = this.volumes.get(name);
    if (existing) return { volume: this.view(existing), created: false };

    checkVolumeName(name);
    const options = checkStringMap(req.DriverOpts, 'DriverOpts');
    const labels = checkStringMap(req.Labels, 'Labels');
    try {
      checkLocalOptions(options);
    } catch (err) {
      throw invalid(`create ${name}: ${(err as Error).message}`);
    }
    const record: VolumeRecord = {
      Name: name, Driver: LOCAL_DRIVER, CreatedAt: rfc3339(new Date()),
      Labels: anonymous ? { ...(labels ?? {}), [ANONYMOUS_LABEL]: '' } : nonEmpty(labels),
      Options: nonEmpty(options), Users: [], Mounted: [],
    };
    const dir = join(this.dir, name);
    try {
      mkdirSync(dir, { mode: 0o701 });
      mkdirSync(join(dir, '_data'), { mode: 0o755 });
      this.save(record);
    } catch (err) {
      this.removeDir(dir, name);
      throw new BerthError('INTERNAL', `create ${name}: ${(err as Error).message}`);
    }
    this.volumes.set(name, record);
    this.emit('create', name, { driver: record.Driver });
    return { volume: this.view(record), created: true };
  }

  /** GET /volumes/{name}; NOT_FOUND "get NAME: no such volume". */
  get(name: string, opts: { usage?: boolean } = {}): Volume {
    return this.view(this.record(name), opts.usage);
  }

  /** GET /volumes: filters name, driver, label, dangling; sorted by name. */
  list(filters: VolumeFilters = {}, opts: { usage?: boolean } = {}): Volume[] {
    checkFilterKeys(filters, LIST_FILTERS);
    const dangling = boolFilter(filters, 'dangling');
    const out: Volume[] = [];
    for (const r of [...this.volumes.values()].sort((a, b) => a.Name.localeCompare(b.Name))) {
      if (filters.name?.length && !nameMatches(r.Name, filters.name)) continue;
      if (filters.driver?.length && !filters.driver.includes(r.Driver)) continue;
      if (filters.label?.length && !filters.label.every((l) => labelMatches(r.Labels, l))) continue;
      if (dangling !== undefined && (this.inUseBy(r).length === 0) !== dangling) continue;
      out.push(this.view(r, opts.usage));
    }
    return out;
  }

  /** Size of the data (bytes, each inode once) and the number of containers referring to the volume. */
  usage(name: string): { Size: number; RefCount: number } {
    const r = this.record(name);
    return { Size: treeSize(this.path(name)), RefCount: this.inUseBy(r).length };
  }

  /** Container IDs that keep the volume in use (referring to it or having it mounted). */
  users(name: string): string[] {
    return this.inUseBy(this.record(name));
  }

  /** Container IDs that have the volume mounted now. */
  mountedBy(name: string): string[] {
    return [...this.record(name).Mounted];
  }

  private inUseBy(r: VolumeRecord): string[] {
    return [...new Set([...r.Users, ...r.Mounted])];
  }

  /** A container refers to the volume (container create): it is in use until `release`. */
  reference(name: string, containerId: string): void {
    const r = this.record(name);
    if (r.Users.includes(containerId)) return;
    r.Users.push(containerId);
    this.save(r);
  }

  /** The container is gone (container remove): drops its reference and any mount it still held. */
  release(name: string, containerId: string): void {
    const r = this.volumes.get(name);
    if (!r) return;
    if (r.Users.includes(containerId)) {
      r.Users = r.Users.filter((u) => u !== containerId);
      this.save(r);
    }
    if (r.Mounted.includes(containerId)) this.unmount(name, containerId);
  }

  /**
   * A container mounts the volume (container start): the host path to bind. A volume with
   * driver options is mounted on _data by the first container. `attributes` go into the mount
   * event (destination, read/write, propagation).
   */
  mount(name: string, containerId: string, attributes: Record<string, string> = {}): string {
    const r = this.record(name);
    const path = this.path(name);
    const m = localMountOf(r.Options);
    if (m && !isMountpoint(path)) {
      try {
        mountAll([{ type: m.type, source: m.device, options: m.options }], path);
      } catch (err) {
        throw new BerthError('INTERNAL', `error while mounting volume '${path}': failed to mount local volume: ${oneLine((err as Error).message)}`);
      }
    }
    if (!r.Mounted.includes(containerId)) {
      r.Mounted.push(containerId);
      this.save(r);
    }
    this.emit('mount', name, { driver: r.Driver, container: containerId, ...attributes });
    return path;
  }

  /** The container lets go of the volume (container stop); the last one unmounts a volume with driver options. */
  unmount(name: string, containerId: string): void {
    const r = this.volumes.get(name);
    if (!r || !r.Mounted.includes(containerId)) return;
    r.Mounted = r.Mounted.filter((u) => u !== containerId);
    this.save(r);
    this.emit('unmount', name, { driver: r.Driver, container: containerId });
    if (r.Mounted.length === 0) this.unmountData(r);
  }

  private unmountData(r: VolumeRecord): void {
    const path = this.path(r.Name);
    if (!localMountOf(r.Options) || !isMountpoint(path)) return;
    try {
      unmountAll(path);
    } catch (err) {
      throw new BerthError('INTERNAL', `error while unmounting volume path '${path}': ${oneLine((err as Error).message)}`);
    }
  }

  /**
   * DELETE /volumes/{name}: refused while a container refers to it (409, Docker's "remove NAME:
   * volume is in use - [IDs]"); `force` only makes a missing volume no error.
   */
  remove(name: string, opts: { force?: boolean } = {}): void {
    const r = this.volumes.get(name);
    if (!r) {
      if (opts.force) return;
      throw notFound(`get ${name}: no such volume`);
    }
    const users = this.inUseBy(r);
    if (users.length) throw precondition(`remove ${name}: volume is in use - [${users.join(', ')}]`);
    this.destroy(r);
  }

  /** Unmounts, takes the directory out of the namespace with one rename, then deletes it. */
  private destroy(r: VolumeRecord): void {
    const dir = join(this.dir, r.Name);
    const data = this.path(r.Name);
    this.unmountData(r);
    const left = mountsUnder(dir);
    if (left.length) throw precondition(`remove ${r.Name}: ${left[0]} is still mounted inside the volume: unmount it first`);
    const doomed = join(this.dir, `${REMOVING}${r.Name}-${randomBytes(4).toString('hex')}`);
    renameSync(dir, doomed);
    this.volumes.delete(r.Name);
    this.removeDir(doomed, r.Name);
    if (existsSync(data)) this.warn(`volume ${r.Name}: ${data} is still there after the removal`);
    this.emit('destroy', r.Name, { driver: r.Driver });
  }

  /**
   * POST /volumes/prune: removes volumes no container uses; only anonymous ones unless the
   * filter all=true (Docker 23+; API < 1.42 callers add all=true). Filters label, label!, all.
   */
  prune(filters: VolumeFilters = {}): { VolumesDeleted: string[]; SpaceReclaimed: number } {
    checkFilterKeys(filters, PRUNE_FILTERS);
    const all = boolFilter(filters, 'all') ?? false;
    const labels = [...(filters.label ?? []), ...(all ? [] : [ANONYMOUS_LABEL])];
    const notLabels = filters['label!'] ?? [];
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const r of [...this.volumes.values()].sort((a, b) => a.Name.localeCompare(b.Name))) {
      if (this.inUseBy(r).length) continue;
      if (!labels.every((l) => labelMatches(r.Labels, l))) continue;
      if (notLabels.some((l) => labelMatches(r.Labels, l))) continue;
      const size = treeSize(this.path(r.Name));
      try {
        this.destroy(r);
      } catch (err) {
        this.warn(`prune: volume ${r.Name}: ${(err as Error).message}`);
        continue;
      }
      deleted.push(r.Name);
      reclaimed += size;
    }
    this.emit('prune', '', { reclaimed: String(reclaimed) });
    return { VolumesDeleted: deleted, SpaceReclaimed: reclaimed };
  }

  /**
   * At daemon start: the engine's containers are the truth. Every volume's users become exactly
   * the containers whose mount points name it, its mounts exactly the running ones among them; a
   * volume with driver options that no running container holds is unmounted (a crash or a reboot
   * left it). Returns warnings for containers naming volumes that no longer exist.
   */
  restore(containers: readonly VolumeUser[]): string[] {
    const warnings: string[] = [];
    const users = new Map<string, Set<string>>();
    const mounted = new Map<string, Set<string>>();
    const add = (m: Map<string, Set<string>>, k: string, v: string) => m.set(k, (m.get(k) ?? new Set()).add(v));
    for (const c of containers) {
      for (const name of new Set(c.volumes)) {
        if (!this.volumes.has(name)) {
          warnings.push(`container ${c.id.slice(0, 12)} refers to volume ${name}, which no longer exists`);
          continue;
        }
        add(users, name, c.id);
        if (c.running) add(mounted, name, c.id);
      }
    }
    for (const r of this.volumes.values()) {
      const u = [...(users.get(r.Name) ?? [])].sort();
      const m = [...(mounted.get(r.Name) ?? [])].sort();
      if (JSON.stringify(u) !== JSON.stringify([...r.Users].sort()) || JSON.stringify(m) !== JSON.stringify([...r.Mounted].sort())) {
        r.Users = u;
        r.Mounted = m;
        this.save(r);
      }
      if (m.length === 0) {
        try {
          this.unmountData(r);
        } catch (err) {
          warnings.push(`volume ${r.Name}: ${(err as Error).message}`);
        }
      }
    }
    return warnings;
  }
}
