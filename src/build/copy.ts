// COPY and ADD into a step container's root filesystem, with Docker's rules: a directory source
// copies its contents; several sources or a destination ending in "/" make the destination a
// directory; a relative destination starts at WORKDIR; files get uid/gid 0 unless --chown (a
// name is looked up in the container's own /etc/passwd and /etc/group); --chmod sets the mode;
// ADD unpacks a local tar archive (plain, gzip or zstd) instead of copying it. The files go in as
// a tar stream through the layer applier, which resolves every name inside the root, so neither
// a symlink in the image nor one in the context can send a file out of the container.
import { closeSync, createReadStream, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { invalid } from '../common/errors.js';
import { applyLayer } from '../image/apply-layer.js';
import { cleanEntryPath, resolveDir } from '../image/secure-path.js';
import { TAR_END, tarHeader, tarPadding } from '../image/tar-writer.js';
import type { SourceMatch } from './context.js';

export interface CopyOptions {
  /** The destination as written (after variable expansion). */
  dest: string;
  /** The stage's WORKDIR, for a relative destination. */
  workdir: string;
  chown?: string;
  chmod?: string;
  /** ADD: unpack local archives. */
  unpackArchives: boolean;
  /** Keep the sources' owners (COPY --from an image or stage) instead of root's. */
  keepOwners: boolean;
}

const SMALL_FILE = 1 << 20;

interface Owner {
  uid: number;
  gid: number;
}

/** Copies `sources` into the root filesystem at `rootfs` as the instruction says. */
export async function copyInto(rootfs: string, sources: readonly SourceMatch[], o: CopyOptions): Promise<void> {
  const destAbs = posix.resolve('/', o.workdir || '/', o.dest);
  const destExisted = isDirIn(rootfs, destAbs);
  const destIsDir = o.dest.endsWith('/') || o.dest.endsWith('/.') || o.dest === '.' || sources.length > 1 || destExisted;
  const owner = o.chown ? resolveOwner(rootfs, o.chown) : undefined;
  const mode = o.chmod !== undefined ? parseChmod(o.chmod) : undefined;
  const destParts = cleanEntryPath(destAbs);
  if (destIsDir && !destExisted && destParts.length) {
    // As Docker: a destination directory the copy makes belongs to the --chown owner (its parents to root).
    await applyLayer(rootfs, oneEntry(tarHeader({ name: `${destParts.join('/')}/`, type: 'dir', mode: 0o755, uid: owner?.uid ?? 0, gid: owner?.gid ?? 0, mtime: new Date() })), 'literal');
  }
  for (const src of sources) {
    if (o.unpackArchives && src.stat.isFile() && isArchive(src.hostPath)) {
      makeDirIn(rootfs, destAbs);
      await applyLayer(resolveDir(rootfs, destParts), createReadStream(src.hostPath), 'literal');
      continue;
    }
    // A directory copies its contents; a file lands in the directory or at the destination's name.
    const target = src.stat.isDirectory() ? destParts : destIsDir ? [...destParts, posix.basename(src.relPath) || posix.basename(src.hostPath)] : destParts;
    await applyLayer(rootfs, entries(src.hostPath, src.stat, target.join('/'), { owner, mode, keepOwners: o.keepOwners, createTop: !src.stat.isDirectory() || !destExisted }), 'literal');
  }
}

function isDirIn(rootfs: string, abs: string): boolean {
  const host = resolveDir(rootfs, cleanEntryPath(abs));
  return existsSync(host) && lstatSync(host).isDirectory();
}

/** The tar entries for one source tree, named from `name` (relative to the root). */
async function* entries(hostPath: string, st: Stats, name: string, o: { owner?: Owner; mode?: number; keepOwners: boolean; createTop: boolean }): AsyncGenerator<Buffer> {
  async function* one(path: string, stat: Stats, entryName: string, top: boolean): AsyncGenerator<Buffer> {
    const uid = o.owner?.uid ?? (o.keepOwners ? stat.uid : 0);
    const gid = o.owner?.gid ?? (o.keepOwners ? stat.gid : 0);
    const mode = o.mode ?? stat.mode & 0o7777;
    const mtime = stat.mtime;
    if (stat.isDirectory()) {
      if (!top || o.createTop) yield tarHeader({ name: `${entryName}/`, type: 'dir', mode, uid, gid, mtime });
      for (const child of readdirSync(path).sort()) yield* one(join(path, child), lstatSync(join(path, child)), `${entryName}/${child}`, false);
    } else if (stat.isSymbolicLink()) {
      yield tarHeader({ name: entryName, type: 'symlink', linkname: readlinkSync(path), mode: 0o777, uid, gid, mtime });
    } else if (stat.isFile()) {
      yield tarHeader({ name: entryName, type: 'file', size: stat.size, mode, uid, gid, mtime });
      let n = 0;
      // small files in one read (most of a context); big ones streamed
      const chunks = stat.size <= SMALL_FILE ? [readFileSync(path)] : createReadStream(path);
      for await (const chunk of chunks) {
        n += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      if (n !== stat.size) throw invalid(`COPY failed: ${entryName} changed while it was copied`);
      yield tarPadding(stat.size);
    }
    // sockets, devices and fifos in a context are skipped, as Docker's archiver does
  }
  yield* one(hostPath, st, name, true);
  yield TAR_END;
}

async function* oneEntry(header: Buffer): AsyncGenerator<Buffer> {
  yield header;
  yield TAR_END;
}

/** Makes the in-container directory `abs` (and its parents) inside the root, as root 0755. */
export function makeDirIn(rootfs: string, abs: string): void {
  // resolved chroot-style first: what is left to create are plain names, no links
  mkdirSync(resolveDir(rootfs, cleanEntryPath(abs)), { recursive: true, mode: 0o755 });
}

/** --chown: "user[:group]", names or numbers; a user alone gives its number as the group too. */
export function resolveOwner(rootfs: string, spec: string): Owner {
  const [user, group] = spec.split(':') as [string, string | undefined];
  const uid = lookup(rootfs, 'passwd', user);
  const gid = group === undefined ? uid : lookup(rootfs, 'group', group);
  return { uid, gid };
}

function lookup(rootfs: string, db: 'passwd' | 'group', name: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  let text = '';
  try {
    text = readFileSync(resolveDir(rootfs, ['etc', db]), 'utf8');
  } catch {
    // no database: a name cannot be found
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f[2] !== undefined && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  throw invalid(`unable to convert uid/gid chown string to host mapping: can't find ${db === 'passwd' ? 'uid' : 'gid'} for ${db === 'passwd' ? 'user' : 'group'} ${name}: no such ${db === 'passwd' ? 'user' : 'group'}: ${name}`);
}

function parseChmod(text: string): number {
  if (!/^[0-7]{1,4}$/.test(text)) throw invalid(`invalid chmod parameter: ${text}: only octal modes are supported`);
  return parseInt(text, 8);
}

/**
 * Whether a file is a tar archive ADD unpacks: gzip or zstd magic (what the layer applier
 * decompresses), or a plain ustar header. Docker also unpacks bzip2 and xz; those are copied as
 * files here.
 */
export function isArchive(path: string): boolean {
  const fd = openSync(path, 'r');
  const head = Buffer.alloc(512);
  let n = 0;
  try {
    n = readSync(fd, head, 0, 512, 0);
  } finally {
    closeSync(fd);
  }
  const b = head.subarray(0, n);
  if (b[0] === 0x1f && b[1] === 0x8b) return true; // gzip
  if (b.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return true; // zstd
  return n >= 512 && b.subarray(257, 262).toString('latin1') === 'ustar';
}
