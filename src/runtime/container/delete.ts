// `delete`: remove a stopped container (with `force`, kill it first): its cgroups, its state, then
// the poststop hooks.
import { precondition } from '../../common/errors.js';
import { runHooks } from '../hooks.js';
import { cgroupsOf, type RuntimeContext, stateOf, statusOf, waitForExit } from './context.js';

export async function deleteContainer(ctx: RuntimeContext, id: string, force = false): Promise<void> {
  const rec = ctx.store.load(id);
  const status = await statusOf(ctx, rec);
  const cgroups = cgroupsOf(rec);
  if (status === 'running' || status === 'paused') {
    if (!force) throw precondition(`cannot delete container ${id} that is not stopped: ${status}`);
  }
  if (status !== 'stopped') {
    // A created container is still our init waiting on the fifo: it goes without --force, as in runc.
    await killAll(cgroups, rec.pid);
    if (status === 'paused') await cgroups.thaw();
    if (!(await waitForExit(rec, 10_000))) throw precondition(`container ${id} did not exit after SIGKILL`);
  }
  await cgroups.destroy();
  ctx.store.remove(id);
  try {
    await runHooks(rec.config.hooks?.poststop, stateOf(rec, 'stopped'), 'poststop');
  } catch (err) {
    ctx.warn?.((err as Error).message);
  }
}

async function killAll(cgroups: ReturnType<typeof cgroupsOf>, pid: number): Promise<void> {
  const pids = new Set([pid, ...(await cgroups.pids().catch(() => []))]);
  for (const p of pids) {
    try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
  }
}
