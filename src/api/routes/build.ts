// POST /build: Docker's classic builder endpoint. The body is the context (a tar, maybe
// compressed); the query carries the options; the answer streams JSON messages — step lines and
// RUN output as {"stream"}, the image ID as {"aux"}, and a failure as {"errorDetail"} with the
// failing RUN's exit code, which the docker CLI exits with. An error before the first step
// (an unreadable Dockerfile, a parse error) is a plain JSON error with its status, as Docker's.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError, invalid } from '../../common/errors.js';
import { parseReference } from '../../image/reference.js';
import { BuildError, Builder, type BuildOptions } from '../../build/builder.js';
import { BuildContext } from '../../build/context.js';
import { quietOutput, type BuildOutput } from '../../build/output.js';
import type { Ctx, Router } from '../router.js';

function stringMap(value: unknown, name: string): Record<string, string | null> {
  if (value === undefined) return {};
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw invalid(`${name} must be a JSON object`);
  for (const v of Object.values(value)) if (v !== null && typeof v !== 'string') throw invalid(`${name} values must be strings`);
  return value as Record<string, string | null>;
}

function options(ctx: Ctx): BuildOptions {
  const q = ctx.query;
  if (q.string('remote')) throw invalid('remote build contexts are not supported: berth builds offline; send the context in the request body');
  const labels = stringMap(q.json('labels'), 'labels');
  const networkMode = q.string('networkmode') || 'default';
  if (!['default', 'bridge', 'host', 'none'].includes(networkMode)) throw invalid(`network mode "${networkMode}" is not supported for builds: use default, host or none`);
  const tags = q.all('t').filter(Boolean);
  // A bad tag fails before the build, not after it.
  for (const t of tags) {
    try {
      parseReference(t);
    } catch (err) {
      throw invalid(`invalid tag ${JSON.stringify(t)}: ${(err as Error).message}`);
    }
  }
  return {
    dockerfile: q.string('dockerfile') || 'Dockerfile',
    tags,
    buildArgs: stringMap(q.json('buildargs'), 'buildargs'),
    target: q.string('target') || undefined,
    noCache: q.bool('nocache'),
    pull: q.bool('pull'),
    labels: Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, v ?? ''])),
    platform: q.string('platform') || undefined,
    networkMode: networkMode === 'bridge' ? 'default' : networkMode,
    shmSize: q.int('shmsize'),
  };
}

async function build(ctx: Ctx): Promise<void> {
  const o = options(ctx);
  const res = ctx.res!;
  const parent = join(ctx.engine.config.dataRoot, 'tmp');
  mkdirSync(parent, { recursive: true, mode: 0o700 });
  const context = await BuildContext.extract(ctx.req, mkdtempSync(join(parent, 'build-')));
  // The stream starts with the first line to send: errors before it are plain HTTP errors.
  const send = (message: unknown) => {
    if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write(`${JSON.stringify(message)}\r\n`);
  };
  const live: BuildOutput = { stream: (text) => send({ stream: text }), aux: (value) => send({ aux: value }) };
  try {
    const image = await new Builder(ctx.engine.buildBackend, context, o).build(ctx.query.bool('q') ? quietOutput : live);
    if (ctx.query.bool('q')) send({ stream: `${image.id}\n` });
    res.end();
  } catch (err) {
    if (!res.headersSent) throw err;
    const message = (err as Error).message;
    if (!(err instanceof BerthError)) ctx.engine.config.log?.('error', `build: ${(err as Error).stack ?? message}`);
    res.end(`${JSON.stringify({ errorDetail: { ...(err instanceof BuildError ? { code: err.exitCode } : {}), message }, error: message })}\r\n`);
  } finally {
    context.remove();
  }
}

export function buildRoutes(router: Router): void {
  router.add('POST', '/build', build);
}
