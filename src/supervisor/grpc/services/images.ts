// containerd.services.images.v1.Images over the supervisor's image records, in the call's
// namespace: the same records the engine keeps (namespace "moby"), so `ctr -n moby images ls`
// shows docker's images. Create, update (field masks on labels, target, annotations) and delete
// are announced by the store; a delete schedules garbage collection (and waits for it with sync).
import { invalid } from '../../../common/errors.js';
import { parseDigest } from '../../../common/digest.js';
import type { Descriptor } from '../../../image/manifest.js';
import type { ImageRecord } from '../../images/store.js';
import { labelField, parseFilters } from '../../filters.js';
import { fromDescriptor, maskPaths, timestamp, toDescriptor, updateLabels } from '../convert.js';
import { unary, type HandlerEnv, type Implementation } from '../handlers.js';
import type { Message } from '../../../common/grpc/service-def.js';

function imageMessage(r: ImageRecord): Message {
  return { name: r.name, labels: r.labels, target: fromDescriptor(r.target), created_at: timestamp(r.createdAt), updated_at: timestamp(r.updatedAt) };
}

/** containerd's checks on a record before it is written. */
function validTarget(t: Descriptor): Descriptor {
  try {
    parseDigest(t.digest);
  } catch {
    throw invalid(`Target.Digest "${t.digest}" invalid: want sha256:<64 hex>`);
  }
  if (!(t.size > 0)) throw invalid('Target.Size must be greater than zero');
  if (!t.mediaType) throw invalid('Target.MediaType must be set');
  return t;
}

function adaptor(r: ImageRecord) {
  return (path: string[]): string | undefined => {
    switch (path[0]) {
      case 'name': return r.name || undefined;
      case 'target': return path[1] === 'digest' ? r.target.digest : path[1] === 'mediatype' ? r.target.mediaType : undefined;
      case 'labels': return labelField(r.labels, path.slice(1));
      case 'annotations': return labelField(r.target.annotations, path.slice(1));
      default: return undefined;
    }
  };
}

export function imagesService(env: HandlerEnv): Implementation {
  const sup = env.supervisor;
  return {
    Get: unary(env, 'images.Get', (req, ctx) => ({ image: imageMessage(sup.images.get(ctx.namespace, req.name ?? '')) })),

    List: unary(env, 'images.List', (req, ctx) => {
      const match = parseFilters(req.filters ?? []);
      return { images: sup.images.list(ctx.namespace).filter((r) => match(adaptor(r))).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(imageMessage) };
    }),

    Create: unary(env, 'images.Create', (req, ctx) => {
      const image = req.image ?? {};
      if (!image.name) throw invalid('Image.Name required');
      const ns = ctx.writableNamespace();
      return { image: imageMessage(sup.images.create(ns, { name: image.name, target: validTarget(toDescriptor(image.target)), labels: image.labels ?? {} })) };
    }),

    Update: unary(env, 'images.Update', (req, ctx) => {
      const image = req.image ?? {};
      if (!image.name) throw invalid('Image.Name required');
      const ns = ctx.writableNamespace();
      const current = sup.images.get(ns, image.name);
      const paths = maskPaths(req.update_mask);
      const given = toDescriptor(image.target);
      let target = { ...current.target };
      const refuse = (p: string): never => { throw invalid(`cannot update "${p}" field on image "${image.name}"`); };
      const labels = updateLabels(current.labels, image.labels, paths, refuse, (p) => {
        if (p === 'target') target = given;
        else if (p === 'annotations') target = { ...target, annotations: given.annotations };
        else if (p.startsWith('annotations.')) {
          const key = p.slice('annotations.'.length);
          const annotations = { ...target.annotations };
          if (given.annotations?.[key]) annotations[key] = given.annotations[key]!;
          else delete annotations[key];
          target = { ...target, annotations };
        } else return false;
        return true;
      });
      if (paths.length === 0) target = given;
      return { image: imageMessage(sup.images.put(ns, { name: image.name, target: validTarget(target), labels })) };
    }),

    Delete: unary(env, 'images.Delete', (req, ctx) => {
      sup.images.delete(ctx.namespace, req.name ?? '');
      if (req.sync) sup.collectGarbage();
      else sup.scheduleGc();
      return {};
    }),
  };
}
