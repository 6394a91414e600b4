// The content store (containerd's role): immutable blobs addressed by digest under
// <root>/blobs/<alg>/<hex>, shared on disk by every namespace, and per-namespace records
// <root>/namespaces/<ns>/<alg>-<hex>.json (labels, times) that decide what a namespace sees: a
// blob is in a namespace once committed there. A ContentStore is one namespace's view;
// `forNamespace` gives another's over the same files.
//
// Blobs are written through ingests (<root>/ingest/<sha256 of namespace/ref>/) that are fsynced,
// checked for size and digest, then renamed into place. An interrupted write stays an ingest: the
// same ref resumes it, and garbage collection removes it when no lease holds it. An ingest whose
// expected blob is already on disk (another namespace has it) needs no bytes: committing it just
// records the blob in this namespace, as containerd's shared content policy does. Committing what
// the namespace has already fails with ContentExists (containerd's AlreadyExists) and changes
// nothing of its record. Bytes held in memory (a manifest, a config) are put in one go instead,
// with no ingest.
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, createReadStream, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync, type ReadStream } from 'node:fs';
import { copyFile, open, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BerthError, errnoOf, invalid, notFound, precondition } from '../../common/errors.js';
import { isSameProcessAlive, procStat } from '../../sys/proc.js';
import { digestOf, hasher, parseDigest } from '../../common/digest.js';
import { WriteBehind } from '../../common/write-behind.js';
import { fsyncDir, readJsonRecord, writeFileAtomic } from '../../sys/fs-atomic.js';
import { DEFAULT_NAMESPACE, LEGACY_NAMESPACE, validateLabels, validateNamespace } from '../namespaces/names.js';
import { containerdEvent, type Publish } from '../events/exchange.js';

export interface ContentInfo {
  digest: string;
  size: number;
  createdAt: Date;
  updatedAt: Date;
  labels: Record<string, string>;
}

export interface IngestStatus {
  ref: string;
  offset: number;
  total?: number;
  expected?: string;
  startedAt: Date;
  updatedAt: Date;
}

interface IngestMeta {
  namespace: string;
  ref: string;
  total?: number;
  expected?: string;
  startedAt: string;
}

interface BlobRecord {
  labels: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

export interface ContentStoreOptions {
  /** The namespace this view shows (default "default"). */
  namespace?: string;
  /** Where deletions are announced. */
  publish?: Publish;
}

export class ContentStore {
  readonly namespace: string;
  private readonly publish?: Publish;

  constructor(readonly root: string, opts: ContentStoreOptions = {}) {
    this.namespace = validateNamespace(opts.namespace ?? DEFAULT_NAMESPACE);
    this.publish = opts.publish;
    for (const d of ['blobs', 'ingest']) mkdirSync(join(root, d), { recursive: true, mode: 0o700 });
    migrateToNamespaces(root);
    removeStrayPuts(join(root, 'ingest'));
  }

  /** The same store as namespace `namespace` sees it. */
  forNamespace(namespace: string): ContentStore {
    return Object.assign(Object.create(this) as ContentStore, { namespace: validateNamespace(namespace) });
  }

  blobPath(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.root, 'blobs', algorithm, hex);
  }

  private recordPath(digest: string, namespace = this.namespace): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.root, 'namespaces', namespace, `${algorithm}-${hex}.json`);
  }

  ingestDir(ref: string): string {
    if (!ref) throw invalid('ref must not be empty: an ingest needs one');
    return join(this.root, 'ingest', digestOf(`${this.namespace}/${ref}`).slice('sha256:'.length));
  }

  private readRecord(digest: string): BlobRecord | undefined {
    return readJsonRecord<BlobRecord>(this.recordPath(digest));
  }

  private writeRecord(digest: string, record: BlobRecord): void {
    mkdirSync(join(this.root, 'namespaces', this.namespace), { recursive: true, mode: 0o700 });
    writeFileAtomic(this.recordPath(digest), JSON.stringify(record), 0o600);
  }

  info(digest: string): ContentInfo {
    const record = this.readRecord(digest);
    let size: number | undefined;
    try {
      if (record) size = statSync(this.blobPath(digest)).size;
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw err;
    }
    if (!record || size === undefined) throw notFound(`content digest ${digest}: not found`);
    return { digest, size, createdAt: new Date(record.createdAt), updatedAt: new Date(record.updatedAt), labels: record.labels };
  }

  has(digest: string): boolean {
    try {
      this.info(digest);
      return true;
    } catch {
      return false;
    }
  }

  /** Whether the blob is on disk, in whichever namespace. */
  hasBlob(digest: string): boolean {
    try {
      statSync(this.blobPath(digest));
      return true;
    } catch {
      return false;
    }
  }

  read(digest: string): Buffer {
    this.info(digest);
    return readFileSync(this.blobPath(digest));
  }

  /** A stream of the blob, or of bytes [start, end] of it. */
  reader(digest: string, range: { start?: number; end?: number } = {}): ReadStream {
    this.info(digest);
    return createReadStream(this.blobPath(digest), { ...range, highWaterMark: 1 << 20 });
  }

  /**
   * Stores bytes held in memory (a manifest, a config) as a blob in one go, with plain calls: no
   * ingest to resume, no thread-pool round trips. They must hash to `expected`; they are written
   * to a file of their own, fsynced and renamed into place, and recorded in this namespace (with
   * `labels`). A blob already on disk is only recorded.
   */
  put(bytes: Buffer, expected: string, labels?: Record<string, string>): void {
    const { algorithm } = parseDigest(expected);
    const digest = `${algorithm}:${hasher(algorithm).update(bytes).digest('hex')}`;
    if (digest !== expected) throw new DigestMismatch(digest, `content has digest ${digest}, want ${expected}`);
    const target = this.blobPath(digest);
    if (!this.hasBlob(digest)) {
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      // Named for this process, so that a store opened after a crash removes it (removeStrayPuts).
      const tmp = join(this.root, 'ingest', `${PUT_PREFIX}${process.pid}-${procStat(process.pid)?.startTime ?? 0}-${randomBytes(6).toString('hex')}`);
      try {
        const fd = openSync(tmp, 'wx', 0o444);
        try {
          for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, target);
      } catch (err) {
        rmSync(tmp, { force: true });
        throw err;
      }
      fsyncDir(dirname(target));
    }
    this.recordCommitted(digest, labels);
  }

  /** The namespace's blobs, by digest (as containerd lists them). */
  list(): ContentInfo[] {
    const out: ContentInfo[] = [];
    for (const name of safeReaddir(join(this.root, 'namespaces', this.namespace)).sort()) {
      const m = /^([a-z0-9]+)-([a-f0-9]+)\.json$/.exec(name);
      if (!m) continue;
      try {
        out.push(this.info(`${m[1]}:${m[2]}`));
      } catch {
        // removed meanwhile
      }
    }
    return out;
  }

  /** Replaces a blob's labels (containerd's gc.ref.* labels link a manifest to its children). */
  setLabels(digest: string, labels: Record<string, string>): ContentInfo {
    const info = this.info(digest);
    this.writeRecord(digest, { labels: validateLabels(labels, 'info.Labels'), createdAt: info.createdAt.toISOString(), updatedAt: new Date().toISOString() });
    return this.info(digest);
  }

  /** Records a blob that is on disk in this namespace (a commit, or a blob another namespace has). */
  private adopt(digest: string, labels?: Record<string, string>): void {
    const old = this.readRecord(digest);
    const now = new Date().toISOString();
    if (old && !labels) return;
    this.writeRecord(digest, { labels: validateLabels(labels ?? {}, 'info.Labels'), createdAt: old?.createdAt ?? now, updatedAt: now });
  }

  /** Removes the blob from this namespace (announced), and from disk once no namespace has it. */
  delete(digest: string): void {
    this.forget(digest);
    this.publish?.(this.namespace, '/content/delete', containerdEvent('ContentDelete', { digest }));
  }

  /** What delete does, unannounced: garbage collection's removal. */
  forget(digest: string): void {
    this.info(digest);
    rmSync(this.recordPath(digest), { force: true });
    if (!this.owners(digest).length) rmSync(this.blobPath(digest), { force: true });
  }

  /** The namespaces that have content records. */
  namespaces(): string[] {
    return safeReaddir(join(this.root, 'namespaces')).filter((ns) => safeReaddir(join(this.root, 'namespaces', ns)).length > 0);
  }

  /** The namespaces that have the blob. */
  owners(digest: string): string[] {
    return safeReaddir(join(this.root, 'namespaces')).filter((ns) => {
      try {
        statSync(this.recordPath(digest, ns));
        return true;
      } catch {
        return false;
      }
    });
  }

  /**
   * Opens (or resumes) the ingest `ref`; only one writer holds a ref at a time. With `reuse`, an
   * expected blob already on disk (another namespace's) makes a writer that stands for it: its
   * offset is the blob's size and committing records it here (containerd's shared content, for
   * API clients, who resume at the offset). Without, the bytes are written again as always.
   */
  async writer(ref: string, opts: { expected?: string; total?: number; reuse?: boolean } = {}): Promise<ContentWriter> {
    if (opts.expected) parseDigest(opts.expected);
    const dir = this.ingestDir(ref);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    takeLock(join(dir, 'lock'), ref);
    try {
      let meta = readMeta(dir);
      if (!meta || meta.ref !== ref) {
        meta = { namespace: this.namespace, ref, total: opts.total, expected: opts.expected, startedAt: new Date().toISOString() };
        writeFileAtomic(join(dir, 'meta.json'), JSON.stringify(meta), 0o600);
      }
      meta = { ...meta, total: opts.total ?? meta.total, expected: opts.expected ?? meta.expected };
      const data = join(dir, 'data');
      const shared = opts.reuse && meta.expected && this.hasBlob(meta.expected) && !(await stat(data).then((s) => s.size > 0, () => false)) ? this.sharedSize(meta.expected, meta.total) : undefined;
      const w = new ContentWriter(this, dir, meta);
      if (shared !== undefined) w.byReference(shared);
      else await w.openData();
      return w;
    } catch (err) {
      rmSync(join(dir, 'lock'), { force: true });
      throw err;
    }
  }

  /** The size of an expected blob on disk, when it fits the ingest's total. */
  private sharedSize(digest: string, total: number | undefined): number | undefined {
    const size = statSync(this.blobPath(digest)).size;
    return total === undefined || total === 0 || total === size ? size : undefined;
  }

  /** Called by a writer: the blob `digest` is on disk, record it here. */
  recordCommitted(digest: string, labels?: Record<string, string>): void {
    this.adopt(digest, labels && Object.keys(labels).length ? labels : undefined);
  }

  status(ref: string): IngestStatus {
    const dir = this.ingestDir(ref);
    const meta = readMeta(dir);
    if (!meta) throw notFound(`reference ${ref}: not found`);
    return statusOf(dir, meta);
  }

  listIngests(): IngestStatus[] {
    return safeReaddir(join(this.root, 'ingest')).flatMap((name) => {
      const dir = join(this.root, 'ingest', name);
      const meta = readMeta(dir);
      return meta && meta.namespace === this.namespace ? [statusOf(dir, meta)] : [];
    });
  }

  /** Whether a live writer holds the ingest (its lock names a running process). */
  ingestActive(ref: string): boolean {
    return lockHolderAlive(join(this.ingestDir(ref), 'lock'));
  }

  abort(ref: string): void {
    const dir = this.ingestDir(ref);
    if (!readMeta(dir)) throw notFound(`reference ${ref}: not found`);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A commit of content the namespace has already (containerd's AlreadyExists): the ingest is gone,
 * the blob's record (labels, times) is as it was. `digest` names the content.
 */
export class ContentExists extends BerthError {
  constructor(readonly digest: string) {
    super('ALREADY_EXISTS', `content ${digest}: already exists`);
  }
}

/**
 * The digest a commit made, or that of the content it found there already: for writers to whom
 * either will do (containerd's content.Copy takes AlreadyExists as success the same way).
 */
export function committedDigest(commit: Promise<string>): Promise<string> {
  return commit.catch((err: unknown) => {
    if (err instanceof ContentExists) return err.digest;
    throw err;
  });
}

/** Committed bytes that do not hash to what was expected; `actual` is what they hash to. */
export class DigestMismatch extends BerthError {
  constructor(readonly actual: string, message: string) {
    super('FAILED_PRECONDITION', message);
  }
}

/** Bytes written between the fdatasyncs a writer starts on its way (see ContentWriter.write). */
const SYNC_AHEAD = 16 << 20;

export class ContentWriter {
  private closed = false;
  private fh?: FileHandle;
  /** The data file's writes, in the thread pool while the bytes are hashed here. */
  private out?: WriteBehind;
  /** An fdatasync started on the way, and the offset it was started at (see write). */
  private syncing?: Promise<void>;
  private syncedTo = 0;
  private syncError: unknown;
  private hash = hasher();
  offset = 0;
  /** Set while the writer stands for an existing blob of that size (no bytes needed). */
  private shared?: number;

  constructor(private readonly store: ContentStore, private readonly dir: string, readonly meta: IngestMeta) {}

  get ref(): string {
    return this.meta.ref;
  }

  byReference(size: number): void {
    this.shared = size;
    this.offset = size;
  }

  /** Opens the ingest's data; resuming, what is already there counts and is hashed again. */
  async openData(): Promise<void> {
    await this.out?.flush();
    await this.fh?.close();
    this.fh = await open(join(this.dir, 'data'), 'a+', 0o600);
    this.out = new WriteBehind(this.fh.fd);
    this.hash = hasher(algorithmOf(this.meta.expected));
    this.offset = 0;
    for await (const chunk of this.fh.createReadStream({ start: 0, autoClose: false })) {
      this.hash.update(chunk as Buffer);
      this.offset += (chunk as Buffer).length;
    }
  }

  /** The digest of the bytes so far (the expected one while standing for an existing blob). */
  digest(): string {
    if (this.shared !== undefined) return this.meta.expected!;
    return `${algorithmOf(this.meta.expected)}:${this.hash.copy().digest('hex')}`;
  }

  status(): IngestStatus {
    const s = statusOf(this.dir, this.meta);
    return { ...s, offset: this.offset };
  }

  /** Drops what was written: the writer starts again from zero. */
  async truncate(): Promise<void> {
    this.checkOpen();
    if (this.shared !== undefined) {
      this.shared = undefined;
      await this.openData();
    }
    await this.out!.flush();
    await this.fh!.truncate(0);
    this.hash = hasher(algorithmOf(this.meta.expected));
    this.offset = 0;
  }

  private checkOpen(): void {
    if (this.closed) throw precondition(`ingest ${this.ref} is closed`);
  }

  async write(chunk: Buffer): Promise<void> {
    this.checkOpen();
    if (chunk.length === 0) return;
    if (this.shared !== undefined) {
      // More bytes for a blob that exists: copy it in first so the digest covers everything.
      await copyFile(this.store.blobPath(this.meta.expected!), join(this.dir, 'data'));
      this.shared = undefined;
      await this.openData();
    }
    if (this.meta.total !== undefined && this.meta.total > 0 && this.offset + chunk.length > this.meta.total) {
      throw invalid(`ingest ${this.ref}: ${this.offset + chunk.length} bytes is more than the expected ${this.meta.total}`);
    }
    this.hash.update(chunk);
    this.offset += chunk.length;
    await this.out!.push(chunk);
    // The disk writes a big blob back as it comes, not all at once when commit's fsync asks:
    // that wait was most of the time between a pull's last byte and its end.
    if (this.offset - this.syncedTo >= SYNC_AHEAD && !this.syncing) {
      this.syncedTo = this.offset;
      const fh = this.fh!;
      this.syncing = fh.datasync().catch((err: unknown) => void (this.syncError ??= err)).finally(() => (this.syncing = undefined));
    }
  }

  /** Waits for a sync started by write; its failure is the commit's (a failed writeback is not retried). */
  private async syncedAhead(): Promise<void> {
    await this.syncing;
    if (this.syncError !== undefined) throw this.syncError;
  }

  /**
   * Makes the bytes a blob: fsync, check size and digest, rename into place, record it in the
   * namespace with `labels`. A mismatch removes the ingest (its bytes are wrong, resuming cannot
   * fix them). Content the namespace has already drops the ingest and fails with ContentExists,
   * its labels untouched (containerd's metadata store); content only another namespace has is
   * recorded here without being written again.
   */
  async commit(opts: { size?: number; expected?: string; labels?: Record<string, string> } = {}): Promise<string> {
    this.checkOpen();
    const size = opts.size || this.meta.total || undefined;
    const expected = opts.expected || this.meta.expected;
    await this.out?.flush();
    await this.syncedAhead();
    if (this.fh) await this.fh.sync();
    const digest = this.digest();
    try {
      if (size !== undefined && size !== this.offset) throw precondition(`ingest ${this.ref}: got ${this.offset} bytes, want ${size}: the transfer was cut short or padded`);
      if (expected && expected !== digest) throw new DigestMismatch(digest, `ingest ${this.ref}: content has digest ${digest}, want ${expected}: the source sent other bytes`);
    } catch (err) {
      await this.close();
      rmSync(this.dir, { recursive: true, force: true });
      throw err;
    }
    // Plain calls from here: each is quick, and a thread-pool round trip costs more than the call
    // when the machine is busy.
    const target = this.store.blobPath(digest);
    mkdirSync(join(target, '..'), { recursive: true, mode: 0o700 });
    const shared = this.shared !== undefined;
    await this.close();
    // From here on no await: what is seen now is still so when the record is written.
    const already = this.store.hasBlob(digest);
    if (this.store.has(digest)) {
      rmSync(this.dir, { recursive: true, force: true });
      throw new ContentExists(digest);
    }
    if (!already && shared) throw new BerthError('NOT_FOUND', `content ${digest} was removed while ingest ${this.ref} referred to it: write it again`);
    if (!already) {
      chmodSync(join(this.dir, 'data'), 0o444);
      renameSync(join(this.dir, 'data'), target);
      fsyncDir(join(target, '..'));
    }
    rmSync(this.dir, { recursive: true, force: true });
    this.store.recordCommitted(digest, opts.labels);
    return digest;
  }

  /** Lets go of the ref; the bytes stay for a later writer to resume. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.out?.flush(); // what was written stays, for a later writer to resume
      await this.syncing;
    } finally {
      await this.fh?.close();
      rmSync(join(this.dir, 'lock'), { force: true });
    }
  }
}

function statusOf(dir: string, meta: IngestMeta): IngestStatus {
  let st;
  try {
    st = statSync(join(dir, 'data'));
  } catch {
    st = { size: 0, mtime: new Date(meta.startedAt) };
  }
  return { ref: meta.ref, offset: st.size, total: meta.total, expected: meta.expected, startedAt: new Date(meta.startedAt), updatedAt: st.mtime };
}

/** The expected digest's algorithm; sha256 when nothing is expected. */
function algorithmOf(expected: string | undefined) {
  return expected ? parseDigest(expected).algorithm : 'sha256';
}

function readMeta(dir: string): IngestMeta | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as IngestMeta;
  } catch {
    return undefined;
  }
}

/**
 * Content written before the store had namespaces was the engine's: its blobs become records of
 * the legacy namespace (with their labels), and its ingests, keyed without a namespace, are
 * dropped (interrupted pulls start over). Runs once; the namespaces directory marks it done.
 */
function migrateToNamespaces(root: string): void {
  const done = join(root, 'namespaces');
  if (safeReaddir(root).includes('namespaces')) return;
  const tmp = join(root, `namespaces.${process.pid}.tmp`);
  mkdirSync(join(tmp, LEGACY_NAMESPACE), { recursive: true, mode: 0o700 });
  const now = new Date().toISOString();
  for (const alg of safeReaddir(join(root, 'blobs'))) {
    for (const hex of safeReaddir(join(root, 'blobs', alg))) {
      let labels = {};
      try {
        labels = JSON.parse(readFileSync(join(root, 'labels', `${alg}-${hex}.json`), 'utf8')) as Record<string, string>;
      } catch {
        // no labels
      }
      writeFileSync(join(tmp, LEGACY_NAMESPACE, `${alg}-${hex}.json`), JSON.stringify({ labels, createdAt: now, updatedAt: now }), { mode: 0o600 });
    }
  }
  for (const name of safeReaddir(join(root, 'ingest'))) if (!readMeta(join(root, 'ingest', name))?.namespace) rmSync(join(root, 'ingest', name), { recursive: true, force: true });
  try {
    renameSync(tmp, done);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another process migrated first
  }
  rmSync(join(root, 'labels'), { recursive: true, force: true });
}

/** What `put` names its temporary files in the ingest directory: "put-PID-STARTTIME-RANDOM". */
const PUT_PREFIX = 'put-';

/** Temporary files of puts whose process is gone (killed between write and rename). */
function removeStrayPuts(ingestDir: string): void {
  for (const name of safeReaddir(ingestDir)) {
    if (!name.startsWith(PUT_PREFIX)) continue;
    const [pid, start] = name.slice(PUT_PREFIX.length).split('-').map(Number);
    if (!isSameProcessAlive(pid!, start!)) rmSync(join(ingestDir, name), { force: true });
  }
}

/** The lock file holds "PID STARTTIME"; a lock whose process is gone is taken over. */
function takeLock(path: string, ref: string): void {
  const me = `${process.pid} ${procStat(process.pid)?.startTime ?? 0}`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileExclusive(path, me);
      return;
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw err;
      if (lockHolderAlive(path)) throw new BerthError('UNAVAILABLE', `ingest ${ref} is being written by another writer: try again when it is done`);
      rmSync(path, { force: true });
    }
  }
  throw new BerthError('UNAVAILABLE', `ref ${ref}: cannot take its lock`);
}

function lockHolderAlive(path: string): boolean {
  try {
    const [pid, start] = readFileSync(path, 'utf8').split(' ').map(Number);
    return isSameProcessAlive(pid!, start!);
  } catch {
    return false;
  }
}

function writeFileExclusive(path: string, data: string): void {
  writeFileSync(path, data, { flag: 'wx', mode: 0o600 }); // EEXIST when another writer holds it
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
