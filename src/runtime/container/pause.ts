// `pause` and `resume`: freeze and thaw every process of the container through its cgroup.
import { precondition } from '../../common/errors.js';
import { cgroupsOf, type RuntimeContext, statusOf } from './context.js';

export async function pauseContainer(ctx: RuntimeContext, id: string): Promise<void> {
  const rec = ctx.store.load(id);
  const status = await statusOf(ctx, rec);
  if (status !== 'running' && status !== 'created') throw precondition(`container not running`);
  await cgroupsOf(rec).freeze();
}

export async function resumeContainer(ctx: RuntimeContext, id: string): Promise<void> {
  const rec = ctx.store.load(id);
  if ((await statusOf(ctx, rec)) !== 'paused') throw precondition('container not paused');
  await cgroupsOf(rec).thaw();
}
