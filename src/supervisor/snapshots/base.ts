// What every snapshotter shares: the metadata (one JSON file, replaced atomically), the rules of
// the model (a parent must be committed, names are unique, a snapshot with children stays), and
// the layer directories <root>/snapshots/<id>/{fs,work}. Subclasses say how a new layer starts
// and how a snapshot is mounted.
//
// Keys live in namespaces, as containerd's: the metadata holds one key space per namespace, and a
// snapshotter object is one namespace's view (`forNamespace` gives another's over the same
// layers). Snapshots written before namespaces existed were the engine's ("moby").
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoOf, exists, invalid, notFound, precondition } from '../../common/errors.js';
import { writeFileAtomic } from '../../sys/fs-atomic.js';
import { DEFAULT_NAMESPACE, LEGACY_NAMESPACE, validateLabels, validateNamespace } from '../namespaces/names.js';
import { containerdEvent, type Publish } from '../events/exchange.js';
import type { Mount, SnapshotInfo, SnapshotKind, Snapshotter, Usage } from './types.js';

interface Record_ extends SnapshotInfo {
  id: number;
}

interface Metadata {
  nextId: number;
  namespaces: Record<string, Record<string, Record_>>;
}

/** The label that names the snapshot an unpack will commit (containerd's snapshot.ref). */
export const TARGET_LABEL = 'containerd.io/snapshot.ref';

export interface SnapshotterOptions {
  namespace?: string;
  /** Where prepare, commit and remove are announced. */
  publish?: Publish;
}

export abstract class SnapshotterBase implements Snapshotter {
  abstract readonly name: string;
  readonly rebase: boolean = false;
  readonly namespace: string;
  private readonly publish?: Publish;
  /** Deletions of layer directories running in the background (see discard). */
  private readonly removals = new Set<Promise<void>>();
  /**
   * The metadata, read from its file once and kept: this object (with its namespace views, which
   * share this holder) is the file's only writer. A change works on a copy, which replaces it
   * only once written, so a failed write leaves both as they were.
   */
  private readonly cache: { meta?: Metadata } = {};

  constructor(readonly root: string, opts: SnapshotterOptions = {}) {
    this.namespace = validateNamespace(opts.namespace ?? DEFAULT_NAMESPACE);
    this.publish = opts.publish;
    mkdirSync(join(root, 'snapshots'), { recursive: true, mode: 0o700 });
    this.removeStrays();
  }

  /** The same snapshotter as namespace `namespace` sees it. */
  forNamespace(namespace: string): this {
    return Object.assign(Object.create(this) as this, { namespace: validateNamespace(namespace) });
  }

  /** Fills a new layer (the naive snapshotter copies its parent's tree). */
  protected abstract populate(fsDir: string, parents: string[]): void;
  /** The mounts of a snapshot, given its own layer and its parents' (nearest first). */
  protected abstract mountsOf(kind: SnapshotKind, own: { fs: string; work: string }, parents: string[]): Mount[];

  private metaPath(): string {
    return join(this.root, 'metadata.json');
  }

  /** The metadata as it is: for reading only. */
  private read(): Metadata {
    return (this.cache.meta ??= this.loadFile());
  }

  /** A copy of the metadata to change and save. */
  private load(): Metadata {
    return structuredClone(this.read());
  }

  private loadFile(): Metadata {
    let raw: { nextId: number; namespaces?: Metadata['namespaces']; snapshots?: Record<string, Record_> };
    try {
      raw = JSON.parse(readFileSync(this.metaPath(), 'utf8'));
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return { nextId: 1, namespaces: {} };
      throw err;
    }
    if (raw.namespaces) return raw as Metadata;
    return { nextId: raw.nextId, namespaces: raw.snapshots && Object.keys(raw.snapshots).length ? { [LEGACY_NAMESPACE]: raw.snapshots } : {} };
  }

  private save(m: Metadata): void {
    for (const [ns, keys] of Object.entries(m.namespaces)) if (Object.keys(keys).length === 0) delete m.namespaces[ns];
    writeFileAtomic(this.metaPath(), JSON.stringify(m), 0o600);
    this.cache.meta = m;
  }

  /** This namespace's key space, made if missing (in a copy being changed). */
  private keys(m: Metadata): Record<string, Record_> {
    return (m.namespaces[this.namespace] ??= {});
  }

  /** This namespace's key space, for reading. */
  private keysOf(m: Metadata): Record<string, Record_> {
    return m.namespaces[this.namespace] ?? {};
  }

  /** The namespaces that hold snapshots. */
  namespaces(): string[] {
    return Object.keys(this.read().namespaces);
  }

  protected dirOf(id: number): { fs: string; work: string } {
    const base = join(this.root, 'snapshots', String(id));
    return { fs: join(base, 'fs'), work: join(base, 'work') };
  }

  /** Layer directories no snapshot owns: left by a crash between mkdir and the metadata write. */
  /**
   * Deletes a layer directory off the caller's path: renamed out of the way at once, then deleted
   * in the background (a layer's files are thousands of unlinks; done inline they held the event
   * loop for tens of ms a container under load). A crash midway leaves a stray, removed at start.
   */
  private discard(dir: string, id: number): void {
    const doomed = join(this.root, 'snapshots', `removing-${id}`);
    try {
      renameSync(dir, doomed);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return;
      throw err;
    }
    const removal: Promise<void> = rm(doomed, { recursive: true, force: true }).catch(() => undefined).finally(() => this.removals.delete(removal));
    this.removals.add(removal);
  }

  /** Resolves once the layer directories removed so far are gone from the disk. */
  async settled(): Promise<void> {
    await Promise.all([...this.removals]);
  }

  private removeStrays(): void {
    const ids = new Set(Object.values(this.read().namespaces).flatMap((keys) => Object.values(keys).map((s) => String(s.id))));
    for (const name of readdirSync(join(this.root, 'snapshots'))) if (!ids.has(name)) rmSync(join(this.root, 'snapshots', name), { recursive: true, force: true });
  }

  private get(m: Metadata, key: string): Record_ {
    const s = this.keysOf(m)[key];
    if (!s) throw notFound(`snapshot ${key} does not exist: not found`);
    return s;
  }

  /** The fs directories of `key`'s committed ancestors, nearest first. */
  private parentDirs(m: Metadata, parent: string | undefined): string[] {
    const out: string[] = [];
    for (let p = parent; p; p = this.get(m, p).parent) out.push(this.dirOf(this.get(m, p).id).fs);
    return out;
  }

  private create(kind: 'active' | 'view', key: string, parent: string | undefined, labels: Record<string, string>): Mount[] {
    if (!key) throw invalid('a snapshot needs a key');
    validateLabels(labels, 'snapshot.Labels');
    const m = this.load();
    const target = labels[TARGET_LABEL];
    if (target && this.keys(m)[target]) throw exists(`target snapshot "${target}": already exists`);
    if (this.keys(m)[key]) throw exists(`snapshot ${key} already exists`);
    if (parent && !this.keys(m)[parent]) throw notFound(`parent snapshot ${parent} does not exist: not found`);
    if (parent && this.get(m, parent).kind !== 'committed') throw precondition(`parent ${parent} is not a committed snapshot`);
    const id = m.nextId++;
    const dirs = this.dirOf(id);
    const parents = this.parentDirs(m, parent || undefined);
    mkdirSync(dirs.fs, { recursive: true, mode: 0o755 });
    mkdirSync(dirs.work, { recursive: true, mode: 0o700 });
    try {
      this.populate(dirs.fs, parents);
      const now = new Date().toISOString();
      this.keys(m)[key] = { id, key, kind, parent: parent || undefined, labels, created: now, updated: now };
      this.save(m);
    } catch (err) {
      rmSync(join(dirs.fs, '..'), { recursive: true, force: true });
      throw err;
    }
    this.publish?.(this.namespace, '/snapshot/prepare', containerdEvent('SnapshotPrepare', { key, parent: parent ?? '' }));
    return this.mountsOf(kind, dirs, parents);
  }

  prepare(key: string, parent?: string, labels: Record<string, string> = {}): Mount[] {
    return this.create('active', key, parent, labels);
  }

  view(key: string, parent?: string, labels: Record<string, string> = {}): Mount[] {
    return this.create('view', key, parent, labels);
  }

  mounts(key: string): Mount[] {
    const m = this.read();
    const s = this.get(m, key);
    if (s.kind === 'committed') throw precondition(`snapshot ${key} is committed: prepare or view on top of it to mount it`);
    return this.mountsOf(s.kind, this.dirOf(s.id), this.parentDirs(m, s.parent));
  }

  commit(name: string, key: string, labels?: Record<string, string>, opts: { parent?: string } = {}): void {
    if (labels) validateLabels(labels, 'snapshot.Labels');
    const m = this.load();
    const s = this.get(m, key);
    if (s.kind !== 'active') throw precondition(`snapshot ${key} is ${s.kind}: only an active snapshot can be committed`);
    if (this.keys(m)[name]) throw exists(`snapshot ${name} already exists`);
    const parent = opts.parent === undefined ? s.parent : opts.parent || undefined;
    if (parent !== s.parent) {
      // Only where a layer's content does not depend on its parent (its directory started empty).
      if (!this.rebase) throw precondition(`snapshotter ${this.name} cannot give snapshot ${key} another parent at commit`);
      if (parent && !this.keys(m)[parent]) throw notFound(`parent snapshot ${parent} does not exist: not found`);
      if (parent && this.get(m, parent).kind !== 'committed') throw precondition(`parent ${parent} is not a committed snapshot`);
    }
    delete this.keys(m)[key];
    this.keys(m)[name] = { ...s, key: name, kind: 'committed', parent, labels: labels ?? s.labels, updated: new Date().toISOString() };
    this.save(m);
    rmSync(this.dirOf(s.id).work, { recursive: true, force: true });
    this.publish?.(this.namespace, '/snapshot/commit', containerdEvent('SnapshotCommit', { key, name }));
  }

  remove(key: string): void {
    const m = this.load();
    const s = this.get(m, key);
    const child = Object.values(this.keys(m)).find((c) => c.parent === key);
    if (child) throw precondition('cannot remove snapshot with child'); // containerd's words: ctr users know them
    delete this.keys(m)[key];
    this.save(m); // metadata first: a crash now leaves a stray directory, removed at next start
    this.discard(join(this.dirOf(s.id).fs, '..'), s.id);
    this.publish?.(this.namespace, '/snapshot/remove', containerdEvent('SnapshotRemove', { key }));
  }

  stat(key: string): SnapshotInfo {
    const { id: _id, ...info } = structuredClone(this.get(this.read(), key));
    return info;
  }

  update(key: string, labels: Record<string, string>): SnapshotInfo {
    validateLabels(labels, 'snapshot.Labels');
    const m = this.load();
    const s = this.get(m, key);
    s.labels = labels;
    s.updated = new Date().toISOString();
    this.save(m);
    return this.stat(key);
  }

  /** Every snapshot of the namespace, by key (containerd lists in its database's byte order). */
  list(): SnapshotInfo[] {
    return Object.values(structuredClone(this.keysOf(this.read()))).map(({ id: _id, ...info }) => info).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  usage(key: string): Usage {
    const s = this.get(this.read(), key);
    return diskUsage(this.dirOf(s.id).fs);
  }
}

/** Bytes allocated and inodes under `dir`, hard links counted once (as du does). */
function diskUsage(dir: string): Usage {
  const seen = new Set<string>();
  const usage: Usage = { size: 0, inodes: 0 };
  const walk = (p: string) => {
    const st = lstatSync(p, { bigint: true });
    const id = `${st.dev}:${st.ino}`;
    if (!seen.has(id)) {
      seen.add(id);
      usage.size += Number(st.blocks) * 512;
      usage.inodes++;
    }
    if (st.isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
  };
  walk(dir);
  return usage;
}
