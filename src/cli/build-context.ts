// The build context as the docker CLI assembles it for the classic builder: a local directory
// packed into an uncompressed tar (names relative to the directory, uid/gid 0, mode and mtime kept,
// symlinks as symlinks, what .dockerignore excludes left out, the Dockerfile and .dockerignore
// always in), a tar on stdin sent as it is, or a Dockerfile on stdin wrapped in a one-file tar.
// A Dockerfile from outside the directory (or from stdin, with -f -) is added to the tar under a
// random name that .dockerignore then lists, so the builder uses it but COPY never sees it.
// Remote contexts (git, URLs) are refused: berth builds offline.
import { randomBytes } from 'node:crypto';
import { lstat, open, readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { PatternMatcher, parseDockerignore } from '../common/dockerignore.js';
import { BerthError, errnoOf } from '../common/errors.js';
import { isArchiveStart, packPath, replaceTarEntries, tarHeader, padding, walkPath, type PackFilter, type TarHeader, type TarModifier } from './archive.js';

export const DEFAULT_DOCKERFILE = 'Dockerfile';

/**
 * The exclusion hook of the context walker, by paths relative to the context directory
 * ('/'-separated, no leading "./"): `isExcluded(relPath, isDir)` leaves a path out (a directory
 * with everything under it), `walkExcludedDir(relDir)` says an excluded directory must still be
 * walked because a `!` exception may bring back something under it (its own entry stays out).
 */
export type ContextFilter = PackFilter;

/** A filter that leaves nothing out. */
export const NO_EXCLUSIONS: ContextFilter = { isExcluded: () => false, walkExcludedDir: () => false };

/**
 * The filter `contextDir/.dockerignore` describes (moby/patternmatcher's rules): a missing file
 * excludes nothing; another read error fails as docker's "error reading .dockerignore".
 */
export async function dockerignoreFilter(contextDir: string): Promise<ContextFilter> {
  let text: string;
  try {
    text = await readFile(join(contextDir, '.dockerignore'), 'utf8');
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return NO_EXCLUSIONS;
    throw new BerthError('INVALID_ARGUMENT', `error reading .dockerignore: ${(err as Error).message}`);
  }
  const matcher = new PatternMatcher(parseDockerignore(text));
  return { isExcluded: (relPath) => matcher.matches(relPath), walkExcludedDir: (relDir) => matcher.shouldDescend(relDir) };
}

/** Docker's rule: the Dockerfile and .dockerignore are sent even when .dockerignore excludes them. */
export function keepingBuildFiles(filter: ContextFilter, keep: readonly string[]): ContextFilter {
  return {
    isExcluded: (relPath, isDir) => !keep.includes(relPath) && filter.isExcluded(relPath, isDir),
    walkExcludedDir: (relDir) => keep.some((k) => k.startsWith(`${relDir}/`)) || filter.walkExcludedDir(relDir),
  };
}

const prepareError = (msg: string) => new BerthError('INVALID_ARGUMENT', `unable to prepare context: ${msg}`);

function errnoText(err: unknown): string {
  const known: Record<string, string> = {
    ENOENT: 'no such file or directory', ENOTDIR: 'not a directory', EACCES: 'permission denied', ELOOP: 'too many levels of symbolic links',
  };
  return known[errnoOf(err) ?? ''] ?? (err as Error).message;
}

/** Go's filepath.EvalSymlinks, whose error names the first component that cannot be lstat'ed. */
async function evalSymlinks(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (err) {
    const parts = path.split('/');
    for (let i = 2; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      const failed = await lstat(prefix).then(() => undefined, (e: unknown) => e);
      if (failed) throw new Error(`lstat ${prefix}: ${errnoText(failed)}`);
    }
    throw new Error(`lstat ${path}: ${errnoText(err)}`);
  }
}

/** "git" or "url" for a context docker would fetch (its urlutil rules), else undefined. */
export function remoteContextKind(arg: string): 'git' | 'url' | undefined {
  const isUrl = /^https?:\/\//.test(arg);
  if ((isUrl && /\.git(?:#.+)?$/.test(arg)) || /^(git:\/\/|github\.com\/|git@)/.test(arg)) return 'git';
  return isUrl ? 'url' : undefined;
}

export interface LocalContext {
  /** The context directory, absolute with symlinks resolved. */
  dir: string;
  /** The Dockerfile relative to `dir` ('/'-separated; "../…" outside it; "-" from stdin). */
  dockerfile: string;
}

/**
 * The context directory and the Dockerfile's path in it: -f is relative to the current directory
 * (not the context); without -f, PATH/Dockerfile, or PATH/dockerfile when only that exists.
 */
export async function localContext(contextArg: string, dockerfileFlag: string | undefined): Promise<LocalContext> {
  let dir: string;
  try {
    dir = await evalSymlinks(resolve(contextArg));
  } catch (err) {
    throw prepareError(`unable to evaluate symlinks in context path: ${(err as Error).message}`);
  }
  if (!(await stat(dir)).isDirectory()) throw prepareError(`context must be a directory: ${dir}`);
  if (dockerfileFlag === '-') return { dir, dockerfile: '-' };
  let path = dockerfileFlag ? resolve(dockerfileFlag) : join(dir, DEFAULT_DOCKERFILE);
  if (!dockerfileFlag && !(await exists(path)) && (await exists(join(dir, DEFAULT_DOCKERFILE.toLowerCase())))) {
    path = join(dir, DEFAULT_DOCKERFILE.toLowerCase());
  }
  if (!isAbsolute(path)) path = join(dir, path);
  try {
    path = await evalSymlinks(path);
  } catch (err) {
    throw prepareError(`unable to evaluate symlinks in Dockerfile path: ${(err as Error).message}`);
  }
  return { dir, dockerfile: relative(dir, path) || '.' };
}

const exists = (path: string) => lstat(path).then(() => true, () => false);

const checkError = (msg: string) => new BerthError('INVALID_ARGUMENT', `error checking context: ${msg}`);

/**
 * docker's ValidateContextDirectory: every file that will be sent can be read, before anything is
 * sent (symlinks are not followed, fifos not opened).
 */
export async function checkContext(dir: string, filter: ContextFilter): Promise<void> {
  try {
    for await (const e of walkPath(dir, '', { filter })) {
      if (e.type !== 'file') continue;
      const fh = await open(e.path, 'r').catch((err: unknown) => {
        if (errnoOf(err) === 'EACCES' || errnoOf(err) === 'EPERM') throw checkError(`no permission to read from '${e.path}'`);
        throw err;
      });
      await fh.close();
    }
  } catch (err) {
    if (err instanceof BerthError) throw err;
    const path = (err as NodeJS.ErrnoException).path ?? dir;
    if (errnoOf(err) === 'EACCES' || errnoOf(err) === 'EPERM') throw checkError(`can't stat '${path}'`);
    if (errnoOf(err) === 'ENOENT') throw checkError(`file ('${path}') not found or excluded by .dockerignore`);
    throw err;
  }
}

/** The context directory as the tar docker sends: contents at the top, owned by 0:0. */
export function packContext(dir: string, filter: ContextFilter): AsyncGenerator<Buffer> {
  return packPath(dir, '', { filter, owner: { uid: 0, gid: 0 } });
}

const newFile = (name: string, size: number, mtime: Date, mode = 0o600): TarHeader => ({
  name, type: 'file', mode, uid: 0, gid: 0, size, mtime, linkname: '', devmajor: 0, devminor: 0,
});

/**
 * docker's AddDockerfileToBuildContext: `content` added as ".dockerfile.<20 hex>" (mode 0600),
 * and that name appended to .dockerignore (created as ".dockerignore\n<name>\n" when missing).
 */
export function addDockerfile(tar: AsyncIterable<Buffer>, content: Buffer, opts: { now?: Date; name?: string } = {}): { tar: AsyncGenerator<Buffer>; dockerfile: string } {
  const now = opts.now ?? new Date();
  const name = opts.name ?? `.dockerfile.${randomBytes(10).toString('hex')}`;
  const mods = new Map<string, TarModifier>([
    [name, () => ({ header: newFile(name, content.length, now), content })],
    ['.dockerignore', (header, old) => {
      const ignore = Buffer.concat([old ?? Buffer.from('.dockerignore'), Buffer.from(`\n${name}\n`)]);
      return { header: header ?? newFile('.dockerignore', ignore.length, now), content: ignore };
    }],
  ]);
  return { tar: replaceTarEntries(tar, mods), dockerfile: name };
}

/** The first `n` bytes of a stream (fewer if it ends), and the whole stream again. */
async function peek(source: AsyncIterable<Buffer | string>, n: number): Promise<{ head: Buffer; all: AsyncGenerator<Buffer> }> {
  const it = source[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let size = 0;
  let ended = false;
  while (size < n) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    chunks.push(b);
    size += b.length;
  }
  const head = Buffer.concat(chunks);
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    while (!ended) {
      const r = await it.next();
      if (r.done) return;
      yield Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    }
  }
  return { head, all: all() };
}

async function readAll(source: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of source) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks);
}

export interface BuildContext {
  /** The body of POST /build. */
  tar: AsyncIterable<Buffer> | Iterable<Buffer>;
  /** The `dockerfile` parameter; undefined leaves the daemon's default ("Dockerfile"). */
  dockerfile?: string;
}

/**
 * A context read from stdin: an archive (tar, or compressed: the daemon decompresses) goes as it
 * is, with -f naming the Dockerfile inside it; anything else is a Dockerfile (docker sniffs).
 */
export async function stdinContext(stdin: AsyncIterable<Buffer | string>, dockerfileFlag: string | undefined): Promise<BuildContext> {
  const { head, all } = await peek(stdin, 1024);
  if (isArchiveStart(head)) return { tar: all, dockerfile: dockerfileFlag || undefined };
  if (dockerfileFlag) throw prepareError('ambiguous Dockerfile source: both stdin and flag correspond to Dockerfiles');
  const content = await readAll(all);
  const header = { ...newFile(DEFAULT_DOCKERFILE, content.length, new Date(), 0o644), uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  return { tar: [tarHeader(header), content, padding(content.length), Buffer.alloc(1024)], dockerfile: DEFAULT_DOCKERFILE };
}

/**
 * The context of `berth build [-f FILE] PATH | URL | -`, checked (docker's errors, before any
 * byte is sent) and ready to stream.
 */
export async function prepareContext(opts: { context: string; dockerfile?: string; stdin: AsyncIterable<Buffer | string> }): Promise<BuildContext> {
  const { context, dockerfile: flag } = opts;
  const fromStdin = flag === '-';
  if (context === '-') {
    if (fromStdin) throw new BerthError('INVALID_ARGUMENT', "invalid argument: can't use stdin for both build context and dockerfile");
    return stdinContext(opts.stdin, flag);
  }
  if (!(await stat(context).then(() => true, () => false))) {
    const remote = remoteContextKind(context);
    if (remote) {
      throw prepareError(`${context} is a ${remote === 'git' ? 'git repository' : 'remote URL'}, and berth does not fetch remote build contexts: ${remote === 'git' ? 'clone it' : 'download it'} and build from the local directory (or pipe a tar into "berth build -")`);
    }
    throw prepareError(`path "${context}" not found`);
  }
  const local = await localContext(context, flag);
  let outside: Buffer | undefined;
  if (fromStdin) outside = await readAll(opts.stdin);
  else if (local.dockerfile.startsWith('../')) {
    outside = await readFile(flag!).catch((err: unknown) => {
      throw new BerthError('INVALID_ARGUMENT', `unable to open Dockerfile: open ${flag}: ${errnoText(err)}`);
    });
  }
  const keep = outside ? ['.dockerignore'] : ['.dockerignore', local.dockerfile];
  const filter = keepingBuildFiles(await dockerignoreFilter(local.dir), keep);
  await checkContext(local.dir, filter);
  const tar = packContext(local.dir, filter);
  return outside ? addDockerfile(tar, outside) : { tar, dockerfile: local.dockerfile };
}
