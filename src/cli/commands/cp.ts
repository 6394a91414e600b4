// cp: files between a container and the host, with docker cp's rules for where things land
// (into an existing directory, onto a new name, SRC/. for a directory's contents) and `-` for a tar
// stream on stdin or stdout. The daemon side is GET/HEAD/PUT /containers/{id}/archive.
import { lstat, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DockerApi } from '../../client/api.js';
import { ApiError } from '../../client/errors.js';
import { GO_MODE_DIR, GO_MODE_SYMLINK, type PathStat } from '../../client/types.js';
import { BerthError } from '../../common/errors.js';
import { counting, extractTar, packPath } from '../archive.js';
import type { Command, Context } from '../command.js';
import { humanSize } from '../output/units.js';

/** "CONTAINER:PATH" or a local path (absolute paths and paths without ':' are local). */
export function splitCpArg(arg: string): { container?: string; path: string } {
  if (arg.startsWith('/') || arg.startsWith('.')) return { path: arg };
  const colon = arg.indexOf(':');
  if (colon <= 0) return { path: arg };
  return { container: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

/** Renames archive entries from root `from` to `to`; "" for either means "the contents". */
function rebaser(from: string, to: string): (name: string) => string | undefined {
  const root = from === '.' ? '' : from;
  return (raw) => {
    const n = raw.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
    if (n === '.' || n === '') return to || undefined;
    if (!root) return to ? `${to}/${n}` : n;
    if (n === root) return to;
    if (n.startsWith(`${root}/`)) return to ? `${to}${n.slice(root.length)}` : n.slice(root.length + 1);
    return undefined;
  };
}

const isDirMode = (s: PathStat) => (s.mode & GO_MODE_DIR) !== 0 || (s.mode >>> 0) >= 0x80000000;
const isLinkMode = (s: PathStat) => (s.mode & GO_MODE_SYMLINK) !== 0;
const endsWithSep = (p: string) => p.endsWith('/');
const isContents = (p: string) => p === '.' || p.endsWith('/.');

async function localStat(path: string) {
  return stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
}

async function fromContainer(ctx: Context, api: DockerApi, container: string, src: string, dst: string, follow: boolean): Promise<number> {
  let path = src;
  let got = await api.getArchive(container, path);
  let rootName = got.stat.name;
  if (follow && isLinkMode(got.stat) && got.stat.linkTarget) {
    got.body.destroy();
    path = got.stat.linkTarget;
    got = await api.getArchive(container, path);
  }
  let bytes = 0;
  const body = got.body.pipe(counting((n) => (bytes += n)));
  if (dst === '-') {
    await pipeline(body, ctx.stdout, { end: false });
    return bytes;
  }
  rootName = got.stat.name;
  const srcIsDir = isDirMode(got.stat);
  const dstSt = await localStat(dst);
  if (dstSt?.isDirectory()) {
    await extractTar(body, dst, rebaser(rootName, isContents(src) ? '' : basename(src.replace(/\/+$/, '')) || rootName));
    return bytes;
  }
  if (dstSt) {
    if (srcIsDir) throw new BerthError('INVALID_ARGUMENT', `cannot copy a directory to a file: ${dst} exists and is not a directory`);
    await extractTar(body, dirname(resolve(dst)), rebaser(rootName, basename(dst)));
    return bytes;
  }
  if (endsWithSep(dst) && !srcIsDir) throw new BerthError('NOT_FOUND', `destination directory ${dst} does not exist`);
  const parent = dirname(resolve(dst));
  const parentSt = await localStat(parent);
  if (!parentSt?.isDirectory()) throw new BerthError('NOT_FOUND', `lstat ${parent}: no such file or directory`);
  await extractTar(body, parent, rebaser(rootName, basename(resolve(dst))));
  return bytes;
}

async function statInContainer(api: DockerApi, container: string, path: string): Promise<PathStat | undefined> {
  try {
    return await api.statPath(container, path);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
    // a HEAD answer has no body to tell a missing path from a missing container: ask
    await api.inspectContainer(container);
    return undefined;
  }
}

async function toContainer(ctx: Context, api: DockerApi, src: string, container: string, dst: string, follow: boolean, copyUIDGID: boolean): Promise<number> {
  const dstStat = await statInContainer(api, container, dst);
  let bytes = 0;
  if (src === '-') {
    if (!dstStat || !isDirMode(dstStat)) throw new BerthError('INVALID_ARGUMENT', `destination "${container}:${dst}" must be a directory`);
    await api.putArchive(container, dst, (ctx.stdin as Readable).pipe(counting((n) => (bytes += n))), { noOverwriteDirNonDir: true, copyUIDGID });
    return bytes;
  }
  const srcSt = await (follow ? stat(src) : lstat(src)).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new BerthError('NOT_FOUND', `lstat ${resolve(src)}: no such file or directory`);
    throw err;
  });
  const srcIsDir = srcSt.isDirectory();
  if (endsWithSep(src) && !srcIsDir) throw new BerthError('INVALID_ARGUMENT', `${src}: not a directory`);
  let target: string;
  let rootName: string;
  const srcBase = basename(resolve(src.replace(/\/\.$/, '')));
  if (dstStat && isDirMode(dstStat)) {
    target = dst;
    rootName = isContents(src) ? '' : srcBase;
  } else {
    if (dstStat && srcIsDir) throw new BerthError('INVALID_ARGUMENT', `cannot copy a directory to a file: ${container}:${dst} exists and is not a directory`);
    if (!dstStat && endsWithSep(dst)) throw new BerthError('NOT_FOUND', `destination directory ${container}:${dst} does not exist`);
    target = dirname(dst.replace(/\/+$/, '')) || '/';
    rootName = basename(dst.replace(/\/+$/, ''));
  }
  const tar = Readable.from(packPath(src, rootName, { followRoot: follow })).pipe(counting((n) => (bytes += n)));
  await api.putArchive(container, target, tar, { noOverwriteDirNonDir: true, copyUIDGID });
  return bytes;
}

export const cpCommand: Command = {
  name: 'cp',
  usage: '[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
  summary: 'Copy files/folders between a container and the local filesystem',
  aliasPaths: ['container cp', 'cp'],
  flags: [
    { name: 'archive', short: 'a', type: 'bool', help: 'Archive mode (copy all uid/gid information)' },
    { name: 'follow-link', short: 'L', type: 'bool', help: 'Always follow symbol link in SRC_PATH' },
    { name: 'quiet', short: 'q', type: 'bool', help: 'Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached' },
  ],
  minArgs: 2,
  maxArgs: 2,
  run: async (ctx, f, args) => {
    const src = splitCpArg(args[0]!);
    const dst = splitCpArg(args[1]!);
    if (src.container && dst.container) throw new BerthError('INVALID_ARGUMENT', 'copying between containers is not supported');
    if (!src.container && !dst.container) throw new BerthError('INVALID_ARGUMENT', 'must specify at least one container source');
    const api = await ctx.api();
    let bytes: number;
    if (src.container) {
      if (!src.path) throw new BerthError('INVALID_ARGUMENT', 'source path cannot be empty');
      bytes = await fromContainer(ctx, api, src.container, src.path, dst.path, f.bool('follow-link'));
    } else {
      if (!dst.path) throw new BerthError('INVALID_ARGUMENT', 'destination path cannot be empty');
      bytes = await toContainer(ctx, api, src.path, dst.container!, dst.path, f.bool('follow-link'), f.bool('archive'));
    }
    if (!f.bool('quiet') && ctx.stderr.isTTY && args[1] !== '-' && args[0] !== '-') ctx.stderr.write(`Successfully copied ${humanSize(bytes)} to ${args[1]}\n`);
  },
};
