// The container process's own setup as plan operations: names, sysctls, protected paths, limits,
// privileges, and the exec. Shared by `create` and `exec`.
import type { CompiledSeccomp } from '../seccomp/compile.js';
import { capabilityMask } from '../spec/capabilities.js';
import { rlimitResource, rlimitValue } from '../spec/rlimits.js';
import type { Process, Spec } from '../spec/types.js';
import { Op, WRITE_IGNORE_ENOENT } from './opcodes.js';
import { PlanWriter, bytes, str, strv, u32, u64 } from './writer.js';

/** Hostname, domainname, sysctls, then read-only and masked paths (sysctls first: /proc/sys becomes read-only). */
export function writeKernelSettings(w: PlanWriter, spec: Spec): void {
  if (spec.hostname) w.op(Op.SETHOSTNAME, str(spec.hostname));
  if (spec.domainname) w.op(Op.SETDOMAINNAME, str(spec.domainname));
  for (const [key, value] of Object.entries(spec.linux?.sysctl ?? {})) {
    w.op(Op.WRITE_FILE, str(`/proc/sys/${key.replace(/\./g, '/')}`), str(value), u32(0));
  }
  for (const p of spec.linux?.readonlyPaths ?? []) w.op(Op.READONLY, str(p));
  for (const p of spec.linux?.maskedPaths ?? []) w.op(Op.MASK, str(p));
}

export function writeLimits(w: PlanWriter, proc: Process, field: string): void {
  (proc.rlimits ?? []).forEach((r, i) => w.op(Op.RLIMIT, u32(rlimitResource(r.type, `${field}.rlimits[${i}]`)), u64(rlimitValue(r.soft)), u64(rlimitValue(r.hard))));
  if (proc.oomScoreAdj !== undefined) w.op(Op.WRITE_FILE, str('/proc/self/oom_score_adj'), str(String(proc.oomScoreAdj)), u32(WRITE_IGNORE_ENOENT));
}

export function pathOf(env: readonly string[] | undefined): string {
  const entry = (env ?? []).findLast((e) => e.startsWith('PATH='));
  return entry ? entry.slice(5) : '';
}

export interface Privileges {
  proc: Process;
  field: string;
  seccomp?: CompiledSeccomp;
  /** Capabilities the runtime itself holds: a container never gets more than the host can give. */
  hostCaps: bigint;
  /** False inside a user namespace with setgroups denied. */
  canSetGroups: boolean;
}

/** no_new_privs and seccomp (early when it needs CAP_SYS_ADMIN), capabilities, user, umask, cwd. */
export function writePrivileges(w: PlanWriter, p: Privileges): void {
  const { proc, field } = p;
  const caps = proc.capabilities ?? {};
  const mask = (set: keyof typeof caps) => capabilityMask(caps[set], `${field}.capabilities.${set}`) & p.hostCaps;
  const bounding = mask('bounding');
  const effective = mask('effective');
  const permitted = mask('permitted');
  const inheritable = mask('inheritable');
  // The kernel only keeps an ambient capability that is both permitted and inheritable.
  const ambient = mask('ambient') & permitted & inheritable;

  if (proc.noNewPrivileges) w.op(Op.NO_NEW_PRIVS);
  // Without no_new_privs, loading a filter takes CAP_SYS_ADMIN: do it while we still have it.
  if (p.seccomp && !proc.noNewPrivileges) writeSeccomp(w, p.seccomp);
  w.op(Op.DROP_BOUNDING, u64(bounding));
  // As runc: a process without HOME gets its user's home from the container's /etc/passwd ("/"
  // without one), read by the init inside the container's root before it becomes that user.
  if (!(proc.env ?? []).some((e) => e.startsWith('HOME='))) w.op(Op.HOME_FROM_PASSWD, u32(proc.user.uid));
  const gids = proc.user.additionalGids ?? [];
  w.op(Op.SET_USER, u32(proc.user.uid), u32(proc.user.gid), u32(p.canSetGroups ? 1 : 0), u32(gids.length), ...gids.map((g) => u32(g)));
  w.op(Op.SET_CAPS, u64(effective), u64(permitted), u64(inheritable), u64(ambient));
  w.op(Op.UMASK, u32(proc.user.umask ?? 0o022));
  w.op(Op.CHDIR, str(proc.cwd));
}

export function writeSeccomp(w: PlanWriter, s: CompiledSeccomp): void {
  w.op(Op.SECCOMP, u32(s.flags), bytes(s.program));
}

export function writeExec(w: PlanWriter, proc: Process, preserveFds: number): void {
  w.op(Op.EXEC, strv(proc.args ?? []), strv(proc.env ?? []), u32(preserveFds));
}

export function writeResolveExec(w: PlanWriter, proc: Process): void {
  w.op(Op.RESOLVE_EXEC, str(pathOf(proc.env)), str(proc.args![0]!));
}
