// What every verb needs: the state store, and the derived facts about one container (status,
// its cgroups, the state JSON that `state` prints and hooks receive).
import { existsSync } from 'node:fs';
import { isSameProcessAlive } from '../../sys/proc.js';
import { type CgroupManager, openCgroupManager } from '../cgroups/manager.js';
import type { ContainerRecord, StateStore } from '../state-store.js';
import { OCI_VERSION } from '../spec/default.js';
import type { State } from '../spec/types.js';

export type Status = State['status'];

export interface RuntimeContext {
  store: StateStore;
  /** Warnings worth telling the user about (the CLI logs them). */
  warn?: (message: string) => void;
}

export function cgroupsOf(rec: ContainerRecord): CgroupManager {
  return openCgroupManager({ id: rec.id, cgroupsPath: rec.config.linux?.cgroupsPath, paths: rec.cgroupPaths });
}

export async function statusOf(ctx: RuntimeContext, rec: ContainerRecord): Promise<Status> {
  if (rec.pid === 0) return 'creating';
  if (!isSameProcessAlive(rec.pid, rec.pidStartTime)) return 'stopped';
  if (existsSync(ctx.store.fifoPath(rec.id))) return 'created';
  if (await cgroupsOf(rec).isFrozen().catch(() => false)) return 'paused';
  return 'running';
}

export function stateOf(rec: ContainerRecord, status: Status): State {
  const state: State = { ociVersion: OCI_VERSION, id: rec.id, status, pid: status === 'stopped' ? 0 : rec.pid, bundle: rec.bundle };
  if (rec.config.annotations) state.annotations = rec.config.annotations;
  return state;
}

/** Waits (polling) until the container process is gone, up to `ms`. */
export async function waitForExit(rec: ContainerRecord, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isSameProcessAlive(rec.pid, rec.pidStartTime)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}
