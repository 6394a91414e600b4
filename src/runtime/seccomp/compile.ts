// Compiles an OCI seccomp profile into a classic BPF program for seccomp(SECCOMP_SET_MODE_FILTER).
// The init only loads the result. Layout: check the architecture, dispatch on the syscall number
// (two instructions per syscall, so every conditional jump stays short), then each syscall's rules.
//
// Matching: a syscall's rules with argument conditions are tried in profile order and the first
// whose conditions all hold decides; then its first unconditional rule; then the default action.
import { invalid } from '../../common/errors.js';
import type { Seccomp, SeccompArg } from '../spec/types.js';
import { actionValue, filterFlags, RET } from './actions.js';
import { Assembler, BPF } from './bpf.js';
import { I386, X32, X86_64 } from './syscall-table.js';

export interface CompiledSeccomp {
  /** struct sock_filter[], 8 bytes each, little-endian. */
  program: Buffer;
  /** SECCOMP_FILTER_FLAG_* bits. */
  flags: number;
  usesNotify: boolean;
}

const AUDIT_ARCH_X86_64 = 0xc000003e;
const AUDIT_ARCH_I386 = 0x40000003;
const X32_SYSCALL_BIT = 0x40000000;
const BPF_MAXINSNS = 4096;
const NEW_LISTENER = 8;

// seccomp_data: nr at 0, arch at 4, instruction pointer at 8, args[6] (u64) from 16.
const OFF_NR = 0;
const OFF_ARCH = 4;
const argLow = (i: number) => 16 + 8 * i;
const argHigh = (i: number) => 20 + 8 * i;

const SUPPORTED: Record<string, 'x86_64' | 'i386' | 'x32'> = { SCMP_ARCH_X86_64: 'x86_64', SCMP_ARCH_X86: 'i386', SCMP_ARCH_X32: 'x32' };
// Valid libseccomp names without a table here: skipped, as they can never match on this host.
const OTHER_ARCHES = new Set([
  'SCMP_ARCH_ARM', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS64N32', 'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPSEL64N32', 'SCMP_ARCH_PPC', 'SCMP_ARCH_PPC64', 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X', 'SCMP_ARCH_PARISC', 'SCMP_ARCH_PARISC64', 'SCMP_ARCH_RISCV64', 'SCMP_ARCH_LOONGARCH64', 'SCMP_ARCH_M68K',
  'SCMP_ARCH_SH', 'SCMP_ARCH_SHEB',
]);
const OPS = new Set(['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ']);

interface Rule {
  ret: number;
  args: SeccompArg[];
}

export function compileSeccomp(profile: Seccomp, field = 'linux.seccomp'): CompiledSeccomp {
  const defaultRet = actionValue(profile.defaultAction, undefined, profile.defaultErrnoRet, `${field}.defaultAction`);
  let usesNotify = profile.defaultAction === 'SCMP_ACT_NOTIFY';
  const arches = new Set<'x86_64' | 'i386' | 'x32'>();
  (profile.architectures?.length ? profile.architectures : ['SCMP_ARCH_X86_64']).forEach((a, i) => {
    if (SUPPORTED[a]) arches.add(SUPPORTED[a]);
    else if (!OTHER_ARCHES.has(a)) throw invalid(`${field}.architectures[${i}]: unknown architecture "${a}"`);
  });

  // Per architecture: syscall number -> rules, in profile order.
  const tables = { x86_64: X86_64, i386: I386, x32: X32 };
  const rules = { x86_64: new Map<number, Rule[]>(), i386: new Map<number, Rule[]>(), x32: new Map<number, Rule[]>() };
  (profile.syscalls ?? []).forEach((sc, i) => {
    const f = `${field}.syscalls[${i}]`;
    const ret = actionValue(sc.action, sc.errnoRet, profile.defaultErrnoRet, `${f}.action`);
    if (sc.action === 'SCMP_ACT_NOTIFY') usesNotify = true;
    const args = sc.args ?? [];
    args.forEach((a, j) => {
      if (!Number.isInteger(a.index) || a.index < 0 || a.index > 5) throw invalid(`${f}.args[${j}].index: ${a.index} is not an argument index (0-5)`);
      if (!OPS.has(a.op)) throw invalid(`${f}.args[${j}].op: unknown operator "${a.op}"`);
    });
    if (!Array.isArray(sc.names)) throw invalid(`${f}.names: must be an array of syscall names`);
    for (const arch of arches) {
      for (const name of sc.names) {
        const nr = tables[arch][name];
        if (nr === undefined) continue; // unknown on this architecture: ignored, as runc does
        const list = rules[arch].get(nr) ?? [];
        list.push({ ret, args });
        rules[arch].set(nr, list);
      }
    }
  });

  const asm = new Assembler();
  const section = { x86_64: asm.label('x86_64'), i386: asm.label('i386'), x32: asm.label('x32') };
  asm.load(OFF_ARCH);
  if (arches.has('x86_64') || arches.has('x32')) {
    asm.jump(BPF.JEQ_K, AUDIT_ARCH_X86_64, null, 'skip-amd64');
    asm.ja('amd64');
    asm.mark('skip-amd64');
  }
  if (arches.has('i386')) {
    asm.jump(BPF.JEQ_K, AUDIT_ARCH_I386, null, 'skip-i386');
    asm.ja(section.i386);
    asm.mark('skip-i386');
  }
  asm.ret(RET.KILL_THREAD); // an architecture the profile does not name

  if (arches.has('x86_64') || arches.has('x32')) {
    // x86_64 and x32 share an audit arch; x32 numbers carry the x32 bit.
    asm.mark('amd64');
    asm.load(OFF_NR);
    asm.jump(BPF.JSET_K, X32_SYSCALL_BIT, null, 'not-x32');
    if (arches.has('x32')) asm.ja(section.x32);
    else asm.ret(RET.KILL_THREAD);
    asm.mark('not-x32');
    if (arches.has('x86_64')) asm.ja(section.x86_64);
    else asm.ret(RET.KILL_THREAD);
  }
  for (const arch of ['x86_64', 'x32', 'i386'] as const) {
    if (!arches.has(arch)) continue;
    asm.mark(section[arch]);
    writeDispatch(asm, rules[arch], defaultRet, arch);
  }

  if (asm.length > BPF_MAXINSNS) throw invalid(`${field}: the profile compiles to ${asm.length} BPF instructions, over the kernel's limit of ${BPF_MAXINSNS}`);
  const flags = filterFlags(profile.flags, `${field}.flags`) | (usesNotify ? NEW_LISTENER : 0);
  return { program: asm.assemble(), flags, usesNotify };
}

function writeDispatch(asm: Assembler, table: Map<number, Rule[]>, defaultRet: number, arch: string): void {
  const numbers = [...table.keys()].sort((a, b) => a - b);
  asm.load(OFF_NR);
  for (const nr of numbers) {
    asm.jump(BPF.JEQ_K, nr, null, `${arch}-next-${nr}`);
    asm.ja(`${arch}-sys-${nr}`);
    asm.mark(`${arch}-next-${nr}`);
  }
  asm.ret(defaultRet);
  for (const nr of numbers) {
    asm.mark(`${arch}-sys-${nr}`);
    const list = table.get(nr)!;
    for (const rule of list.filter((r) => r.args.length > 0)) {
      const next = asm.label('rule');
      for (const cond of rule.args) writeCondition(asm, cond, next);
      asm.ret(rule.ret);
      asm.mark(next);
    }
    const always = list.find((r) => r.args.length === 0);
    asm.ret(always ? always.ret : defaultRet);
  }
}

const hi32 = (v: bigint) => Number((v >> 32n) & 0xffffffffn);
const lo32 = (v: bigint) => Number(v & 0xffffffffn);

/** Falls through when the 64-bit condition holds, jumps to `fail` when it does not. */
function writeCondition(asm: Assembler, c: SeccompArg, fail: string): void {
  const pass = asm.label('pass');
  const v = BigInt.asUintN(64, BigInt(c.value));
  const hi = argHigh(c.index), lo = argLow(c.index);
  switch (c.op) {
    case 'SCMP_CMP_EQ':
      asm.load(hi); asm.jump(BPF.JEQ_K, hi32(v), null, fail);
      asm.load(lo); asm.jump(BPF.JEQ_K, lo32(v), null, fail);
      break;
    case 'SCMP_CMP_NE':
      asm.load(hi); asm.jump(BPF.JEQ_K, hi32(v), null, pass);
      asm.load(lo); asm.jump(BPF.JEQ_K, lo32(v), fail, null);
      break;
    case 'SCMP_CMP_GT':
      asm.load(hi); asm.jump(BPF.JGT_K, hi32(v), pass, null); asm.jump(BPF.JEQ_K, hi32(v), null, fail);
      asm.load(lo); asm.jump(BPF.JGT_K, lo32(v), null, fail);
      break;
    case 'SCMP_CMP_GE':
      asm.load(hi); asm.jump(BPF.JGT_K, hi32(v), pass, null); asm.jump(BPF.JEQ_K, hi32(v), null, fail);
      asm.load(lo); asm.jump(BPF.JGE_K, lo32(v), null, fail);
      break;
    case 'SCMP_CMP_LT':
      asm.load(hi); asm.jump(BPF.JGT_K, hi32(v), fail, null); asm.jump(BPF.JEQ_K, hi32(v), null, pass);
      asm.load(lo); asm.jump(BPF.JGE_K, lo32(v), fail, null);
      break;
    case 'SCMP_CMP_LE':
      asm.load(hi); asm.jump(BPF.JGT_K, hi32(v), fail, null); asm.jump(BPF.JEQ_K, hi32(v), null, pass);
      asm.load(lo); asm.jump(BPF.JGT_K, lo32(v), fail, null);
      break;
    case 'SCMP_CMP_MASKED_EQ': {
      const datum = BigInt.asUintN(64, BigInt(c.valueTwo ?? 0));
      asm.load(hi); asm.and(hi32(v)); asm.jump(BPF.JEQ_K, hi32(datum), null, fail);
      asm.load(lo); asm.and(lo32(v)); asm.jump(BPF.JEQ_K, lo32(datum), null, fail);
      break;
    }
  }
  asm.mark(pass);
}
