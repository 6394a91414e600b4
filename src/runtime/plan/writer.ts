// Encodes a launch plan for native/init: little-endian integers, strings as u32 length + bytes + NUL.
import { PLAN_MAGIC } from './opcodes.js';

export type Field =
  | { u32: number }
  | { u64: bigint | number }
  | { str: string }
  | { strv: readonly string[] }
  | { bytes: Uint8Array };

export class PlanWriter {
  private readonly chunks: Buffer[] = [Buffer.from(PLAN_MAGIC, 'latin1')];
  /** Operation names in order, for debugging and tests. */
  readonly trace: number[] = [];

  op(code: number, ...fields: Field[]): this {
    const payload = Buffer.concat(fields.map(encodeField));
    const head = Buffer.alloc(8);
    head.writeUInt32LE(code, 0);
    head.writeUInt32LE(payload.length, 4);
    this.chunks.push(head, payload);
    this.trace.push(code);
    return this;
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function encodeField(f: Field): Buffer {
  if ('u32' in f) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(f.u32 >>> 0, 0);
    return b;
  }
  if ('u64' in f) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(f.u64)), 0);
    return b;
  }
  if ('str' in f) return encodeString(f.str);
  if ('strv' in f) {
    const n = Buffer.alloc(4);
    n.writeUInt32LE(f.strv.length, 0);
    return Buffer.concat([n, ...f.strv.map(encodeString)]);
  }
  const n = Buffer.alloc(4);
  n.writeUInt32LE(f.bytes.length, 0);
  return Buffer.concat([n, Buffer.from(f.bytes)]);
}

function encodeString(s: string): Buffer {
  if (s.includes('\0')) throw new Error(`plan string contains a NUL byte: ${JSON.stringify(s)}`);
  const body = Buffer.from(s, 'utf8');
  const n = Buffer.alloc(4);
  n.writeUInt32LE(body.length, 0);
  return Buffer.concat([n, body, Buffer.alloc(1)]);
}

export const u32 = (v: number): Field => ({ u32: v });
export const u64 = (v: bigint | number): Field => ({ u64: v });
export const str = (v: string): Field => ({ str: v });
export const strv = (v: readonly string[]): Field => ({ strv: v });
export const bytes = (v: Uint8Array): Field => ({ bytes: v });
