// The supervisor's default runtime: berth's runtime library, in-process. The shim runs berth-init
// with the plan; the library holds the init's sync socket until the container waits for start.
import { join } from 'node:path';
import { createContainer } from '../../runtime/container/create.js';
import { deleteContainer } from '../../runtime/container/delete.js';
import { execProcess } from '../../runtime/container/exec.js';
import { killContainer } from '../../runtime/container/kill.js';
import { pauseContainer, resumeContainer } from '../../runtime/container/pause.js';
import { containerPids, containerStats } from '../../runtime/container/query.js';
import { startContainer } from '../../runtime/container/start.js';
import { updateContainer } from '../../runtime/container/update.js';
import type { RuntimeContext } from '../../runtime/container/context.js';
import type { Process, Resources } from '../../runtime/spec/types.js';
import { StateStore } from '../../runtime/state-store.js';
import type { RuntimeDriver } from './driver.js';
import { readShimReport, shimCommand, type ShimOptions, type ShimReport } from './shim-process.js';

// The init's sync socket is fd 3 of whatever launch() spawns: the shim passes it on unchanged.
const SYNC_FD = 3;

export class BerthDriver implements RuntimeDriver {
  readonly name = 'berth';
  private readonly ctx: RuntimeContext;

  constructor(root: string, warn?: (message: string) => void) {
    this.ctx = { store: new StateStore(root), warn };
  }

  async create(id: string, bundle: string, shim: ShimOptions): Promise<ShimReport> {
    let report: Promise<ShimReport> | undefined;
    const { launch } = await createContainer(this.ctx, id, {
      bundle,
      consoleSocket: shim.terminal ? join(shim.dir, 'console.sock') : undefined,
      pidFile: shim.pidFile,
      stdio: ['ignore', 'pipe', 'pipe'],
      wrap: (init, cgroupPaths) => shimCommand({ ...shim, passFds: [SYNC_FD], oomFile: oomFileOf(cgroupPaths) }, init),
      onSpawn: (child) => {
        report = readShimReport(child);
        report.catch(() => {}); // awaited below; a failed create reports its own error
      },
    });
    launch.detach();
    // detach() unrefs the spawned process; here it is the shim's first stage, whose exit event
    // completes the report: keep the event loop waiting for it.
    launch.child.ref();
    return report!;
  }

  start(id: string): Promise<void> {
    return startContainer(this.ctx, id);
  }

  kill(id: string, signal: number, all: boolean): Promise<void> {
    return killContainer(this.ctx, id, String(signal), all);
  }

  delete(id: string, force: boolean): Promise<void> {
    return deleteContainer(this.ctx, id, force);
  }

  pause(id: string): Promise<void> {
    return pauseContainer(this.ctx, id);
  }

  resume(id: string): Promise<void> {
    return resumeContainer(this.ctx, id);
  }

  update(id: string, resources: Resources): Promise<void> {
    return updateContainer(this.ctx, id, resources);
  }

  pids(id: string): Promise<number[]> {
    return containerPids(this.ctx, id);
  }

  stats(id: string): Promise<unknown> {
    return containerStats(this.ctx, id);
  }

  async exec(id: string, process: Process, shim: ShimOptions): Promise<ShimReport> {
    let report: Promise<ShimReport> | undefined;
    await execProcess(this.ctx, id, {
      process,
      consoleSocket: shim.terminal ? join(shim.dir, 'console.sock') : undefined,
      pidFile: shim.pidFile,
      detach: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      wrap: (init) => shimCommand({ ...shim, passFds: [SYNC_FD] }, init),
      onSpawn: (child) => {
        report = readShimReport(child);
        report.catch(() => {}); // awaited below; a failed create reports its own error
      },
    });
    return report!;
  }

  oomFile(id: string): string | undefined {
    try {
      return oomFileOf(this.ctx.store.load(id).cgroupPaths);
    } catch {
      return undefined;
    }
  }
}

/** memory.oom_control (v1) or memory.events (v2) in the container's cgroup. */
function oomFileOf(paths: Record<string, string>): string | undefined {
  if (paths.memory) return join(paths.memory, 'memory.oom_control');
  if (paths['']) return join(paths[''], 'memory.events');
  return undefined;
}
