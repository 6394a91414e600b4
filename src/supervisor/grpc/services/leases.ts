// containerd.services.leases.v1.Leases over the supervisor's leases, in the call's namespace:
// create (a random id when none is given; the containerd.io/gc.expire label sets an expiry),
// delete (sync collects at once), list with filters on id and labels, and resources. Resource
// types are containerd's: "content", "ingests", "snapshots/<snapshotter>".
import { BerthError, invalid } from '../../../common/errors.js';
import { parseDigest } from '../../../common/digest.js';
import type { Lease, LeaseResource } from '../../content/leases.js';
import { labelField, parseFilters } from '../../filters.js';
import { timestamp } from '../convert.js';
import { unary, type HandlerEnv, type Implementation } from '../handlers.js';
import type { Message } from '../../../common/grpc/service-def.js';

const leaseMessage = (l: Lease): Message => ({ id: l.id, labels: l.labels, created_at: timestamp(l.createdAt) });

/** A resource as the API names it, as the lease store keeps it ("ingests" is berth's "ingest"). */
function toResource(r: Message | undefined): LeaseResource {
  const type: string = r?.type ?? '';
  const id: string = r?.id ?? '';
  const parts = type.split('/');
  if (parts[0] === 'content' && parts.length === 1) {
    try {
      parseDigest(id);
    } catch {
      throw invalid(`invalid content resource id ${id}: want a digest`);
    }
    return { type, id };
  }
  if (parts[0] === 'ingests' && parts.length === 1) return { type: 'ingest', id };
  if (parts[0] === 'snapshots') {
    if (parts.length !== 2) throw invalid(`invalid snapshot resource type ${type}: want snapshots/<snapshotter>`);
    return { type, id };
  }
  throw new BerthError('NOT_IMPLEMENTED', `resource type ${type} not supported yet`);
}

const fromResource = (r: LeaseResource): Message => ({ id: r.id, type: r.type === 'ingest' ? 'ingests' : r.type });

export function leasesService(env: HandlerEnv): Implementation {
  const sup = env.supervisor;
  return {
    Create: unary(env, 'leases.Create', (req, ctx) => {
      const lease = sup.leases(ctx.writableNamespace()).create({ id: req.id || undefined, labels: req.labels ?? {} });
      return { lease: leaseMessage(lease) };
    }),
    Delete: unary(env, 'leases.Delete', (req, ctx) => {
      sup.leases(ctx.namespace).delete(req.id ?? '');
      if (req.sync) sup.collectGarbage();
      else sup.scheduleGc();
      return {};
    }),
    List: unary(env, 'leases.List', (req, ctx) => {
      const match = parseFilters(req.filters ?? []);
      const list = sup.leases(ctx.namespace).list().filter((l) => match((p) => (p[0] === 'id' ? l.id : p[0] === 'labels' ? labelField(l.labels, p.slice(1)) : undefined)));
      return { leases: list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(leaseMessage) };
    }),
    AddResource: unary(env, 'leases.AddResource', (req, ctx) => {
      sup.leases(ctx.namespace).addResource(req.id ?? '', toResource(req.resource));
      return {};
    }),
    DeleteResource: unary(env, 'leases.DeleteResource', (req, ctx) => {
      sup.leases(ctx.namespace).deleteResource(req.id ?? '', toResource(req.resource));
      return {};
    }),
    ListResources: unary(env, 'leases.ListResources', (req, ctx) => ({ resources: sup.leases(ctx.namespace).get(req.id ?? '').resources.map(fromResource) })),
  };
}
