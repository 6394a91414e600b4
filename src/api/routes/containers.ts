// Container routes: create, list, inspect, the lifecycle verbs, wait, logs, attach, resize, top,
// rename, remove and prune, over the engine's container service.
import type { Socket } from 'node:net';
import { invalid } from '../../common/errors.js';
import { readLogs, type LogOptions } from '../../engine/containers/logs.js';
import { containerInspect, containerSummary, parseFilters, selectContainers } from '../../engine/containers/views.js';
import type { WaitCondition } from '../../engine/containers/service.js';
import { answerUpgrade, bridge, parseDetachKeys, readUpgradeBody } from '../attach.js';
import { pruneLabelsMatch } from '../../engine/filters.js';
import { decodeBody } from '../decode.js';
import { readJson, sendJson, sendNoContent, writeChunk } from '../http.js';
import { CREATE_BODY } from '../shapes.js';
import type { Ctx, Router } from '../router.js';

async function create(ctx: Ctx): Promise<void> {
  const body = decodeBody(await readJson(ctx.req), CREATE_BODY);
  const name = ctx.query.string('name') || undefined;
  sendJson(ctx.res!, 201, await ctx.engine.containers.create(body, name, ctx.query.string('platform') || undefined));
}

function list(ctx: Ctx): void {
  const e = ctx.engine;
  const q = ctx.query;
  const filters = parseFilters(q.string('filters') ?? null);
  const limit = q.int('limit') ?? (q.bool('latest') ? 1 : undefined);
  const imageIds = (ref: string) => {
    try {
      return [e.images.get(ref).id];
    } catch {
      return [];
    }
  };
  const found = selectContainers(e.containers.list(), { all: q.bool('all'), limit, filters }, (ref) => e.containers.list().find((c) => c.ID.startsWith(ref) || c.Name === `/${ref}`), imageIds);
  const sized = (id: string) => {
    const s = e.containers.sizes(id);
    return { SizeRw: s.rw, SizeRootFs: s.rootfs };
  };
  sendJson(ctx.res!, 200, found.map((c) => ({ ...containerSummary(c), ...(q.bool('size') ? sized(c.ID) : {}) })));
}

async function start(ctx: Ctx): Promise<void> {
  const started = await ctx.engine.containers.start(ctx.params.id!);
  sendNoContent(ctx.res!, started ? 204 : 304);
}

function stopOptions(ctx: Ctx): { signal?: string; timeoutSec?: number } {
  return { signal: ctx.query.string('signal') || undefined, timeoutSec: ctx.query.int('t') };
}

async function stop(ctx: Ctx): Promise<void> {
  const stopped = await ctx.engine.containers.stop(ctx.params.id!, stopOptions(ctx));
  sendNoContent(ctx.res!, stopped ? 204 : 304);
}

async function wait(ctx: Ctx): Promise<void> {
  const condition = (ctx.query.string('condition') || 'not-running') as WaitCondition;
  const waiting = ctx.engine.containers.wait(ctx.params.id!, condition);
  // Headers go out now (the CLI waits for them before it starts the container), the body at exit.
  const res = ctx.res!;
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.flushHeaders();
  const result = await waiting;
  res.end(JSON.stringify(result));
}

async function logs(ctx: Ctx): Promise<void> {
  const e = ctx.engine;
  const c = e.containers.get(ctx.params.id!);
  const q = ctx.query;
  if (c.HostConfig.LogConfig?.Type === 'none') throw invalid('configured logging driver does not support reading');
  const seconds = (v: string | undefined) => (v ? (Number.isFinite(Number(v)) ? Number(v) : Date.parse(v) / 1000) : undefined);
  const tail = q.string('tail');
  const o: LogOptions = {
    stdout: q.bool('stdout'), stderr: q.bool('stderr'), since: seconds(q.string('since')), until: seconds(q.string('until')),
    tail: tail === undefined || tail === 'all' ? undefined : Number(tail), timestamps: q.bool('timestamps'), follow: q.bool('follow'),
  };
  if (!o.stdout && !o.stderr) throw invalid('Bad parameters: you must choose at least one stream');
  const res = ctx.res!;
  res.writeHead(200, { 'Content-Type': c.Config.Tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' });
  res.flushHeaders();
  let closed = false;
  ctx.req.socket.once('close', () => (closed = true));
  const stopped = async () => {
    if (!e.containers.get(c.ID).State.Running) return;
    await e.containers.wait(c.ID, 'next-exit').catch(() => {});
  };
  for await (const chunk of readLogs(c.LogPath, o, !!c.Config.Tty, stopped)) {
    if (closed || !(await writeChunk(res, chunk))) break;
  }
  res.end();
}

/** POST /containers/{id}/attach: logs and/or the live streams over the hijacked connection. */
async function attach(ctx: Ctx): Promise<void> {
  const e = ctx.engine;
  const c = e.containers.get(ctx.params.id!);
  const q = ctx.query;
  const socket = ctx.socket;
  if (!socket) throw invalid('attach needs a connection upgrade (Connection: Upgrade, Upgrade: tcp)');
  const streams = (['stdin', 'stdout', 'stderr'] as const).filter((s) => q.bool(s));
  const detachKeys = parseDetachKeys(q.string('detachKeys'));
  // Whatever body came with the upgrade is not stdin.
  const { rest: head } = await readUpgradeBody(socket, ctx.head, Number(ctx.req.headers['content-length'] ?? 0));
  answerUpgrade(socket, true);
  e.events.publish('container', 'attach', c.ID, { ...(c.Config.Labels ?? {}), image: c.Config.Image ?? '', name: c.Name.slice(1) });
  if (q.bool('logs')) {
    const o: LogOptions = { stdout: q.bool('stdout'), stderr: q.bool('stderr'), timestamps: false, follow: false };
    for await (const chunk of readLogs(c.LogPath, o, !!c.Config.Tty, async () => {})) socket.write(chunk);
  }
  if (!q.bool('stream')) return void socket.end();
  const connect = async (): Promise<Socket> => e.tasks.attach(e.config.namespace, c.ID, [...streams]);
  let shim: Socket;
  if (e.containers.get(c.ID).State.Running) shim = await connect();
  else {
    // Not started yet (docker run attaches first): connect when the task exists, before it runs.
    shim = await new Promise<Socket>((resolve, reject) => {
      const cancel = e.containers.beforeNextStart(c.ID, async () => resolve(await connect()), reject);
      socket.once('close', () => {
        cancel();
        reject(new Error('client left'));
      });
    }).catch(() => undefined as unknown as Socket);
    if (!shim) return void socket.end(); // the start failed (or the client left): nothing to attach to
  }
  const how = await bridge(socket, head, shim, {
    stdin: streams.includes('stdin'),
    detachKeys,
    onStdinEnd: () => {
      if (c.Config.StdinOnce) void e.tasks.shim(e.config.namespace, c.ID).closeStdin().catch(() => {});
    },
  });
  if (how === 'detached') e.events.publish('container', 'detach', c.ID, { name: c.Name.slice(1), image: c.Config.Image ?? '' });
}

async function resize(ctx: Ctx): Promise<void> {
  const e = ctx.engine;
  const c = e.containers.get(ctx.params.id!);
  const h = ctx.query.int('h') ?? 0;
  const w = ctx.query.int('w') ?? 0;
  if (h < 0 || w < 0 || h > 65535 || w > 65535) throw invalid('invalid terminal size');
  if (c.State.Running && c.Config.Tty) await e.tasks.shim(e.config.namespace, c.ID).resize(h, w);
  ctx.res!.writeHead(200).end();
}

async function top(ctx: Ctx): Promise<void> {
  const e = ctx.engine;
  const c = e.containers.get(ctx.params.id!);
  if (!c.State.Running) throw invalid(`Container ${c.ID} is not running`);
  const pids = await e.tasks.pids(e.config.namespace, c.ID);
  const { execFileSync } = await import('node:child_process');
  const args = (ctx.query.string('ps_args') || '-ef').split(/\s+/).filter(Boolean);
  let out: string[];
  try {
    out = execFileSync('ps', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n').filter(Boolean);
  } catch (err) {
    // ps refuses only its arguments, which the client chose: a 400 that says so, not a 500.
    const e = err as { status?: number | null; stderr?: string };
    if (typeof e.status !== 'number') throw err;
    throw invalid(`ps_args "${args.join(' ')}": ${(e.stderr ?? '').trim().split('\n')[0] || `ps exited with ${e.status}`}`);
  }
  const titles = out[0]!.trim().split(/\s+/);
  const pidCol = titles.indexOf('PID');
  if (pidCol < 0) throw invalid(`Couldn't find PID field in ps output`);
  const processes = out.slice(1).map((line) => {
    const fields = line.trim().split(/\s+/);
    return [...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')];
  }).filter((f) => pids.includes(Number(f[pidCol])));
  sendJson(ctx.res!, 200, { Titles: titles, Processes: processes });
}

async function remove(ctx: Ctx): Promise<void> {
  await ctx.engine.containers.remove(ctx.params.id!, { force: ctx.query.bool('force'), volumes: ctx.query.bool('v') });
  sendNoContent(ctx.res!);
}

async function prune(ctx: Ctx): Promise<void> {
  const e = ctx.engine;
  const filters = parseFilters(ctx.query.string('filters') ?? null);
  const deleted: string[] = [];
  let reclaimed = 0;
  for (const c of e.containers.list()) {
    if (c.State.Running || c.State.Restarting) continue;
    if (!pruneLabelsMatch(c.Config.Labels, filters)) continue;
    if (filters.until?.[0]) {
      const until = /^\d+$/.test(filters.until[0]) ? Number(filters.until[0]) * 1000 : Date.parse(filters.until[0]);
      if (new Date(c.Created).getTime() >= until) continue;
    }
    const { rw } = e.containers.sizes(c.ID);
    await e.containers.remove(c.ID, {});
    deleted.push(c.ID);
    reclaimed += rw;
  }
  e.events.publish('container', 'prune', '', { reclaimed: String(reclaimed) });
  sendJson(ctx.res!, 200, { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed });
}

export function containerRoutes(r: Router): void {
  r.add('POST', '/containers/create', create)
    .add('GET', '/containers/json', list)
    .add('POST', '/containers/prune', prune)
    .add('GET', '/containers/{id}/json', (ctx) => sendJson(ctx.res!, 200, containerInspect(ctx.engine.containers.get(ctx.params.id!), ctx.query.bool('size') ? { size: ctx.engine.containers.sizes(ctx.params.id!) } : {})))
    .add('POST', '/containers/{id}/start', start)
    .add('POST', '/containers/{id}/stop', stop)
    .add('POST', '/containers/{id}/restart', async (ctx) => {
      await ctx.engine.containers.restart(ctx.params.id!, stopOptions(ctx));
      sendNoContent(ctx.res!);
    })
    .add('POST', '/containers/{id}/kill', async (ctx) => {
      await ctx.engine.containers.kill(ctx.params.id!, ctx.query.string('signal') || undefined);
      sendNoContent(ctx.res!);
    })
    .add('POST', '/containers/{id}/pause', async (ctx) => {
      await ctx.engine.containers.pause(ctx.params.id!);
      sendNoContent(ctx.res!);
    })
    .add('POST', '/containers/{id}/unpause', async (ctx) => {
      await ctx.engine.containers.unpause(ctx.params.id!);
      sendNoContent(ctx.res!);
    })
    .add('POST', '/containers/{id}/wait', wait)
    .add('POST', '/containers/{id}/rename', (ctx) => {
      const name = ctx.query.string('name');
      if (!name) throw invalid('name is required');
      ctx.engine.containers.rename(ctx.params.id!, name);
      sendNoContent(ctx.res!);
    })
    .add('GET', '/containers/{id}/logs', logs)
    .add('POST', '/containers/{id}/attach', attach)
    .add('POST', '/containers/{id}/resize', resize)
    .add('GET', '/containers/{id}/top', top)
    .add('DELETE', '/containers/{id}', remove);
}
