// `exec`: start another process inside a running container, with the container's seccomp profile.
import { resolve } from 'node:path';
import { precondition } from '../../common/errors.js';
import { boundingCapabilities } from '../../sys/proc.js';
import { launch, type LaunchOptions } from '../launch.js';
import { buildExecPlan } from '../plan/exec-plan.js';
import { compileSeccomp } from '../seccomp/compile.js';
import type { Process } from '../spec/types.js';
import { validateProcess } from '../spec/validate.js';
import { cgroupsOf, type RuntimeContext, statusOf } from './context.js';

export interface ExecOptions {
  process: Process;
  consoleSocket?: string;
  pidFile?: string;
  detach?: boolean;
  preserveFds?: number;
  stdio?: LaunchOptions['stdio'];
  wrap?: LaunchOptions['wrap'];
  onSpawn?: LaunchOptions['onSpawn'];
}

export interface Execed {
  pid: number;
  /** The process's exit status (foreground only; a detached exec resolves to 0 once launched). */
  exit: Promise<number>;
}

export async function execProcess(ctx: RuntimeContext, id: string, opts: ExecOptions): Promise<Execed> {
  const rec = ctx.store.load(id);
  const status = await statusOf(ctx, rec);
  if (status !== 'running' && status !== 'created') throw precondition(`cannot exec in a ${status} container`);
  validateProcess({ ociVersion: rec.config.ociVersion, process: opts.process }, 'process');
  const seccompProfile = rec.config.linux?.seccomp;
  const plan = buildExecPlan({
    containerPid: rec.pid,
    namespaces: rec.config.linux?.namespaces ?? [],
    cgroupProcs: cgroupsOf(rec).procsFiles(),
    process: opts.process,
    consoleSocket: opts.consoleSocket,
    preserveFds: opts.preserveFds ?? 0,
    wait: !opts.detach,
    pidFile: opts.pidFile ? resolve(opts.pidFile) : undefined,
    seccomp: seccompProfile ? compileSeccomp(seccompProfile) : undefined,
    hostCaps: boundingCapabilities(),
  }).finish();
  const l = launch({ plan, stdio: opts.stdio ?? ['inherit', 'inherit', 'inherit'], preserveFds: opts.preserveFds, wrap: opts.wrap, onSpawn: opts.onSpawn });
  const pid = await l.pid;
  await l.ready;
  // Errors between ready and exec (dropping privileges, exec itself) still arrive on the socket.
  await l.finished;
  return { pid, exit: opts.detach ? Promise.resolve(0) : l.exit };
}
