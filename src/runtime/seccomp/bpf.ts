// A tiny classic-BPF assembler: instructions with symbolic jump targets, resolved to offsets.
// Conditional jumps carry 8-bit offsets; the compiler lays programs out so they never need more,
// and anything longer goes through an unconditional `ja` (32-bit offset).
import { BerthError } from '../../common/errors.js';

export const BPF = {
  LD_W_ABS: 0x20,
  ALU_AND_K: 0x54,
  JA: 0x05,
  JEQ_K: 0x15,
  JGT_K: 0x25,
  JGE_K: 0x35,
  JSET_K: 0x45,
  RET_K: 0x06,
} as const;

/** A jump target: a label name, or `null` for "the next instruction". */
export type Target = string | null;

interface Insn {
  code: number;
  k: number;
  jt?: Target;
  jf?: Target;
  /** For `ja`: where to go. */
  to?: string;
}

export class Assembler {
  private readonly insns: Insn[] = [];
  private readonly labels = new Map<string, number>();
  private nextLabel = 0;

  /** A fresh, unused label name. */
  label(hint = 'L'): string {
    return `${hint}${this.nextLabel++}`;
  }

  /** Places `name` at the next instruction. */
  mark(name: string): void {
    if (this.labels.has(name)) throw new BerthError('INTERNAL', `seccomp: label ${name} placed twice`);
    this.labels.set(name, this.insns.length);
  }

  load(offset: number): void {
    this.insns.push({ code: BPF.LD_W_ABS, k: offset });
  }

  and(mask: number): void {
    this.insns.push({ code: BPF.ALU_AND_K, k: mask >>> 0 });
  }

  jump(code: number, k: number, jt: Target, jf: Target): void {
    this.insns.push({ code, k: k >>> 0, jt, jf });
  }

  ja(to: string): void {
    this.insns.push({ code: BPF.JA, k: 0, to });
  }

  ret(value: number): void {
    this.insns.push({ code: BPF.RET_K, k: value >>> 0 });
  }

  get length(): number {
    return this.insns.length;
  }

  /** struct sock_filter[]: u16 code, u8 jt, u8 jf, u32 k, little-endian. */
  assemble(): Buffer {
    const out = Buffer.alloc(this.insns.length * 8);
    this.insns.forEach((insn, pc) => {
      const offset = (t: Target | undefined): number => {
        if (t === null || t === undefined) return 0;
        const at = this.labels.get(t);
        if (at === undefined) throw new BerthError('INTERNAL', `seccomp: label ${t} was never placed`);
        const off = at - pc - 1;
        if (off < 0) throw new BerthError('INTERNAL', `seccomp: backward jump to ${t}`);
        return off;
      };
      let k = insn.k;
      let jt = 0, jf = 0;
      if (insn.code === BPF.JA) k = offset(insn.to);
      else if (insn.jt !== undefined || insn.jf !== undefined) {
        jt = offset(insn.jt);
        jf = offset(insn.jf);
        if (jt > 255 || jf > 255) throw new BerthError('INTERNAL', `seccomp: conditional jump too long at ${pc}`);
      }
      out.writeUInt16LE(insn.code, pc * 8);
      out.writeUInt8(jt, pc * 8 + 2);
      out.writeUInt8(jf, pc * 8 + 3);
      out.writeUInt32LE(k >>> 0, pc * 8 + 4);
    });
    return out;
  }
}
