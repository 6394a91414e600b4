// Network routes: list, inspect, create, remove, connect and disconnect containers, prune, over
// the engine's network manager; containers' endpoints follow (a running container is plugged in
// at once, a stopped one at its next start).
import { invalid } from '../../common/errors.js';
import { labelsMatch, pruneLabelsMatch } from '../../engine/filters.js';
import { parseFilters } from '../../engine/containers/views.js';
import type { EndpointSettings } from '../../engine/containers/api-types.js';
import { decodeBody } from '../decode.js';
import { readJson, sendJson } from '../http.js';
import { NETWORK_CONNECT, NETWORK_CREATE, NETWORK_DISCONNECT } from '../shapes.js';
import type { Ctx, Router } from '../router.js';

const PREDEFINED = new Set(['bridge', 'host', 'none']);

function list(ctx: Ctx): void {
  const f = parseFilters(ctx.query.string('filters') ?? null);
  const nets = ctx.engine.networks.list().filter((n) => (!f.name?.length || f.name.some((v) => n.Name.includes(v)))
    && (!f.id?.length || f.id.some((v) => n.Id.startsWith(v)))
    && (!f.driver?.length || f.driver.includes(n.Driver))
    && (!f.type?.length || f.type.includes(PREDEFINED.has(n.Name) ? 'builtin' : 'custom'))
    // Dangling: a network of the user's with no container (the predefined ones never are).
    && (!f.dangling?.length || (!PREDEFINED.has(n.Name) && Object.keys(n.Containers).length === 0) === ['true', '1'].includes(f.dangling[0]!))
    && labelsMatch(n.Labels, f.label));
  sendJson(ctx.res!, 200, nets);
}

async function create(ctx: Ctx): Promise<void> {
  const body = decodeBody<{ Name?: string }>(await readJson(ctx.req), NETWORK_CREATE);
  if (!body.Name) throw invalid('network name is required');
  const n = await ctx.engine.networks.create(body as Parameters<typeof ctx.engine.networks.create>[0]);
  ctx.engine.events.publish('network', 'create', n.Id, { name: n.Name, type: n.Driver });
  sendJson(ctx.res!, 201, { Id: n.Id, Warning: '' });
}

async function remove(ctx: Ctx): Promise<void> {
  const n = ctx.engine.networks.get(ctx.params.id!);
  await ctx.engine.networks.remove(n.Id);
  ctx.engine.events.publish('network', 'destroy', n.Id, { name: n.Name, type: n.Driver });
  ctx.res!.writeHead(204).end();
}

async function connect(ctx: Ctx): Promise<void> {
  const body = decodeBody<{ Container?: string; EndpointConfig?: EndpointSettings }>(await readJson(ctx.req), NETWORK_CONNECT);
  if (!body.Container) throw invalid('Container is required');
  const n = ctx.engine.networks.get(ctx.params.id!);
  await ctx.engine.containers.connectNetwork(body.Container, n.Name, body.EndpointConfig ?? {});
  ctx.engine.events.publish('network', 'connect', n.Id, { name: n.Name, type: n.Driver, container: ctx.engine.containers.get(body.Container).ID });
  ctx.res!.writeHead(200).end();
}

async function disconnect(ctx: Ctx): Promise<void> {
  const body = decodeBody<{ Container?: string; Force?: boolean }>(await readJson(ctx.req), NETWORK_DISCONNECT);
  if (!body.Container) throw invalid('Container is required');
  const n = ctx.engine.networks.get(ctx.params.id!);
  await ctx.engine.containers.disconnectNetwork(body.Container, n.Name, !!body.Force);
  ctx.engine.events.publish('network', 'disconnect', n.Id, { name: n.Name, type: n.Driver, container: ctx.engine.containers.get(body.Container).ID });
  ctx.res!.writeHead(200).end();
}

async function prune(ctx: Ctx): Promise<void> {
  const f = parseFilters(ctx.query.string('filters') ?? null);
  const deleted: string[] = [];
  const used = new Set(ctx.engine.containers.list().flatMap((c) => Object.keys(c.Networks)));
  for (const n of ctx.engine.networks.list()) {
    if (PREDEFINED.has(n.Name) || used.has(n.Name) || Object.keys(n.Containers).length || !pruneLabelsMatch(n.Labels, f)) continue;
    await ctx.engine.networks.remove(n.Id);
    ctx.engine.events.publish('network', 'destroy', n.Id, { name: n.Name, type: n.Driver });
    deleted.push(n.Name);
  }
  ctx.engine.events.publish('network', 'prune', '', { reclaimed: '0' });
  sendJson(ctx.res!, 200, { NetworksDeleted: deleted.length ? deleted : null });
}

export function networkRoutes(r: Router): void {
  r.add('GET', '/networks', list)
    .add('POST', '/networks/create', create)
    .add('POST', '/networks/prune', prune)
    .add('GET', '/networks/{id}', (ctx) => sendJson(ctx.res!, 200, ctx.engine.networks.get(ctx.params.id!)))
    .add('DELETE', '/networks/{id}', remove)
    .add('POST', '/networks/{id}/connect', connect)
    .add('POST', '/networks/{id}/disconnect', disconnect);
}
