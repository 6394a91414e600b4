// `update`: change a live container's cgroup limits.
import { precondition } from '../../common/errors.js';
import type { Resources } from '../spec/types.js';
import { cgroupsOf, type RuntimeContext, statusOf } from './context.js';

export async function updateContainer(ctx: RuntimeContext, id: string, resources: Resources): Promise<void> {
  const rec = ctx.store.load(id);
  if ((await statusOf(ctx, rec)) === 'stopped') throw precondition('container not running');
  await cgroupsOf(rec).update(resources);
  // Keep the record's view of the limits current, so `state`/inspect show what is in force.
  rec.config.linux = { ...rec.config.linux, resources: mergeResources(rec.config.linux?.resources ?? {}, resources) };
  ctx.store.save(rec);
}

function mergeResources(base: Resources, change: Resources): Resources {
  const out: Resources = { ...base };
  for (const key of Object.keys(change) as Array<keyof Resources>) {
    const b = base[key], c = change[key];
    (out as Record<string, unknown>)[key] = b && c && typeof b === 'object' && !Array.isArray(b) ? { ...b, ...c } : c;
  }
  return out;
}
