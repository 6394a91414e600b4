// A classic-BPF interpreter for the instructions the seccomp compiler emits, so tests can run a
// compiled program on a seccomp_data and see the action the kernel would take.
export interface SeccompData {
  nr: number;
  arch: number;
  args?: bigint[];
}

export function runFilter(program: Buffer, data: SeccompData): number {
  const mem = Buffer.alloc(64);
  mem.writeUInt32LE(data.nr >>> 0, 0);
  mem.writeUInt32LE(data.arch >>> 0, 4);
  (data.args ?? []).forEach((a, i) => mem.writeBigUInt64LE(BigInt.asUintN(64, a), 16 + 8 * i));
  let A = 0;
  for (let pc = 0, steps = 0; pc * 8 < program.length; pc++, steps++) {
    if (steps > 100_000) throw new Error('filter does not terminate');
    const code = program.readUInt16LE(pc * 8);
    const jt = program.readUInt8(pc * 8 + 2);
    const jf = program.readUInt8(pc * 8 + 3);
    const k = program.readUInt32LE(pc * 8 + 4);
    switch (code) {
      case 0x20: A = mem.readUInt32LE(k); break;
      case 0x54: A = (A & k) >>> 0; break;
      case 0x05: pc += k; break;
      case 0x15: pc += A === k ? jt : jf; break;
      case 0x25: pc += A > k ? jt : jf; break;
      case 0x35: pc += A >= k ? jt : jf; break;
      case 0x45: pc += (A & k) !== 0 ? jt : jf; break;
      case 0x06: return k;
      default: throw new Error(`unknown BPF code 0x${code.toString(16)} at ${pc}`);
    }
  }
  throw new Error('fell off the end of the filter');
}
