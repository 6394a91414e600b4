// Read-only verbs: `state`, `list`, `ps` (the container's pids) and `stats`.
import { cgroupsOf, type RuntimeContext, stateOf, statusOf } from './context.js';
import type { State } from '../spec/types.js';
import type { CgroupStats } from '../cgroups/manager.js';

export interface ContainerState extends State {
  rootfs: string;
  created: string;
  owner: string;
}

export async function containerState(ctx: RuntimeContext, id: string): Promise<ContainerState> {
  const rec = ctx.store.load(id);
  const state = stateOf(rec, await statusOf(ctx, rec));
  return { ...state, rootfs: rec.rootfs, created: rec.created, owner: rec.owner };
}

export async function listContainers(ctx: RuntimeContext): Promise<ContainerState[]> {
  const out: ContainerState[] = [];
  for (const id of ctx.store.ids()) {
    try {
      out.push(await containerState(ctx, id));
    } catch {
      // A directory without a readable state is a create in progress or debris: not listed.
    }
  }
  return out;
}

export async function containerPids(ctx: RuntimeContext, id: string): Promise<number[]> {
  const pids: number[] = await cgroupsOf(ctx.store.load(id)).pids();
  return pids.sort((a, b) => a - b);
}

export async function containerStats(ctx: RuntimeContext, id: string): Promise<CgroupStats> {
  return cgroupsOf(ctx.store.load(id)).stats();
}
