// `delete`: remove a stopped container (with `force`, kill it first): its cgroups, its state, then
// the poststop hooks.
import { BerthError, precondition } from '../../common/errors.js';
import { runHooks } from '../hooks.js';
import type { Spec } from '../spec/types.js';
import { cgroupsOf, type RuntimeContext, stateOf, statusOf, waitForExit } from './context.js';

export async function deleteContainer(ctx: RuntimeContext, id: string, force = false): Promise<void> {
  let rec;
  try {
    rec = ctx.store.load(id);
  } catch (err) {
    // A create that died before its state was written left only its directory (runc does the same).
    if (err instanceof BerthError && err.code === 'NOT_FOUND' && ctx.store.reserved(id)) {
      ctx.store.remove(id);
      if (force) return;
    }
    throw err;
  }
  const status = await statusOf(ctx, rec);
  const cgroups = cgroupsOf(rec);
  if (status === 'running' || status === 'paused') {
    if (!force) throw precondition(`cannot delete container ${id} that is not stopped: ${status}`);
  }
  if (status !== 'stopped') {
    // A created container is still our init waiting on the fifo: it goes without --force, as in runc.
    await killAll(cgroups, rec.pid);
    if (status === 'paused') await cgroups.thaw();
    // pid 0: a create that died before its init was recorded; what ran is in the cgroup, killed above
    if (rec.pid > 0 && !(await waitForExit(rec, 10_000))) throw precondition(`container ${id} did not exit after SIGKILL`);
  } else if (!hasOwnPidNamespace(rec.config)) {
    // Its init is gone, but in a shared PID namespace its other processes did not die with it
    // (a pod's container, an exec): they go now, as runc's destroy kills them.
    await killAll(cgroups, 0);
    for (let i = 0; i < 200 && (await cgroups.pids().catch(() => [])).length > 0; i++) await new Promise((r) => setTimeout(r, 25));
  }
  await cgroups.destroy();
  ctx.store.remove(id);
  try {
    await runHooks(rec.config.hooks?.poststop, stateOf(rec, 'stopped'), 'poststop');
  } catch (err) {
    ctx.warn?.((err as Error).message);
  }
}

function hasOwnPidNamespace(spec: Spec): boolean {
  const pid = spec.linux?.namespaces?.find((n) => n.type === 'pid');
  return !!pid && !pid.path;
}

async function killAll(cgroups: ReturnType<typeof cgroupsOf>, pid: number): Promise<void> {
  const pids = new Set([pid, ...(await cgroups.pids().catch(() => []))]);
  pids.delete(0); // never kill(0): that is this process's own group
  for (const p of pids) {
    try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
  }
}
