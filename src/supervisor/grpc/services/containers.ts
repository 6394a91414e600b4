// containerd.services.containers.v1.Containers over the supervisor's container records, in the
// call's namespace. Records are metadata: `ctr run` creates one (image, runtime, OCI spec as an
// Any, snapshot key) before it creates the task that runs it. Update follows containerd's field
// mask rules: without paths the mutable fields are replaced and the immutable ones must match.
// In the engine's namespace the list also holds the engine's containers (a view the engine
// registers): they are read-only here.
import { invalid, precondition } from '../../../common/errors.js';
import type { AnyValue, ContainerRecord } from '../../containers/store.js';
import { labelField, parseFilters } from '../../filters.js';
import { maskPaths, timestamp } from '../convert.js';
import { serverStream, unary, type HandlerEnv, type Implementation } from '../handlers.js';
import type { Message } from '../../../common/grpc/service-def.js';

export function toAny(m: Message | null | undefined): AnyValue | undefined {
  if (!m || !m.type_url) return undefined;
  return { typeUrl: m.type_url, value: Buffer.from(m.value ?? []).toString('base64') };
}

export function fromAny(a: AnyValue | undefined): Message | null {
  return a ? { type_url: a.typeUrl, value: Buffer.from(a.value, 'base64') } : null;
}

function anyMap(m: Record<string, Message> | undefined): Record<string, AnyValue> {
  return Object.fromEntries(Object.entries(m ?? {}).flatMap(([k, v]) => {
    const a = toAny(v);
    return a ? [[k, a]] : [];
  }));
}

function containerMessage(r: ContainerRecord): Message {
  return {
    id: r.id, labels: r.labels, image: r.image,
    runtime: { name: r.runtime.name, options: fromAny(r.runtime.options) },
    spec: fromAny(r.spec), snapshotter: r.snapshotter, snapshot_key: r.snapshotKey,
    created_at: timestamp(r.createdAt), updated_at: timestamp(r.updatedAt),
    extensions: Object.fromEntries(Object.entries(r.extensions).map(([k, v]) => [k, fromAny(v)])),
  };
}

function fromMessage(c: Message): Omit<ContainerRecord, 'createdAt' | 'updatedAt'> {
  return {
    id: c.id ?? '', labels: c.labels ?? {}, image: c.image ?? '',
    runtime: { name: c.runtime?.name ?? '', ...(toAny(c.runtime?.options) ? { options: toAny(c.runtime?.options) } : {}) },
    ...(toAny(c.spec) ? { spec: toAny(c.spec) } : {}),
    snapshotter: c.snapshotter ?? '', snapshotKey: c.snapshot_key ?? '', extensions: anyMap(c.extensions),
  };
}

// containerd's filter fields for containers.
function adaptor(r: ContainerRecord) {
  return (path: string[]): string | undefined => {
    switch (path[0]) {
      case 'id': return r.id;
      case 'image': return r.image || undefined;
      case 'runtime': return path[1] === undefined || path[1] === 'name' ? r.runtime.name : undefined;
      case 'snapshotter': return r.snapshotter || undefined;
      case 'labels': return labelField(r.labels, path.slice(1));
      default: return undefined;
    }
  };
}

/** Applies an update as containerd's metadata store does, or throws InvalidArgument. */
function applyUpdate(current: ContainerRecord, given: ReturnType<typeof fromMessage>, paths: string[]): ContainerRecord {
  const next: ContainerRecord = { ...current, labels: { ...current.labels }, extensions: { ...current.extensions } };
  if (paths.length === 0) {
    if (given.runtime.name !== current.runtime.name) throw invalid('container.Runtime.Name field is immutable');
    if (given.snapshotter !== current.snapshotter) throw invalid('container.Snapshotter field is immutable');
    paths = ['labels', 'spec', 'extensions', 'image', 'snapshotkey'];
  }
  for (const p of paths) {
    if (p.startsWith('labels.')) {
      const key = p.slice('labels.'.length);
      if (given.labels[key]) next.labels[key] = given.labels[key]!;
      else delete next.labels[key];
    } else if (p.startsWith('extensions.')) {
      const key = p.slice('extensions.'.length);
      if (given.extensions[key]) next.extensions[key] = given.extensions[key]!;
      else delete next.extensions[key];
    } else if (p === 'labels') next.labels = { ...given.labels };
    else if (p === 'spec') next.spec = given.spec;
    else if (p === 'extensions') next.extensions = { ...given.extensions };
    else if (p === 'runtime.options') next.runtime = { ...next.runtime, options: given.runtime.options };
    else if (p === 'image') next.image = given.image;
    else if (p === 'snapshotkey') next.snapshotKey = given.snapshotKey;
    else throw invalid(`cannot update "${p}" field on "${current.id}"`);
  }
  if (!next.spec) throw invalid('container.Spec must be set');
  return next;
}

export function containersService(env: HandlerEnv): Implementation {
  const store = env.supervisor.containers;
  const list = (req: Message, ns: string) => {
    const match = parseFilters(req.filters ?? []);
    return store.list(ns).filter((r) => match(adaptor(r)));
  };
  return {
    Get: unary(env, 'containers.Get', (req, ctx) => ({ container: containerMessage(store.get(ctx.namespace, req.id ?? '')) })),

    List: unary(env, 'containers.List', (req, ctx) => ({ containers: list(req, ctx.namespace).map(containerMessage) })),

    ListStream: serverStream(env, 'containers.ListStream', async (req, ctx, call) => {
      for (const r of list(req, ctx.namespace)) {
        if (call.cancelled) return;
        call.write({ container: containerMessage(r) });
      }
    }),

    Create: unary(env, 'containers.Create', (req, ctx) => {
      const c = fromMessage(req.container ?? {});
      if (!c.spec) throw invalid('container.Spec must be set');
      if (c.snapshotKey && !c.snapshotter) throw invalid('container.Snapshotter must be set when container.SnapshotKey is');
      const ns = ctx.writableNamespace();
      return { container: containerMessage(store.create(ns, c)) };
    }),

    Update: unary(env, 'containers.Update', (req, ctx) => {
      const given = fromMessage(req.container ?? {});
      if (!given.id) throw invalid('container.ID must be set');
      const ns = ctx.writableNamespace();
      const next = applyUpdate(store.get(ns, given.id), given, maskPaths(req.update_mask));
      return { container: containerMessage(store.update(ns, next)) };
    }),

    Delete: unary(env, 'containers.Delete', (req, ctx) => {
      const ns = ctx.namespace;
      const id = req.id ?? '';
      store.get(ns, id);
      // containerd refuses while a task exists (the runtime still holds the container). A container
      // another front end keeps is refused by the store, whatever its task.
      const ownTask = !store.viewOf(ns, id) && env.supervisor.tasks.store.list().some(([n, t]) => n === ns && t === id);
      if (ownTask) throw precondition(`cannot delete container "${id}": it has a task; delete the task first (ctr task rm)`);
      store.delete(ns, id);
      return {};
    }),
  };
}
