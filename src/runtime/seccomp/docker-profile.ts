// Docker's seccomp profile format (what `--security-opt seccomp=profile.json` sends and what the
// default profile is written in) and its conversion to the OCI form for one container: rules
// whose conditions do not hold (architecture, capabilities in the bounding set, kernel version)
// are left out, `archMap` becomes the native architecture and its sub-architectures. This is
// moby's profiles/seccomp setupSeccomp.
import { invalid } from '../../common/errors.js';
import type { Seccomp, SeccompArg, SeccompSyscall } from '../spec/types.js';

export interface SeccompFilter {
  caps?: string[] | null;
  arches?: string[] | null;
  /** "<kernel>.<major>", e.g. "4.8". */
  minKernel?: string | null;
}

export interface DockerSyscallRule {
  name?: string;
  names?: string[] | null;
  action: string;
  errnoRet?: number | null;
  args?: SeccompArg[] | null;
  comment?: string;
  includes?: SeccompFilter | null;
  excludes?: SeccompFilter | null;
}

export interface DockerSeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number | null;
  architectures?: string[] | null;
  archMap?: Array<{ architecture: string; subArchitectures?: string[] | null }> | null;
  flags?: string[] | null;
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: DockerSyscallRule[] | null;
}

/** What a rule's conditions are checked against. */
export interface SeccompContext {
  /** libseccomp's name of the native architecture: "amd64", "arm64", ... */
  arch: string;
  /** The container's bounding capabilities. */
  bounding: readonly string[];
  /** The host kernel's version. */
  kernel: { major: number; minor: number };
}

// Node's process.arch -> libseccomp's native name; and that name -> the SCMP_ARCH_ constant.
const NODE_TO_NATIVE: Record<string, string> = { x64: 'amd64', ia32: 'x86', arm: 'arm', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x', s390: 's390', riscv64: 'riscv64', loong64: 'loongarch64', mips: 'mips', mipsel: 'mipsel' };
const NATIVE_TO_SCMP: Record<string, string> = {
  x86: 'SCMP_ARCH_X86', amd64: 'SCMP_ARCH_X86_64', arm: 'SCMP_ARCH_ARM', arm64: 'SCMP_ARCH_AARCH64', loongarch64: 'SCMP_ARCH_LOONGARCH64',
  mips64: 'SCMP_ARCH_MIPS64', mips64n32: 'SCMP_ARCH_MIPS64N32', mipsel64: 'SCMP_ARCH_MIPSEL64', mips3l64n32: 'SCMP_ARCH_MIPSEL64N32',
  mipsle: 'SCMP_ARCH_MIPSEL', ppc: 'SCMP_ARCH_PPC', ppc64: 'SCMP_ARCH_PPC64', ppc64le: 'SCMP_ARCH_PPC64LE', riscv64: 'SCMP_ARCH_RISCV64',
  s390: 'SCMP_ARCH_S390', s390x: 'SCMP_ARCH_S390X',
};

export const nativeArch = (nodeArch: string = process.arch): string => NODE_TO_NATIVE[nodeArch] ?? nodeArch;

/** "6.18.44-fc" -> {major: 6, minor: 18}: distribution suffixes and patch levels do not count. */
export function parseKernelVersion(release: string): { major: number; minor: number } {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : { major: 0, minor: 0 };
}

function parseMinKernel(v: string, field: string): { major: number; minor: number } {
  const m = /^(\d+)\.(\d+)$/.exec(v);
  if (!m || Number(m[1]) > 255 || Number(m[2]) > 255) throw invalid(`${field}: invalid kernel version: "${v}", expected "<kernel>.<major>"`);
  if (m[1] === '0' && m[2] === '0') throw invalid(`${field}: invalid kernel version: "${v}", expected "<kernel>.<major>": version cannot be 0.0`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

const atLeast = (k: { major: number; minor: number }, min: { major: number; minor: number }): boolean => k.major > min.major || (k.major === min.major && k.minor >= min.minor);

/** The OCI profile for one container; undefined when the profile disables seccomp (no default action, no rules). */
export function toOciSeccomp(p: DockerSeccompProfile, ctx: SeccompContext, field = 'seccomp profile'): Seccomp | undefined {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) throw invalid(`${field}: must be a JSON object`);
  if (!p.defaultAction && !(p.syscalls ?? []).length) return undefined;
  if (typeof p.defaultAction !== 'string' || p.defaultAction === '') throw invalid(`${field}.defaultAction: is required`);
  if ((p.architectures ?? []).length && (p.archMap ?? []).length) {
    throw invalid(`${field}: both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'`);
  }
  const out: Seccomp = { defaultAction: p.defaultAction };
  if (p.defaultErrnoRet !== undefined && p.defaultErrnoRet !== null) out.defaultErrnoRet = p.defaultErrnoRet;
  const arches = [...(p.architectures ?? [])];
  const native = NATIVE_TO_SCMP[ctx.arch];
  const entry = native ? (p.archMap ?? []).find((a) => a.architecture === native) : undefined;
  if (entry) arches.push(entry.architecture, ...(entry.subArchitectures ?? []));
  if (arches.length) out.architectures = arches;
  if (p.flags?.length) out.flags = [...p.flags];
  if (p.listenerPath) out.listenerPath = p.listenerPath;
  if (p.listenerMetadata) out.listenerMetadata = p.listenerMetadata;

  const syscalls: SeccompSyscall[] = [];
  (p.syscalls ?? []).forEach((rule, i) => {
    const f = `${field}.syscalls[${i}]`;
    if (typeof rule !== 'object' || rule === null) throw invalid(`${f}: must be an object`);
    if (rule.name && rule.names?.length) throw invalid(`${f}: both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'`);
    const names = rule.name ? [rule.name] : rule.names ?? [];
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) throw invalid(`${f}.names: must be an array of syscall names`);
    if (typeof rule.action !== 'string') throw invalid(`${f}.action: is required`);
    if (!applies(rule, ctx, f)) return;
    const sc: SeccompSyscall = { names: [...names], action: rule.action };
    if (rule.errnoRet !== undefined && rule.errnoRet !== null) sc.errnoRet = rule.errnoRet;
    if (rule.args?.length) sc.args = rule.args.map((a) => ({ ...a }));
    syscalls.push(sc);
  });
  out.syscalls = syscalls;
  return out;
}

function applies(rule: DockerSyscallRule, ctx: SeccompContext, field: string): boolean {
  const ex = rule.excludes;
  if (ex) {
    if (ex.arches?.includes(ctx.arch)) return false;
    if (ex.caps?.some((c) => ctx.bounding.includes(c))) return false;
    if (ex.minKernel && atLeast(ctx.kernel, parseMinKernel(ex.minKernel, `${field}.excludes.minKernel`))) return false;
  }
  const inc = rule.includes;
  if (inc) {
    if (inc.arches?.length && !inc.arches.includes(ctx.arch)) return false;
    if (inc.caps?.length && !inc.caps.every((c) => ctx.bounding.includes(c))) return false;
    if (inc.minKernel && !atLeast(ctx.kernel, parseMinKernel(inc.minKernel, `${field}.includes.minKernel`))) return false;
  }
  return true;
}

/** A profile sent as JSON text (the CLI sends the file's content). */
export function parseDockerProfile(json: string, field: string): DockerSeccompProfile {
  try {
    return JSON.parse(json) as DockerSeccompProfile;
  } catch (err) {
    throw invalid(`${field}: Decoding seccomp profile failed: ${(err as Error).message}`);
  }
}
