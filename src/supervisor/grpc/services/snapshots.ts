// containerd.services.snapshots.v1.Snapshots over the supervisor's snapshotter, in the call's
// namespace (snapshotter "overlayfs", or "naive" when berthd runs with it): prepare, view,
// mounts, commit, remove, stat, update (labels), list with filters, usage, cleanup. What a call
// creates under a lease is held by it.
import { invalid } from '../../../common/errors.js';
import type { SnapshotInfo } from '../../snapshots/types.js';
import { labelField, parseFilters } from '../../filters.js';
import type { CallContext } from '../call.js';
import { fromMounts, maskPaths, timestamp, updateLabels } from '../convert.js';
import { serverStream, unary, type HandlerEnv, type Implementation } from '../handlers.js';
import type { Message } from '../../../common/grpc/service-def.js';
import { send } from './content.js';

const KIND = { active: 'ACTIVE', view: 'VIEW', committed: 'COMMITTED' } as const;

const infoMessage = (s: SnapshotInfo): Message => ({ name: s.key, parent: s.parent ?? '', kind: KIND[s.kind], created_at: timestamp(s.created), updated_at: timestamp(s.updated), labels: s.labels });

export function snapshotsService(env: HandlerEnv): Implementation {
  const sup = env.supervisor;
  const snapshotter = (req: Message, ctx: CallContext, write = false) => {
    if (!req.snapshotter) throw invalid('snapshotter argument missing');
    if (req.snapshotter !== sup.snapshotterName) throw invalid(`snapshotter not loaded: ${req.snapshotter}`);
    return sup.snapshotter(write ? ctx.writableNamespace() : ctx.namespace);
  };
  const create = (kind: 'prepare' | 'view') => unary(env, `snapshots.${kind}`, (req, ctx) => {
    const sn = snapshotter(req, ctx, true);
    ctx.checkLease();
    const mounts = sn[kind](req.key ?? '', req.parent || undefined, req.labels ?? {});
    ctx.hold({ type: `snapshots/${sn.name}`, id: req.key });
    return { mounts: fromMounts(mounts) };
  });
  return {
    Prepare: create('prepare'),
    View: create('view'),
    Mounts: unary(env, 'snapshots.Mounts', (req, ctx) => ({ mounts: fromMounts(snapshotter(req, ctx).mounts(req.key ?? '')) })),
    Commit: unary(env, 'snapshots.Commit', (req, ctx) => {
      const sn = snapshotter(req, ctx, true);
      ctx.checkLease();
      sn.commit(req.name ?? '', req.key ?? '', req.labels && Object.keys(req.labels).length ? req.labels : undefined);
      ctx.hold({ type: `snapshots/${sn.name}`, id: req.name });
      return {};
    }),
    Remove: unary(env, 'snapshots.Remove', (req, ctx) => {
      snapshotter(req, ctx).remove(req.key ?? '');
      return {};
    }),
    Stat: unary(env, 'snapshots.Stat', (req, ctx) => ({ info: infoMessage(snapshotter(req, ctx).stat(req.key ?? '')) })),
    Update: unary(env, 'snapshots.Update', (req, ctx) => {
      const sn = snapshotter(req, ctx, true);
      const name: string = req.info?.name ?? '';
      if (!name) throw invalid('a snapshot name is required for update');
      const current = sn.stat(name);
      const labels = updateLabels(current.labels, req.info?.labels, maskPaths(req.update_mask), (p) => { throw invalid(`cannot update "${p}" field on snapshot "${name}"`); });
      return { info: infoMessage(sn.update(name, labels)) };
    }),
    List: serverStream(env, 'snapshots.List', async (req, ctx, call) => {
      const match = parseFilters(req.filters ?? []);
      const infos = snapshotter(req, ctx).list().filter((s) => match((p) => {
        switch (p[0]) {
          case 'kind': return s.kind;
          case 'name': return s.key;
          case 'parent': return s.parent ?? '';
          case 'labels': return labelField(s.labels, p.slice(1));
          default: return undefined;
        }
      }));
      for (let i = 0; i < infos.length; i += 100) await send(call, { info: infos.slice(i, i + 100).map(infoMessage) });
    }),
    Usage: unary(env, 'snapshots.Usage', (req, ctx) => {
      const u = snapshotter(req, ctx).usage(req.key ?? '');
      return { size: u.size, inodes: u.inodes };
    }),
    // Layers go with their snapshot at once: nothing is left for a cleanup to find.
    Cleanup: unary(env, 'snapshots.Cleanup', (req, ctx) => {
      snapshotter(req, ctx);
      return {};
    }),
  };
}
