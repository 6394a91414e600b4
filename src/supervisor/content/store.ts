// The content store (containerd's role): immutable blobs addressed by digest under
// <root>/blobs/<alg>/<hex>, written through ingests (<root>/ingest/<sha256 of ref>/) that are
// fsynced, checked for size and digest, then renamed into place. An interrupted write stays an
// ingest: the same ref resumes it, and garbage collection removes it when no lease holds it.
import { createReadStream, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync, type ReadStream } from 'node:fs';
import { chmod, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, errnoOf, invalid, notFound } from '../../common/errors.js';
import { isSameProcessAlive, procStat } from '../../sys/proc.js';
import { digestOf, hasher, parseDigest } from '../../common/digest.js';
import { fsyncDir, writeFileAtomic } from '../../sys/fs-atomic.js';

export interface ContentInfo {
  digest: string;
  size: number;
  createdAt: Date;
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
  ref: string;
  total?: number;
  expected?: string;
  startedAt: string;
}

export class ContentStore {
  constructor(readonly root: string) {
    for (const d of ['blobs', 'ingest', 'labels']) mkdirSync(join(root, d), { recursive: true, mode: 0o700 });
  }

  blobPath(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.root, 'blobs', algorithm, hex);
  }

  private labelsPath(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.root, 'labels', `${algorithm}-${hex}.json`);
  }

  ingestDir(ref: string): string {
    if (!ref) throw invalid('an ingest needs a non-empty ref');
    return join(this.root, 'ingest', digestOf(ref).slice('sha256:'.length));
  }

  info(digest: string): ContentInfo {
    let st;
    try {
      st = statSync(this.blobPath(digest));
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') throw notFound(`content ${digest} not found`);
      throw err;
    }
    return { digest, size: st.size, createdAt: st.mtime, labels: this.readLabels(digest) };
  }

  has(digest: string): boolean {
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

  list(): ContentInfo[] {
    const out: ContentInfo[] = [];
    for (const alg of safeReaddir(join(this.root, 'blobs'))) {
      for (const hex of safeReaddir(join(this.root, 'blobs', alg))) {
        try {
          out.push(this.info(`${alg}:${hex}`));
        } catch {
          // a name that is not a digest, or removed meanwhile
        }
      }
    }
    return out;
  }

  /** Replaces a blob's labels (containerd's gc.ref.* labels link a manifest to its children). */
  setLabels(digest: string, labels: Record<string, string>): ContentInfo {
    this.info(digest);
    if (Object.keys(labels).length === 0) rmSync(this.labelsPath(digest), { force: true });
    else writeFileAtomic(this.labelsPath(digest), JSON.stringify(labels), 0o600);
    return this.info(digest);
  }

  private readLabels(digest: string): Record<string, string> {
    try {
      return JSON.parse(readFileSync(this.labelsPath(digest), 'utf8')) as Record<string, string>;
    } catch {
      return {};
    }
  }

  delete(digest: string): void {
    this.info(digest);
    rmSync(this.blobPath(digest), { force: true });
    rmSync(this.labelsPath(digest), { force: true });
  }

  /** Opens (or resumes) the ingest `ref`; only one writer holds a ref at a time. */
  async writer(ref: string, opts: { expected?: string; total?: number } = {}): Promise<ContentWriter> {
    if (opts.expected) parseDigest(opts.expected);
    const dir = this.ingestDir(ref);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    takeLock(join(dir, 'lock'), ref);
    try {
      let meta = readMeta(dir);
      if (!meta || meta.ref !== ref) {
        meta = { ref, total: opts.total, expected: opts.expected, startedAt: new Date().toISOString() };
        writeFileAtomic(join(dir, 'meta.json'), JSON.stringify(meta), 0o600);
      }
      const fh = await open(join(dir, 'data'), 'a+', 0o600);
      // Resuming: what is already there counts, and its hash is rebuilt from the bytes on disk.
      const hash = hasher(algorithmOf(opts.expected ?? meta.expected));
      let offset = 0;
      for await (const chunk of fh.createReadStream({ start: 0, autoClose: false })) {
        hash.update(chunk as Buffer);
        offset += (chunk as Buffer).length;
      }
      return new ContentWriter(this, dir, { ...meta, total: opts.total ?? meta.total, expected: opts.expected ?? meta.expected }, fh, hash, offset);
    } catch (err) {
      rmSync(join(dir, 'lock'), { force: true });
      throw err;
    }
  }

  status(ref: string): IngestStatus {
    const dir = this.ingestDir(ref);
    const meta = readMeta(dir);
    if (!meta) throw notFound(`ingest ${ref} not found`);
    let st;
    try {
      st = statSync(join(dir, 'data'));
    } catch {
      st = { size: 0, mtime: new Date(meta.startedAt) };
    }
    return { ref: meta.ref, offset: st.size, total: meta.total, expected: meta.expected, startedAt: new Date(meta.startedAt), updatedAt: st.mtime };
  }

  listIngests(): IngestStatus[] {
    return safeReaddir(join(this.root, 'ingest')).flatMap((name) => {
      const meta = readMeta(join(this.root, 'ingest', name));
      return meta ? [this.status(meta.ref)] : [];
    });
  }

  /** Whether a live writer holds the ingest (its lock names a running process). */
  ingestActive(ref: string): boolean {
    return lockHolderAlive(join(this.ingestDir(ref), 'lock'));
  }

  abort(ref: string): void {
    const dir = this.ingestDir(ref);
    if (!readMeta(dir)) throw notFound(`ingest ${ref} not found`);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Committed bytes that do not hash to what was expected; `actual` is what they hash to. */
export class DigestMismatch extends BerthError {
  constructor(readonly actual: string, message: string) {
    super('FAILED_PRECONDITION', message);
  }
}

export class ContentWriter {
  private closed = false;

  constructor(
    private readonly store: ContentStore,
    private readonly dir: string,
    readonly meta: IngestMeta,
    private readonly fh: FileHandle,
    private readonly hash: ReturnType<typeof hasher>,
    public offset: number,
  ) {}

  get ref(): string {
    return this.meta.ref;
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.closed) throw new BerthError('FAILED_PRECONDITION', `ingest ${this.ref} is closed`);
    if (this.meta.total !== undefined && this.offset + chunk.length > this.meta.total) {
      throw invalid(`ingest ${this.ref}: ${this.offset + chunk.length} bytes is more than the expected ${this.meta.total}`);
    }
    // A plain write(2): a thread-pool round trip per 64 KiB chunk cost a pull more than the disk.
    for (let off = 0; off < chunk.length; ) off += writeSync(this.fh.fd, chunk, off);
    this.hash.update(chunk);
    this.offset += chunk.length;
  }

  /**
   * Makes the bytes a blob: fsync, check size and digest, rename into place. A mismatch removes
   * the ingest (its bytes are wrong, resuming cannot fix them). Committing content that already
   * exists succeeds and drops the ingest.
   */
  async commit(opts: { size?: number; expected?: string; labels?: Record<string, string> } = {}): Promise<string> {
    const size = opts.size ?? this.meta.total;
    const expected = opts.expected ?? this.meta.expected;
    await this.fh.sync();
    const digest = `${algorithmOf(expected)}:${this.hash.copy().digest('hex')}`;
    try {
      if (size !== undefined && size !== this.offset) throw new BerthError('FAILED_PRECONDITION', `ingest ${this.ref}: got ${this.offset} bytes, want ${size}: the transfer was cut short or padded`);
      if (expected && expected !== digest) throw new DigestMismatch(digest, `ingest ${this.ref}: content has digest ${digest}, want ${expected}: the source sent other bytes`);
    } catch (err) {
      await this.close();
      await rm(this.dir, { recursive: true, force: true });
      throw err;
    }
    const target = this.store.blobPath(digest);
    mkdirSync(join(target, '..'), { recursive: true, mode: 0o700 });
    const already = await stat(target).then(() => true, () => false);
    await this.close();
    if (!already) {
      await chmod(join(this.dir, 'data'), 0o444);
      await rename(join(this.dir, 'data'), target);
      fsyncDir(join(target, '..'));
    }
    await rm(this.dir, { recursive: true, force: true });
    if (opts.labels && Object.keys(opts.labels).length) this.store.setLabels(digest, opts.labels);
    return digest;
  }

  /** Lets go of the ref; the bytes stay for a later writer to resume. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
    rmSync(join(this.dir, 'lock'), { force: true });
  }
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
  throw new BerthError('UNAVAILABLE', `ingest ${ref}: cannot take its lock`);
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
