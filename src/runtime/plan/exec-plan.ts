// The plan for `exec`: join a running container's cgroup and namespaces, then set up and exec
// the new process there. Nothing about the rootfs changes.
import { invalid } from '../../common/errors.js';
import type { CompiledSeccomp } from '../seccomp/compile.js';
import type { Namespace, Process } from '../spec/types.js';
import { Op } from './opcodes.js';
import { procNsName, writeStageZero } from './namespaces.js';
import { writeExec, writeLimits, writePrivileges, writeResolveExec, writeSeccomp } from './process.js';
import { PlanWriter, str, u32 } from './writer.js';

export interface ExecPlanInput {
  containerPid: number;
  /** The container's namespaces as its config lists them. */
  namespaces: readonly Namespace[];
  cgroupProcs: readonly string[];
  process: Process;
  consoleSocket?: string;
  preserveFds: number;
  wait: boolean;
  pidFile?: string;
  seccomp?: CompiledSeccomp;
  hostCaps: bigint;
}

export function buildExecPlan(input: ExecPlanInput): PlanWriter {
  const proc = input.process;
  if (proc.terminal && !input.consoleSocket) throw invalid('process.terminal: a terminal needs --console-socket');
  const w = new PlanWriter();
  // Every namespace of the container, created or joined, is entered through its /proc entry.
  const namespaces = input.namespaces.map((n) => ({ type: n.type, path: `/proc/${input.containerPid}/ns/${procNsName[n.type]}` }));
  // The console socket is a host path: connect before entering the container's mount namespace.
  if (proc.terminal) w.op(Op.CONSOLE_CONNECT, str(input.consoleSocket!));
  writeStageZero(w, { namespaces, cgroupProcs: input.cgroupProcs, wait: input.wait, pidFile: input.pidFile });
  w.op(Op.SETSID);
  if (input.namespaces.some((n) => n.type === 'user')) w.op(Op.BECOME_ROOT);
  if (proc.terminal) {
    const size = proc.consoleSize;
    w.op(Op.CONSOLE_SETUP, u32(size?.height ?? 0), u32(size?.width ?? 0), u32(proc.user.uid), u32(proc.user.gid));
  }
  writeLimits(w, proc, 'process');
  writeResolveExec(w, proc);
  writePrivileges(w, { proc, field: 'process', seccomp: input.seccomp, hostCaps: input.hostCaps, canSetGroups: true });
  w.op(Op.REPORT_READY);
  if (input.seccomp && proc.noNewPrivileges) writeSeccomp(w, input.seccomp);
  writeExec(w, proc, input.preserveFds);
  return w;
}
