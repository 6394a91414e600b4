// Stage 0 of a launch: join the cgroup, join namespaces given by path, then fork the container
// process into the namespaces it creates.
import { basename, dirname } from 'node:path';
import { invalid } from '../../common/errors.js';
import type { IdMapping, Namespace, NamespaceType } from '../spec/types.js';
import { CloneFlag, CloneMode, Op } from './opcodes.js';
import { PlanWriter, str, u32, u64 } from './writer.js';

/** /proc/<pid>/ns/<name> for each spec namespace type. */
export const procNsName: Record<NamespaceType, string> = {
  pid: 'pid', network: 'net', mount: 'mnt', ipc: 'ipc', uts: 'uts', user: 'user', cgroup: 'cgroup', time: 'time',
};

// The user namespace is joined first so the rest are joined with its privileges; the mount
// namespace last because joining it changes the root we resolve paths from.
const JOIN_ORDER: NamespaceType[] = ['user', 'ipc', 'uts', 'network', 'pid', 'cgroup', 'time', 'mount'];

export interface StageZero {
  namespaces: readonly Namespace[];
  uidMappings?: readonly IdMapping[];
  gidMappings?: readonly IdMapping[];
  cgroupProcs: readonly string[];
  wait: boolean;
  /** Stage 0 writes the container's host pid here (atomically) before it reports or exits. */
  pidFile?: string;
}

export function writeStageZero(w: PlanWriter, s: StageZero): void {
  // The pid file is a host path: its directory is opened before any namespace is joined.
  if (s.pidFile) w.op(Op.OPEN_PID_DIR, str(dirname(s.pidFile)));
  for (const procs of s.cgroupProcs) w.op(Op.JOIN_CGROUP, str(procs));
  const joined = s.namespaces.filter((n) => n.path);
  for (const type of JOIN_ORDER) {
    const ns = joined.find((n) => n.type === type);
    if (ns) w.op(Op.SETNS, u32(CloneFlag[type]), str(ns.path!));
  }
  let flags = 0;
  for (const ns of s.namespaces) if (!ns.path) flags |= CloneFlag[ns.type];
  const newUser = s.namespaces.some((n) => n.type === 'user' && !n.path);
  w.op(
    Op.CLONE,
    u64(flags),
    u32(s.wait ? CloneMode.WAIT : CloneMode.DETACH),
    str(newUser ? idMap(s.uidMappings, 'linux.uidMappings') : ''),
    str(newUser ? idMap(s.gidMappings, 'linux.gidMappings') : ''),
    str(''),
    str(s.pidFile ? basename(s.pidFile) : ''),
  );
}

function idMap(maps: readonly IdMapping[] | undefined, field: string): string {
  return (maps ?? [])
    .map((m, i) => {
      if (![m.containerID, m.hostID, m.size].every((n) => Number.isInteger(n) && n >= 0)) throw invalid(`${field}[${i}]: containerID, hostID and size must be non-negative integers`);
      return `${m.containerID} ${m.hostID} ${m.size}\n`;
    })
    .join('');
}
