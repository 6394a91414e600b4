// Volume routes: list, create, inspect, remove, prune, over the engine's volume store. Events
// (create, destroy, prune) come from the store's onEvent hook, which the engine wires to its log.
import { parseFilters } from '../../engine/containers/views.js';
import type { VolumeStore } from '../../volume/store.js';
import type { CreateVolumeRequest } from '../../volume/types.js';
import { decodeBody } from '../decode.js';
import { readJson, sendJson, sendNoContent } from '../http.js';
import { VOLUME_CREATE } from '../shapes.js';
import type { Ctx, Router } from '../router.js';

/** API versions before 1.42 prune named volumes too (Docker adds all=true for them). */
const olderThan142 = (v: string): boolean => {
  const [a, b] = v.split('.').map(Number);
  return a! < 1 || (a === 1 && b! < 42);
};

function list(ctx: Ctx, store: VolumeStore): void {
  const filters = parseFilters(ctx.query.string('filters') ?? null);
  sendJson(ctx.res!, 200, { Volumes: store.list(filters), Warnings: null });
}

async function create(ctx: Ctx, store: VolumeStore): Promise<void> {
  const b = decodeBody<Record<string, unknown> | undefined>(await readJson(ctx.req, { optional: true }), VOLUME_CREATE, { optional: true }) ?? {};
  const req: CreateVolumeRequest = {
    Name: (b.Name as string | null) ?? undefined,
    Driver: (b.Driver as string | null) ?? undefined,
    DriverOpts: b.DriverOpts as Record<string, string> | null | undefined,
    Labels: b.Labels as Record<string, string> | null | undefined,
  };
  sendJson(ctx.res!, 201, store.create(req));
}

function prune(ctx: Ctx, store: VolumeStore): void {
  const filters = parseFilters(ctx.query.string('filters') ?? null);
  if (olderThan142(ctx.version) && !filters.all) filters.all = ['true'];
  const r = store.prune(filters);
  sendJson(ctx.res!, 200, { VolumesDeleted: r.VolumesDeleted.length ? r.VolumesDeleted : null, SpaceReclaimed: r.SpaceReclaimed });
}

/**
 * Registers the /volumes routes. `volumes` gives the store for a request: the server passes
 * `(ctx) => ctx.engine.volumes` (or a closure over its engine).
 */
export function volumeRoutes(r: Router, volumes: (ctx: Ctx) => VolumeStore): void {
  r.add('GET', '/volumes', (ctx) => list(ctx, volumes(ctx)))
    .add('POST', '/volumes/create', (ctx) => create(ctx, volumes(ctx)))
    .add('POST', '/volumes/prune', (ctx) => prune(ctx, volumes(ctx)))
    .add('GET', '/volumes/{name}', (ctx) => sendJson(ctx.res!, 200, volumes(ctx).get(ctx.params.name!)))
    .add('DELETE', '/volumes/{name}', (ctx) => {
      volumes(ctx).remove(ctx.params.name!, { force: ctx.query.bool('force') });
      sendNoContent(ctx.res!);
    });
}
