// containerd.services.content.v1.Content over the supervisor's content store, in the call's
// namespace: info, list (filters on digest and labels), update (labels), delete, read (ranges,
// streamed), and the write stream — STAT, WRITE and COMMIT messages on one ingest ref, resumable
// (a new stream on the same ref continues at its offset), and answered AlreadyExists as soon as
// the expected blob is in the namespace, or at COMMIT when the bytes turn out to be content the
// namespace has (its labels are not replaced). Writes and commits are held by the call's lease.
import { once } from 'node:events';
import { status } from '@grpc/grpc-js';
import { exists, invalid } from '../../../common/errors.js';
import { parseDigest } from '../../../common/digest.js';
import { ContentExists, type ContentInfo, type ContentWriter, type IngestStatus } from '../../content/store.js';
import { labelField, parseFilters } from '../../filters.js';
import type { CallContext } from '../call.js';
import { maskPaths, timestamp, updateLabels } from '../convert.js';
import { GrpcError } from '../../../common/grpc/errors.js';
import { bidi, messageReader, serverStream, unary, type HandlerEnv, type Implementation } from '../handlers.js';
import type { Message } from '../../../common/grpc/service-def.js';

const BLOCK = 100;

function infoMessage(i: ContentInfo): Message {
  return { digest: i.digest, size: i.size, created_at: timestamp(i.createdAt), updated_at: timestamp(i.updatedAt), labels: i.labels };
}

function statusMessage(s: IngestStatus): Message {
  return { ref: s.ref, offset: s.offset, total: s.total ?? 0, expected: s.expected ?? '', started_at: timestamp(s.startedAt), updated_at: timestamp(s.updatedAt) };
}

function validDigest(d: string | undefined): string {
  if (!d) throw invalid('"" failed validation: a digest is required');
  parseDigest(d);
  return d;
}

/** Sends `msg`, waiting while the client is slow to read. */
export async function send(call: { write(m: Message): boolean; cancelled: boolean } & NodeJS.EventEmitter, msg: Message): Promise<void> {
  if (call.cancelled) throw new GrpcError(status.CANCELLED, 'the client went away');
  if (!call.write(msg)) await once(call, 'drain');
}

export function contentService(env: HandlerEnv): Implementation {
  const sup = env.supervisor;
  const store = (ctx: CallContext) => sup.content(ctx.namespace);
  return {
    Info: unary(env, 'content.Info', (req, ctx) => ({ info: infoMessage(store(ctx).info(validDigest(req.digest))) })),

    Update: unary(env, 'content.Update', (req, ctx) => {
      const digest = validDigest(req.info?.digest);
      const content = sup.content(ctx.writableNamespace());
      const current = content.info(digest);
      const labels = updateLabels(current.labels, req.info?.labels, maskPaths(req.update_mask), (p) => { throw invalid(`cannot update "${p}" field on content info "${digest}"`); });
      return { info: infoMessage(content.setLabels(digest, labels)) };
    }),

    List: serverStream(env, 'content.List', async (req, ctx, call) => {
      const match = parseFilters(req.filters ?? []);
      const infos = store(ctx).list().filter((i) => match((path) => path[0] === 'digest' ? i.digest : path[0] === 'labels' ? labelField(i.labels, path.slice(1)) : undefined));
      for (let i = 0; i < infos.length; i += BLOCK) await send(call, { info: infos.slice(i, i + BLOCK).map(infoMessage) });
    }),

    Delete: unary(env, 'content.Delete', (req, ctx) => {
      store(ctx).delete(validDigest(req.digest));
      sup.scheduleGc(); // what only this blob's labels kept (a manifest's layers) goes too
      return {};
    }),

    Read: serverStream(env, 'content.Read', async (req, ctx, call) => {
      const digest = validDigest(req.digest);
      const content = store(ctx);
      const { size: total } = content.info(digest);
      const offset = Math.max(0, Number(req.offset ?? 0));
      if (offset > total) throw new GrpcError(status.OUT_OF_RANGE, `read past object length ${total} bytes`);
      const want = Number(req.size ?? 0);
      const size = want <= 0 || offset + want > total ? total - offset : want;
      if (size === 0) return;
      const stream = content.reader(digest, { start: offset, end: offset + size - 1 });
      let at = offset;
      try {
        for await (const chunk of stream) {
          await send(call, { offset: at, data: chunk as Buffer });
          at += (chunk as Buffer).length;
        }
      } finally {
        stream.destroy();
      }
    }),

    Status: unary(env, 'content.Status', (req, ctx) => {
      try {
        return { status: statusMessage(store(ctx).status(req.ref ?? '')) };
      } catch (err) {
        (err as Error).message = `could not get status for ref "${req.ref}": ${(err as Error).message}`;
        throw err;
      }
    }),

    ListStatuses: unary(env, 'content.ListStatuses', (req, ctx) => {
      const match = parseFilters(req.filters ?? []);
      return { statuses: store(ctx).listIngests().filter((s) => match((path) => (path[0] === 'ref' ? s.ref : undefined))).map(statusMessage) };
    }),

    Abort: unary(env, 'content.Abort', (req, ctx) => {
      store(ctx).abort(req.ref ?? '');
      return {};
    }),

    Write: bidi(env, 'content.Write', async (ctx, call) => {
      const next = messageReader(call);
      const first = await next();
      if (first) await writeSession(ctx, first, next, (m) => send(call, m));
    }),
  };
}

/** One write stream: its first request names the ref; it ends at COMMIT or when the client stops. */
async function writeSession(ctx: CallContext, first: Message, next: () => Promise<Message | undefined>, reply: (m: Message) => Promise<void>): Promise<void> {
  const ref: string = first.ref ?? '';
  if (!ref) throw invalid('first message must have a reference');
  const ns = ctx.writableNamespace();
  ctx.checkLease();
  const content = ctx.supervisor.content(ns);
  let expected: string | undefined = first.expected || undefined;
  let total: number | undefined = Number(first.total) > 0 ? Number(first.total) : undefined;
  if (expected && content.has(validDigest(expected))) {
    ctx.hold({ type: 'content', id: expected }); // as containerd: the caller's lease holds what it found
    throw exists(`content ${expected}: already exists`);
  }
  ctx.hold({ type: 'ingest', id: ref });
  const w: ContentWriter = await content.writer(ref, { expected, total, reuse: true });
  try {
    for (let req: Message | undefined = first; req; ) {
      const msg: Message = { action: req.action, offset: w.offset };
      if (req.expected) {
        expected = validDigest(req.expected);
        if (content.has(expected)) {
          await w.close();
          content.abort(ref);
          throw exists(`blob with expected digest ${expected} exists`);
        }
      }
      if (Number(req.total) > 0) total = Number(req.total);
      if (req.action === 'STAT') {
        const s = w.status();
        Object.assign(msg, { digest: w.digest(), started_at: timestamp(s.startedAt), updated_at: timestamp(s.updatedAt), total: total ?? 0 });
      } else {
        const offset = Number(req.offset ?? 0);
        if (offset > 0 && offset !== w.offset) throw new GrpcError(status.OUT_OF_RANGE, `write @${offset} must occur at current offset ${w.offset}`);
        if (offset === 0 && w.offset > 0) await w.truncate(); // the client starts over
        if (req.data?.length) await w.write(req.data as Buffer);
        msg.offset = w.offset;
        if (req.action === 'COMMIT') {
          const digest = await w.commit({ size: total, expected, labels: req.labels && Object.keys(req.labels).length ? req.labels : undefined }).catch((err: unknown) => {
            // Content the namespace has already: AlreadyExists, its labels kept; the lease holds it all the same.
            if (err instanceof ContentExists) ctx.hold({ type: 'content', id: err.digest });
            throw err;
          });
          ctx.hold({ type: 'content', id: digest });
          msg.digest = digest;
        } else msg.digest = w.digest();
      }
      await reply(msg);
      if (req.action === 'COMMIT') return;
      req = await next();
    }
  } finally {
    await w.close();
  }
}
