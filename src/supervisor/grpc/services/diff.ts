// containerd.services.diff.v1.Diff: Apply unpacks a layer blob of the call's namespace onto a
// snapshot's mounts (straight into an overlay upper directory with overlay whiteouts, as
// containerd's overlay applier does; anything else is mounted and written through), and answers
// the uncompressed layer's digest; Diff makes a layer blob (tar, tar+gzip or tar+zstd) from the
// changes between two mounts (the upper directory itself when the right side is an overlay on the
// left, else a walk of both trees, read-only mounted) and stores it under the call's lease.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { BerthError, invalid } from '../../../common/errors.js';
import { hasher, parseDigest } from '../../../common/digest.js';
import { applyLayer, type WhiteoutMode } from '../../../image/apply-layer.js';
import { naiveChanges, overlayChanges, writeLayer, type Change } from '../../../image/diff-layer.js';
import { MediaType } from '../../../image/manifest.js';
import { zstd } from '../../../image/zstd.js';
import { mountAll, unmountAll } from '../../../sys/mount.js';
import type { Mount } from '../../snapshots/types.js';
import { ContentExists } from '../../content/store.js';
import type { CallContext } from '../call.js';
import { fromDescriptor, toDescriptor, toMounts } from '../convert.js';
import { unary, type HandlerEnv, type Implementation } from '../handlers.js';
import type { Message } from '../../../common/grpc/service-def.js';
import type { Supervisor } from '../../supervisor.js';

const UNCOMPRESSED_LABEL = 'containerd.io/uncompressed';
const option = (m: Mount, name: string) => m.options.find((o) => o.startsWith(`${name}=`))?.slice(name.length + 1);

/** Runs `fn` on a temporary directory where `mounts` are mounted, unmounting whatever happens. */
async function withMounted<T>(sup: Supervisor, mounts: Mount[], fn: (dir: string) => Promise<T>): Promise<T> {
  const base = join(sup.options.execRoot, 'diff-mounts');
  mkdirSync(base, { recursive: true, mode: 0o700 });
  const dir = mkdtempSync(join(base, 'm-'));
  let mounted = false;
  try {
    if (mounts.length) {
      mountAll(mounts, dir);
      mounted = true;
    }
    return await fn(dir);
  } finally {
    if (mounted) unmountAll(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The same mounts read-only: an overlay's upper layer becomes its top lower layer. */
function readonly(mounts: Mount[]): Mount[] {
  return mounts.map((m) => {
    if (m.type === 'overlay') {
      const upper = option(m, 'upperdir');
      const lower = option(m, 'lowerdir');
      const lowers = [upper, lower].filter(Boolean).join(':');
      return { ...m, options: [...m.options.filter((o) => !/^(upperdir|workdir|lowerdir)=/.test(o)), `lowerdir=${lowers}`] };
    }
    return { ...m, options: [...m.options.filter((o) => o !== 'rw'), 'ro'] };
  });
}

/** Where a layer can be written without mounting: an overlay's upper dir, or a writable bind's source. */
function directTarget(mounts: Mount[]): { dir: string; whiteouts: WhiteoutMode } | undefined {
  if (mounts.length !== 1) return undefined;
  const m = mounts[0]!;
  const upper = m.type === 'overlay' ? option(m, 'upperdir') : undefined;
  if (upper) return { dir: upper, whiteouts: 'overlay' };
  if (m.type === 'bind' && !m.options.includes('ro')) return { dir: m.source, whiteouts: 'remove' };
  return undefined;
}

async function apply(ctx: CallContext, req: Message) {
  const desc = toDescriptor(req.diff);
  parseDigest(desc.digest);
  if (!/tar|layer/.test(desc.mediaType)) throw new BerthError('NOT_IMPLEMENTED', `unsupported diff media type: ${desc.mediaType}`);
  const content = ctx.supervisor.content(ctx.namespace);
  content.info(desc.digest);
  const mounts = toMounts(req.mounts);
  if (mounts.length === 0) throw invalid('apply needs the mounts of an active snapshot');
  if (mounts.every((m) => m.options.includes('ro') || (m.type === 'overlay' && !option(m, 'upperdir')))) throw invalid('the mounts are read-only: apply needs an active snapshot (prepare, not view)');
  const direct = directTarget(mounts);
  const result = direct
    ? await applyLayer(direct.dir, content.reader(desc.digest), direct.whiteouts)
    : await withMounted(ctx.supervisor, mounts, (dir) => applyLayer(dir, content.reader(desc.digest), 'remove'));
  return { applied: fromDescriptor({ mediaType: MediaType.ociLayer, digest: result.diffId, size: result.tarSize }) };
}

/** The changes from `left` to `right`, and the directory their content is read from. */
async function withChanges<T>(sup: Supervisor, left: Mount[], right: Mount[], fn: (root: string, changes: Change[]) => Promise<T>): Promise<T> {
  const r = right.length === 1 ? right[0]! : undefined;
  const upper = r?.type === 'overlay' ? option(r, 'upperdir') : undefined;
  const rightLower = r && option(r, 'lowerdir');
  const l = left.length === 1 ? left[0]! : undefined;
  const leftLayers = !l ? undefined : l.type === 'bind' ? l.source : option(l, 'lowerdir');
  if (upper && rightLower && rightLower === leftLayers) return fn(upper, overlayChanges(upper));
  if (r?.type === 'bind' && left.length === 0) return fn(r.source, naiveChanges(undefined, r.source));
  return withMounted(sup, readonly(left), (lower) => withMounted(sup, readonly(right), (upperDir) => fn(upperDir, naiveChanges(left.length ? lower : undefined, upperDir))));
}

/** The compression a diff media type asks for (containerd's differ: tar, tar+gzip, tar+zstd). */
function compressionOf(mediaType: string): 'gzip' | 'zstd' | undefined {
  if (/\+gzip$|\.tar\.gzip$/.test(mediaType)) return 'gzip';
  if (/\+zstd$/.test(mediaType)) return 'zstd';
  if (/\.tar$/.test(mediaType)) return undefined;
  throw new BerthError('NOT_IMPLEMENTED', `unsupported diff media type: ${mediaType}: berth writes tar, tar+gzip and tar+zstd layers`);
}

/** The layer tar as the media type wants it: itself, gzip (Node's zlib) or zstd (the zstd tool). */
async function* compressed(tar: Readable, compression: 'gzip' | 'zstd' | undefined): AsyncGenerator<Buffer> {
  if (compression === 'zstd') return yield* zstd(tar, 'compress');
  const out = compression === 'gzip' ? tar.pipe(createGzip({ chunkSize: 256 * 1024 })) : tar;
  tar.once('error', (err) => out.destroy(err));
  for await (const chunk of out) yield chunk as Buffer;
}

async function diff(ctx: CallContext, req: Message) {
  const mediaType: string = req.media_type || MediaType.ociLayerGzip;
  const compression = compressionOf(mediaType);
  const ns = ctx.writableNamespace();
  ctx.checkLease();
  const content = ctx.supervisor.content(ns);
  const ref: string = req.ref || `diff-${randomBytes(8).toString('hex')}`;
  ctx.hold({ type: 'ingest', id: ref });
  const w = await content.writer(ref);
  try {
    const uncompressed = hasher();
    await withChanges(ctx.supervisor, toMounts(req.left), toMounts(req.right), async (root, changes) => {
      const tar = Readable.from((async function* () {
        for await (const chunk of writeLayer(root, changes)) {
          uncompressed.update(chunk);
          yield chunk;
        }
      })());
      for await (const chunk of compressed(tar, compression)) await w.write(chunk);
    });
    const diffId = `sha256:${uncompressed.digest('hex')}`;
    const labels = { ...(req.labels ?? {}), ...(compression ? { [UNCOMPRESSED_LABEL]: diffId } : {}) };
    const size = w.offset;
    const digest = await w.commit({ labels }).catch((err: unknown) => {
      if (!(err instanceof ContentExists)) throw err;
      // The same diff made before: as containerd's walking differ, its labels stay, and only an
      // uncompressed label it lacks is added.
      const have = content.info(err.digest).labels;
      if (compression && !have[UNCOMPRESSED_LABEL]) content.setLabels(err.digest, { ...have, [UNCOMPRESSED_LABEL]: diffId });
      return err.digest;
    });
    ctx.hold({ type: 'content', id: digest });
    return { diff: fromDescriptor({ mediaType, digest, size }) };
  } catch (err) {
    await w.close().catch(() => {});
    try {
      content.abort(ref);
    } catch {
      // committed or gone
    }
    throw err;
  }
}

export function diffService(env: HandlerEnv): Implementation {
  return {
    Apply: unary(env, 'diff.Apply', (req, ctx) => apply(ctx, req)),
    Diff: unary(env, 'diff.Diff', (req, ctx) => diff(ctx, req)),
  };
}
