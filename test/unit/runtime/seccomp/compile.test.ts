// The seccomp compiler, checked by running its programs in a BPF interpreter.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileSeccomp } from '../../../../src/runtime/seccomp/compile.js';
import { X86_64, I386, X32 } from '../../../../src/runtime/seccomp/syscall-table.js';
import type { Seccomp } from '../../../../src/runtime/spec/types.js';
import { runFilter } from './bpf-interpreter.js';

const AMD64 = 0xc000003e;
const I386_ARCH = 0x40000003;
const ALLOW = 0x7fff0000;
const KILL_THREAD = 0;
const errno = (e: number) => (0x00050000 | e) >>> 0;

const run = (p: Seccomp, name: string, args: bigint[] = [], arch = AMD64, table = X86_64) => runFilter(compileSeccomp(p).program, { nr: table[name]!, arch, args });

describe('seccomp compiler', () => {
  it('denies the listed syscalls and allows the rest', () => {
    const p: Seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] };
    assert.equal(run(p, 'mkdir'), errno(1));
    assert.equal(run(p, 'mkdirat'), errno(1));
    assert.equal(run(p, 'read'), ALLOW);
  });

  it('maps every action, with errnoRet, defaultErrnoRet and EPERM', () => {
    const p: Seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38,
      syscalls: [
        { names: ['read'], action: 'SCMP_ACT_ALLOW' },
        { names: ['write'], action: 'SCMP_ACT_KILL' },
        { names: ['open'], action: 'SCMP_ACT_KILL_PROCESS' },
        { names: ['close'], action: 'SCMP_ACT_TRAP' },
        { names: ['stat'], action: 'SCMP_ACT_TRACE', errnoRet: 7 },
        { names: ['fstat'], action: 'SCMP_ACT_LOG' },
        { names: ['lstat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
        { names: ['poll'], action: 'SCMP_ACT_ERRNO' },
        { names: ['lseek'], action: 'SCMP_ACT_KILL_THREAD' },
      ],
    };
    assert.equal(run(p, 'read'), ALLOW);
    assert.equal(run(p, 'write'), KILL_THREAD);
    assert.equal(run(p, 'open'), 0x80000000);
    assert.equal(run(p, 'close'), 0x00030000);
    assert.equal(run(p, 'stat'), 0x7ff00007);
    assert.equal(run(p, 'fstat'), 0x7ffc0000);
    assert.equal(run(p, 'lstat'), errno(13));
    assert.equal(run(p, 'poll'), errno(38), 'defaultErrnoRet');
    assert.equal(run(p, 'lseek'), KILL_THREAD);
    assert.equal(run(p, 'mmap'), errno(38), 'default action');
    assert.equal(run({ defaultAction: 'SCMP_ACT_ERRNO' }, 'mmap'), errno(1), 'EPERM when nothing says otherwise');
  });

  it('compares 64-bit arguments with every operator', () => {
    const big = 0x1_0000_0005n;
    const cases: Array<[string, bigint, bigint | undefined, Array<[bigint, boolean]>]> = [
      ['SCMP_CMP_EQ', big, undefined, [[big, true], [5n, false], [0x2_0000_0005n, false]]],
      ['SCMP_CMP_NE', big, undefined, [[big, false], [5n, true], [0x1_0000_0006n, true]]],
      ['SCMP_CMP_GT', big, undefined, [[big + 1n, true], [big, false], [0x2_0000_0000n, true], [0xffff_ffffn, false]]],
      ['SCMP_CMP_GE', big, undefined, [[big, true], [big - 1n, false], [0x2_0000_0000n, true]]],
      ['SCMP_CMP_LT', big, undefined, [[big - 1n, true], [big, false], [0xffff_ffffn, true], [0x2_0000_0000n, false]]],
      ['SCMP_CMP_LE', big, undefined, [[big, true], [big + 1n, false], [3n, true]]],
      ['SCMP_CMP_MASKED_EQ', 0xff00_0000_00ffn, 0x1200_0000_0034n, [[0x12ab_cdef_0134n, true], [0x1300_0000_0034n, false], [0x1200_0000_0035n, false]]],
    ];
    for (const [op, value, valueTwo, checks] of cases) {
      const p: Seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['ioctl'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, op, value: Number(value), valueTwo: valueTwo === undefined ? undefined : Number(valueTwo) }] }] };
      for (const [arg, denied] of checks) {
        assert.equal(run(p, 'ioctl', [0n, arg]), denied ? errno(1) : ALLOW, `${op} ${value} vs ${arg}`);
      }
    }
  });

  it('ANDs conditions within a rule and ORs rules, conditional rules before the unconditional one', () => {
    const p: Seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, op: 'SCMP_CMP_EQ', value: 1 }, { index: 1, op: 'SCMP_CMP_EQ', value: 2 }] },
        { names: ['socket'], action: 'SCMP_ACT_ERRNO', errnoRet: 97 },
        { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, op: 'SCMP_CMP_EQ', value: 10 }] },
      ],
    };
    assert.equal(run(p, 'socket', [1n, 2n]), ALLOW);
    assert.equal(run(p, 'socket', [1n, 3n]), errno(97));
    assert.equal(run(p, 'socket', [10n, 3n]), ALLOW);
    assert.equal(run(p, 'socket', [2n, 2n]), errno(97));
  });

  it('kills syscalls from architectures the profile does not name, including x32 on x86_64', () => {
    const p: Seccomp = { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_AARCH64'] };
    assert.equal(run(p, 'read'), ALLOW);
    assert.equal(run(p, 'read', [], I386_ARCH, I386), KILL_THREAD);
    assert.equal(run(p, 'read', [], AMD64, X32), KILL_THREAD);
    const all: Seccomp = { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'], syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] };
    assert.equal(run(all, 'mkdir', [], I386_ARCH, I386), errno(1));
    assert.equal(run(all, 'mkdir', [], AMD64, X32), errno(1));
    assert.equal(run(all, 'mkdir'), errno(1));
    assert.equal(run(all, 'rmdir', [], AMD64, X32), ALLOW);
  });

  it('stays correct at both ends of a Docker-size profile, under the kernel limit', () => {
    const names = Object.keys(X86_64).filter((n) => n !== 'clone' && n !== 'personality');
    const p: Seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      syscalls: [
        { names, action: 'SCMP_ACT_ALLOW' },
        { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, op: 'SCMP_CMP_EQ', value: 0 }] },
        { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, op: 'SCMP_CMP_MASKED_EQ', value: 2114060288, valueTwo: 0 }] },
      ],
    };
    const c = compileSeccomp(p);
    assert.ok(c.program.length / 8 < 4096, `${c.program.length / 8} instructions`);
    assert.equal(runFilter(c.program, { nr: X86_64[names[0]!]!, arch: AMD64 }), ALLOW);
    assert.equal(runFilter(c.program, { nr: X86_64[names.at(-1)!]!, arch: AMD64 }), ALLOW);
    assert.equal(runFilter(c.program, { nr: 100_000, arch: AMD64 }), errno(1));
    assert.equal(runFilter(c.program, { nr: X86_64.clone!, arch: AMD64, args: [0x10000000n] }), errno(1), 'CLONE_NEWUSER masked out');
  });

  it('names the field of a bad action, operator, index, architecture or flag', () => {
    const bad: Array<[Seccomp, RegExp]> = [
      [{ defaultAction: 'SCMP_ACT_NOPE' }, /linux\.seccomp\.defaultAction: unsupported seccomp action "SCMP_ACT_NOPE"/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }, { names: ['x'], action: 'BOOM' }] }, /linux\.seccomp\.syscalls\[1\]\.action: unsupported seccomp action "BOOM"/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, op: 'SCMP_CMP_ABOUT', value: 1 }] }] }, /syscalls\[0\]\.args\[0\]\.op: unknown operator "SCMP_CMP_ABOUT"/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, op: 'SCMP_CMP_EQ', value: 1 }] }] }, /syscalls\[0\]\.args\[0\]\.index: 6 is not an argument index/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_Z80'] }, /architectures\[0\]: unknown architecture "SCMP_ARCH_Z80"/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_FAST'] }, /flags\[0\]: unknown seccomp flag/],
    ];
    for (const [p, msg] of bad) assert.throws(() => compileSeccomp(p), msg);
  });

  it('marks NOTIFY profiles and sets the listener flag', () => {
    const c = compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/agent.sock', syscalls: [{ names: ['mount'], action: 'SCMP_ACT_NOTIFY' }] });
    assert.equal(c.usesNotify, true);
    assert.equal(c.flags & 8, 8);
    assert.equal(runFilter(c.program, { nr: X86_64.mount!, arch: AMD64 }), 0x7fc00000);
  });
});
