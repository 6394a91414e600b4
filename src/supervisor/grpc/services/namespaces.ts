// containerd.services.namespaces.v1.Namespaces: list, get, create, update (labels) and delete;
// a namespace must be empty to be deleted. Changes are announced as /namespaces/* events.
import { containerdEvent } from '../../events/exchange.js';
import { validateNamespace } from '../../namespaces/names.js';
import { invalid } from '../../../common/errors.js';
import { maskPaths, updateLabels } from '../convert.js';
import { unary, type HandlerEnv, type Implementation } from '../handlers.js';

export function namespacesService(env: HandlerEnv): Implementation {
  const sup = env.supervisor;
  const view = (name: string) => ({ name, labels: sup.namespaces.find(name)?.labels ?? {} });
  return {
    // As containerd: a namespace that does not exist has no labels (clients read a namespace's
    // default snapshotter label before their first write in it).
    Get: unary(env, 'namespaces.Get', (req) => ({ namespace: view(validateNamespace(req.name ?? '')) })),
    List: unary(env, 'namespaces.List', () => ({ namespaces: sup.namespaceNames().map(view) })),
    Create: unary(env, 'namespaces.Create', (req) => {
      const ns = req.namespace ?? {};
      const record = sup.namespaces.create(ns.name ?? '', ns.labels ?? {});
      sup.events.publish(record.name, '/namespaces/create', containerdEvent('NamespaceCreate', { name: record.name, labels: record.labels }));
      return { namespace: { name: record.name, labels: record.labels } };
    }),
    Update: unary(env, 'namespaces.Update', (req) => {
      const ns = req.namespace ?? {};
      const current = sup.namespaces.find(ns.name ?? '')?.labels ?? {};
      const labels = updateLabels(current, ns.labels, maskPaths(req.update_mask), (p) => { throw invalid(`cannot update "${p}" field`); });
      const record = sup.namespaces.setLabels(ns.name ?? '', labels);
      sup.events.publish(record.name, '/namespaces/update', containerdEvent('NamespaceUpdate', { name: record.name, labels: record.labels }));
      return { namespace: { name: record.name, labels: record.labels } };
    }),
    Delete: unary(env, 'namespaces.Delete', (req) => {
      sup.deleteNamespace(req.name ?? '');
      sup.events.publish(req.name, '/namespaces/delete', containerdEvent('NamespaceDelete', { name: req.name }));
      return {};
    }),
  };
}
