// Image routes: pull and import (POST /images/create), push, list, inspect, history, tag, remove,
// prune, save (get) and load, over the engine's image service.
import { invalid } from '../../common/errors.js';
import { familiarName, parseReference } from '../../image/reference.js';
import { importImage } from '../../engine/images/import-export.js';
import { loadImages } from '../../engine/images/load.js';
import { saveImages } from '../../engine/images/save.js';
import { imageHistory, imageInspect, imageSummary } from '../../engine/images/views.js';
import { parseFilters } from '../../engine/containers/views.js';
import { labelsMatch, pruneLabelsMatch } from '../../engine/filters.js';
import { decodeBody } from '../decode.js';
import { readJson, sendJson, startJsonStream, writeChunk } from '../http.js';
import { CONTAINER_CONFIG } from '../shapes.js';
import { commitContainer } from '../../engine/containers/commit.js';
import type { ContainerConfig } from '../../engine/containers/api-types.js';
import type { Ctx, Router } from '../router.js';

/** X-Registry-Auth: base64url JSON {username, password, serveraddress, identitytoken}. */
function registryAuth(ctx: Ctx) {
  const header = ctx.req.headers['x-registry-auth'];
  if (typeof header !== 'string' || !header) return undefined;
  try {
    return JSON.parse(Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString()) as { username?: string; password?: string; identitytoken?: string };
  } catch {
    return undefined; // Docker ignores an unreadable header too
  }
}

/** Streams a long operation's progress; an error after the start goes into the stream. */
async function streamed(ctx: Ctx, run: (send: (m: unknown) => void) => Promise<void>): Promise<void> {
  const send = startJsonStream(ctx.res!);
  try {
    await run(send);
  } catch (err) {
    const message = (err as Error).message;
    send({ errorDetail: { message }, error: message });
  }
  ctx.res!.end();
}

async function create(ctx: Ctx): Promise<void> {
  const q = ctx.query;
  const fromImage = q.string('fromImage');
  const fromSrc = q.string('fromSrc');
  if (fromImage) {
    const tag = q.string('tag');
    // fromImage may carry the tag or digest itself; `tag` may also be a digest.
    const name = tag ? (tag.includes(':') ? `${fromImage}@${tag}` : `${fromImage}:${tag}`) : fromImage;
    parseReference(name); // a bad name is a 400 before the stream starts
    const registry = ctx.engine.registryWith(registryAuth(ctx));
    return streamed(ctx, async (send) => {
      await ctx.engine.images.pull(name, { platform: q.string('platform') || undefined, registry, onProgress: send });
      ctx.engine.events.publish('image', 'pull', familiarName(parseReference(name)), { name: familiarName(parseReference(name)) });
    });
  }
  if (fromSrc) {
    if (fromSrc !== '-') throw invalid('importing from a URL is not possible here (no network): send the tarball in the body (fromSrc=-)');
    const repo = q.string('repo');
    const tag = q.string('tag');
    const name = repo ? `${repo}${tag ? `:${tag}` : ''}` : undefined;
    return streamed(ctx, async (send) => {
      const img = await importImage(ctx.engine.images, ctx.req, { name, changes: q.all('changes'), message: q.string('message'), platform: q.string('platform') || undefined });
      // As Docker: the name it got, then the import itself (named by the image's ID).
      if (name) ctx.engine.events.publish('image', 'tag', img.id, { name: familiarName(parseReference(name)) });
      ctx.engine.events.publish('image', 'import', img.id, { name: img.id });
      send({ status: img.id });
    });
  }
  throw invalid('fromImage or fromSrc is required');
}

function list(ctx: Ctx): void {
  const filters = parseFilters(ctx.query.string('filters') ?? null);
  const svc = ctx.engine.images;
  const refs = [...(filters.reference ?? [])];
  const containers = ctx.engine.containers;
  // Intermediate build images only with all=1, and never dangling (they are the build cache).
  let images = svc.list().filter((i) => !i.intermediate || ctx.query.bool('all'));
  if (filters.dangling?.length) images = images.filter((i) => (i.repoTags.length === 0 && !i.intermediate) === (filters.dangling![0] === 'true' || filters.dangling![0] === '1'));
  const matches = (t: string) => refs.some((r) => globMatch(r, t) || globMatch(r, t.replace(/[:@][^:/]+$/, '')));
  if (refs.length) images = images.filter((i) => i.repoTags.some(matches));
  if (filters.label?.length) images = images.filter((i) => labelsMatch(i.config.config?.Labels, filters.label));
  for (const key of ['before', 'since'] as const) {
    if (!filters[key]?.length) continue;
    const pivot = svc.get(filters[key]![0]!);
    images = images.filter((i) => (key === 'before' ? i.recordedAt < pivot.recordedAt : i.recordedAt > pivot.recordedAt));
  }
  const out = images.map((i) => imageSummary(svc, i, { containers: containers.usersOf(i.id).length }));
  // As Docker: with a reference filter an image lists only the names that match it.
  if (refs.length) for (const summary of out) summary.RepoTags = summary.RepoTags.filter(matches);
  out.sort((a, b) => b.Created - a.Created);
  sendJson(ctx.res!, 200, out);
}

/** Docker's reference filter: shell-style globs on the familiar name. */
function globMatch(pattern: string, text: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
  return re.test(text);
}

async function push(ctx: Ctx): Promise<void> {
  const name = ctx.params.name!;
  const registry = ctx.engine.registryWith(registryAuth(ctx));
  ctx.engine.images.get(name.includes(':') || ctx.query.string('tag') ? `${name}${ctx.query.string('tag') ? `:${ctx.query.string('tag')}` : ''}` : name);
  return streamed(ctx, async (send) => {
    await ctx.engine.images.push(name, { tag: ctx.query.string('tag') || undefined, registry, onProgress: send });
  });
}

function tag(ctx: Ctx): void {
  const repo = ctx.query.string('repo');
  if (!repo) throw invalid('repo is required');
  const t = ctx.query.string('tag');
  ctx.engine.images.tag(ctx.params.name!, t ? `${repo}:${t}` : repo);
  const img = ctx.engine.images.get(t ? `${repo}:${t}` : repo);
  ctx.engine.events.publish('image', 'tag', img.id, { name: familiarName(parseReference(t ? `${repo}:${t}` : repo)) });
  ctx.res!.writeHead(201).end();
}

function remove(ctx: Ctx): void {
  const id = ctx.engine.images.get(ctx.params.name!).id;
  const result = ctx.engine.images.remove(ctx.params.name!, { force: ctx.query.bool('force') });
  for (const r of result) {
    // As Docker: an untag event names the image by its ID, not by the name it lost.
    if ('Untagged' in r) ctx.engine.events.publish('image', 'untag', id, { name: id });
    else if (r.Deleted === id) ctx.engine.events.publish('image', 'delete', id, { name: id });
  }
  sendJson(ctx.res!, 200, result);
}

function prune(ctx: Ctx): void {
  const filters = parseFilters(ctx.query.string('filters') ?? null);
  const all = filters.dangling?.[0] === 'false' || filters.dangling?.[0] === '0';
  const until = filters.until?.[0] ? new Date(/^\d+$/.test(filters.until[0]) ? Number(filters.until[0]) * 1000 : Date.parse(filters.until[0])) : undefined;
  const labels = filters.label?.length || filters['label!']?.length ? (l: Record<string, string>) => pruneLabelsMatch(l, filters) : undefined;
  const r = ctx.engine.images.prune({ all, until, labels });
  ctx.engine.events.publish('image', 'prune', '', { reclaimed: String(r.SpaceReclaimed) });
  sendJson(ctx.res!, 200, { ImagesDeleted: r.ImagesDeleted.length ? r.ImagesDeleted : null, SpaceReclaimed: r.SpaceReclaimed });
}

async function save(ctx: Ctx, names: string[]): Promise<void> {
  if (names.length === 0) throw invalid('no image names given');
  const stream = saveImages(ctx.engine.images, names);
  const first = await stream.next(); // an unknown name fails here, before the headers
  const res = ctx.res!;
  res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  if (!first.done) res.write(first.value);
  for await (const chunk of stream) if (!(await writeChunk(res, chunk))) break;
  res.end();
}

async function load(ctx: Ctx): Promise<void> {
  const res = ctx.res!; // quiet or not, berth's load reports only its "Loaded image" lines
  res.writeHead(200, { 'Content-Type': 'application/json' });
  try {
    const lines = await loadImages(ctx.engine.images, ctx.req);
    for (const l of lines) res.write(`${JSON.stringify({ stream: `${l}\n` })}\r\n`);
    ctx.engine.events.publish('image', 'load', '', {});
  } catch (err) {
    const message = (err as Error).message;
    res.write(`${JSON.stringify({ errorDetail: { message }, error: message })}\r\n`);
  }
  res.end();
}

/** POST /commit: a container's changes as a new image. */
async function commit(ctx: Ctx): Promise<void> {
  const q = ctx.query;
  const container = q.string('container');
  if (!container) throw invalid('container is required');
  const body = decodeBody<ContainerConfig | undefined>(await readJson(ctx.req, { optional: true }), CONTAINER_CONFIG, { optional: true });
  const repo = q.string('repo');
  const tag = q.string('tag');
  const img = await commitContainer(ctx.engine.containers, ctx.engine.images, container, {
    name: repo ? `${repo}${tag ? `:${tag}` : ''}` : undefined,
    comment: q.string('comment'), author: q.string('author'), changes: q.all('changes'), pause: q.bool('pause', true),
    config: body && Object.keys(body as object).length ? (body as ContainerConfig) : undefined,
  });
  const c = ctx.engine.containers.get(container);
  const imageRef = repo ? familiarName(parseReference(`${repo}${tag ? `:${tag}` : ''}`)) : '';
  if (imageRef) ctx.engine.events.publish('image', 'tag', img.id, { name: imageRef });
  ctx.engine.events.publish('container', 'commit', c.ID, { comment: q.string('comment') ?? '', image: c.Config.Image ?? '', imageID: img.id, imageRef, name: c.Name.slice(1) });
  sendJson(ctx.res!, 201, { Id: img.id });
}

export function imageRoutes(r: Router): void {
  r.add('POST', '/commit', commit)
    .add('POST', '/images/create', create)
    .add('GET', '/images/json', list)
    .add('POST', '/images/prune', prune)
    .add('POST', '/images/load', load)
    .add('GET', '/images/get', (ctx) => save(ctx, ctx.query.all('names')))
    .add('GET', '/images/{name:*}/json', (ctx) => sendJson(ctx.res!, 200, imageInspect(ctx.engine.images, ctx.engine.images.get(ctx.params.name!))))
    .add('GET', '/images/{name:*}/history', (ctx) => sendJson(ctx.res!, 200, imageHistory(ctx.engine.images, ctx.engine.images.get(ctx.params.name!))))
    .add('GET', '/images/{name:*}/get', (ctx) => save(ctx, [ctx.params.name!]))
    .add('POST', '/images/{name:*}/push', push)
    .add('POST', '/images/{name:*}/tag', tag)
    .add('DELETE', '/images/{name:*}', remove);
}
