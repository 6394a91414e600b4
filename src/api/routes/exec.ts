// Exec routes: create an exec instance, start it (attached over the hijacked connection, or
// detached), resize its terminal, inspect it.
import { invalid } from '../../common/errors.js';
import { answerUpgrade, bridge, parseDetachKeys, readUpgradeBody } from '../attach.js';
import { decodeBody } from '../decode.js';
import { readJson, sendJson } from '../http.js';
import { EXEC_CONFIG, EXEC_START } from '../shapes.js';
import { frame } from '../../engine/containers/logs.js';
import type { Ctx, Router } from '../router.js';

async function create(ctx: Ctx): Promise<void> {
  const body = decodeBody(await readJson(ctx.req), EXEC_CONFIG);
  sendJson(ctx.res!, 201, ctx.engine.execs.create(ctx.params.id!, body));
}

async function start(ctx: Ctx): Promise<void> {
  const e = ctx.engine;
  let head = ctx.head;
  let raw: unknown;
  if (ctx.socket) {
    // With an upgrade the JSON body comes on the connection, and the client's stdin after it.
    const { body, rest } = await readUpgradeBody(ctx.socket, ctx.head, Number(ctx.req.headers['content-length'] ?? 0));
    head = rest;
    try {
      raw = body.length ? JSON.parse(body.toString()) : {};
    } catch {
      throw invalid('invalid JSON body');
    }
  } else raw = (await readJson(ctx.req, { optional: true })) ?? {};
  const body = decodeBody<{ Detach?: boolean; Tty?: boolean; ConsoleSize?: number[] | null }>(raw, EXEC_START);
  const x = e.execs.get(ctx.params.id!);
  if (body.Detach) {
    await e.execs.start(x.ID, { tty: body.Tty, attached: false });
    if (ctx.res) return void ctx.res.writeHead(200).end();
    answerUpgrade(ctx.socket!, true);
    return void ctx.socket!.end();
  }
  const streams = (['stdin', 'stdout', 'stderr'] as const).filter((s) => (s === 'stdin' ? x.OpenStdin : s === 'stdout' ? x.OpenStdout : x.OpenStderr));
  const tty = body.Tty ?? x.ProcessConfig.tty;
  if (ctx.socket) {
    // The 101 goes out before the process starts, as Docker's: a client that reads the answer's
    // headers through a buffer (docker-py, for one) loses output that came in the same read.
    answerUpgrade(ctx.socket, true);
    try {
      await e.execs.start(x.ID, { tty: body.Tty, attached: true });
    } catch (err) {
      // Too late for an HTTP error: Docker writes it on the stream; its exit code is inspected.
      ctx.socket.end(frame('stdout', Buffer.from(`${(err as Error).message}\r\n`), tty));
      return;
    }
  } else await e.execs.start(x.ID, { tty: body.Tty, attached: true });
  if (body.ConsoleSize && tty) await e.execs.resize(x.ID, body.ConsoleSize[0], body.ConsoleSize[1]).catch(() => {});
  const shim = await e.tasks.attach(e.config.namespace, x.ContainerID, [...streams], x.ID);
  if (ctx.socket) {
    await bridge(ctx.socket, head, shim, {
      stdin: x.OpenStdin,
      detachKeys: parseDetachKeys(x.DetachKeys || undefined),
      onStdinEnd: () => void e.tasks.shim(e.config.namespace, x.ContainerID, x.ID).closeStdin().catch(() => {}),
    });
    return;
  }
  // Without an upgrade: the output as the response body, stdin not read.
  const res = ctx.res!;
  res.writeHead(200, { 'Content-Type': tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' });
  for await (const chunk of shim) res.write(chunk);
  res.end();
}

async function resize(ctx: Ctx): Promise<void> {
  const h = ctx.query.int('h') ?? 0;
  const w = ctx.query.int('w') ?? 0;
  if (h < 0 || w < 0 || h > 65535 || w > 65535) throw invalid('invalid terminal size');
  await ctx.engine.execs.resize(ctx.params.id!, h, w);
  ctx.res!.writeHead(200).end();
}

function inspect(ctx: Ctx): void {
  const x = ctx.engine.execs.get(ctx.params.id!);
  const { started: _started, ...view } = x;
  sendJson(ctx.res!, 200, view);
}

export function execRoutes(r: Router): void {
  r.add('POST', '/containers/{id}/exec', create)
    .add('POST', '/exec/{id}/start', start)
    .add('POST', '/exec/{id}/resize', resize)
    .add('GET', '/exec/{id}/json', inspect);
}
