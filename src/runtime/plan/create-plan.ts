// The whole plan for `create`: stage 0, the rootfs, hook points, the process, then wait for start.
import { invalid } from '../../common/errors.js';
import type { CompiledSeccomp } from '../seccomp/compile.js';
import type { Spec } from '../spec/types.js';
import { HookPoint, Op } from './opcodes.js';
import { writeStageZero } from './namespaces.js';
import { type CgroupMountSource, writeEnterRoot, writeReadonlyRoot, writeRootfs } from './rootfs.js';
import { writeExec, writeKernelSettings, writeLimits, writePrivileges, writeResolveExec, writeSeccomp } from './process.js';
import { PlanWriter, str, strv, u32 } from './writer.js';

export interface CreatePlanInput {
  spec: Spec;
  bundle: string;
  rootfs: string;
  fifoPath: string;
  pidFile?: string;
  cgroupProcs: readonly string[];
  cgroupMounts: readonly CgroupMountSource[];
  consoleSocket?: string;
  noPivot: boolean;
  preserveFds: number;
  /** Stage 0 waits for the container and exits with its status (foreground `run`). */
  wait: boolean;
  seccomp?: CompiledSeccomp;
  hostCaps: bigint;
}

export function buildCreatePlan(input: CreatePlanInput): PlanWriter {
  const { spec } = input;
  const proc = spec.process;
  if (!proc) throw invalid('process: is required to create a container');
  const namespaces = spec.linux?.namespaces ?? [];
  const isNew = (t: string) => namespaces.some((n) => n.type === t && !n.path);
  if (!namespaces.some((n) => n.type === 'mount')) throw invalid('linux.namespaces: berth-runtime needs a mount namespace to set up the rootfs');
  if (proc.terminal && !input.consoleSocket) throw invalid('process.terminal: a terminal needs --console-socket (or run -t from a terminal)');

  const w = new PlanWriter();
  // Host paths, opened while we are still the host's root: a new user namespace may not reach them.
  w.op(Op.OPEN_FIFO, str(input.fifoPath));
  if (proc.terminal) w.op(Op.CONSOLE_CONNECT, str(input.consoleSocket!));
  writeStageZero(w, {
    namespaces,
    uidMappings: spec.linux?.uidMappings,
    gidMappings: spec.linux?.gidMappings,
    cgroupProcs: input.cgroupProcs,
    wait: input.wait,
    pidFile: input.pidFile,
  });
  w.op(Op.SETSID);
  if (isNew('user')) w.op(Op.BECOME_ROOT);

  writeRootfs(w, { spec, bundle: input.bundle, rootfs: input.rootfs, cgroupMounts: input.cgroupMounts, newUserNs: isNew('user'), newCgroupNs: isNew('cgroup') });
  const hooks = spec.hooks ?? {};
  if (hooks.prestart?.length || hooks.createRuntime?.length || hooks.createContainer?.length || hooks.startContainer?.length) {
    w.op(Op.SYNC_HOOKS, u32(HookPoint.CREATE_RUNTIME));
  }
  for (const h of hooks.createContainer ?? []) w.op(Op.RUN_HOOK, str(h.path), strv(h.args ?? [h.path]), strv(h.env ?? []), u32(h.timeout ?? 0));
  writeEnterRoot(w, input.noPivot);

  if (proc.terminal) {
    const size = proc.consoleSize;
    w.op(Op.CONSOLE_SETUP, u32(size?.height ?? 0), u32(size?.width ?? 0), u32(proc.user.uid), u32(proc.user.gid));
  }
  writeReadonlyRoot(w, spec);
  writeKernelSettings(w, spec);
  writeLimits(w, proc, 'process');
  writeResolveExec(w, proc);
  writePrivileges(w, { proc, field: 'process', seccomp: input.seccomp, hostCaps: input.hostCaps, canSetGroups: true });
  w.op(Op.REPORT_READY);
  w.op(Op.WAIT_START);
  for (const h of hooks.startContainer ?? []) w.op(Op.RUN_HOOK, str(h.path), strv(h.args ?? [h.path]), strv(h.env ?? []), u32(h.timeout ?? 0));
  if (input.seccomp && proc.noNewPrivileges) writeSeccomp(w, input.seccomp);
  writeExec(w, proc, input.preserveFds);
  return w;
}
