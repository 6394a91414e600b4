// The launch plan: its byte encoding and the order of operations the init will execute.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PlanWriter, str, strv, u32, u64 } from '../../../src/runtime/plan/writer.js';
import { buildCreatePlan } from '../../../src/runtime/plan/create-plan.js';
import { buildExecPlan } from '../../../src/runtime/plan/exec-plan.js';
import { Op, PLAN_MAGIC } from '../../../src/runtime/plan/opcodes.js';
import { defaultSpec } from '../../../src/runtime/spec/default.js';

const opName = (code: number) => Object.entries(Op).find(([, v]) => v === code)![0];

describe('plan encoding', () => {
  it('writes the magic, then u32 opcode, u32 size and the fields little-endian', () => {
    const w = new PlanWriter().op(Op.SETNS, u32(0x20000000), str('/proc/1/ns/pid')).op(Op.CLONE, u64(2n ** 40n), strv(['a', 'bc']));
    const b = w.finish();
    assert.equal(b.subarray(0, 4).toString(), PLAN_MAGIC);
    assert.equal(b.readUInt32LE(4), Op.SETNS);
    assert.equal(b.readUInt32LE(8), 4 + 4 + 14 + 1);
    assert.equal(b.readUInt32LE(12), 0x20000000);
    assert.equal(b.readUInt32LE(16), 14);
    assert.equal(b.subarray(20, 34).toString(), '/proc/1/ns/pid');
    assert.equal(b[34], 0);
    const second = 35;
    assert.equal(b.readUInt32LE(second), Op.CLONE);
    assert.equal(b.readBigUInt64LE(second + 8), 2n ** 40n);
    assert.equal(b.readUInt32LE(second + 16), 2);
  });
  it('refuses strings with NUL bytes', () => {
    assert.throws(() => new PlanWriter().op(Op.MKDIR, str('a\0b')), /NUL/);
  });
});

describe('create plan', () => {
  const input = {
    bundle: '/b', rootfs: '/b/rootfs', fifoPath: '/run/x/exec.fifo', cgroupProcs: ['/sys/fs/cgroup/pids/c/cgroup.procs'],
    cgroupMounts: [{ name: 'pids', hostDir: '/sys/fs/cgroup/pids/c' }], noPivot: false, preserveFds: 0, wait: false, hostCaps: (1n << 41n) - 1n,
  };

  it('joins the cgroup, clones, sets up the rootfs, pivots, then drops privileges, waits for start and execs', () => {
    const spec = defaultSpec();
    spec.process!.terminal = false;
    const trace = buildCreatePlan({ ...input, spec }).trace.map(opName);
    const at = (name: string) => trace.indexOf(name);
    assert.deepEqual(trace.slice(0, 3), ['OPEN_FIFO', 'JOIN_CGROUP', 'CLONE']);
    for (const [before, after] of [
      ['CLONE', 'SET_ROOT'], ['SET_ROOT', 'MKNOD'], ['MKNOD', 'PIVOT_ROOT'], ['PIVOT_ROOT', 'READONLY'], ['PIVOT_ROOT', 'MASK'],
      ['RESOLVE_EXEC', 'SET_USER'], ['NO_NEW_PRIVS', 'DROP_BOUNDING'], ['DROP_BOUNDING', 'SET_USER'], ['SET_USER', 'SET_CAPS'],
      ['CHDIR', 'REPORT_READY'], ['REPORT_READY', 'WAIT_START'], ['WAIT_START', 'EXEC'],
    ]) assert.ok(at(before!) >= 0 && at(before!) < at(after!), `${before} before ${after}: ${trace.join(' ')}`);
    assert.equal(trace.at(-1), 'EXEC');
    assert.ok(!trace.includes('SYNC_HOOKS'), 'no hook point without hooks');
    assert.ok(!trace.includes('CONSOLE_SETUP'));
  });

  it('has the init look up HOME in the container\'s passwd, before it becomes the user, only when the environment has none', () => {
    const spec = defaultSpec();
    spec.process!.terminal = false;
    spec.process!.env = ['PATH=/bin'];
    const trace = buildCreatePlan({ ...input, spec }).trace.map(opName);
    assert.ok(trace.indexOf('PIVOT_ROOT') < trace.indexOf('HOME_FROM_PASSWD') && trace.indexOf('HOME_FROM_PASSWD') < trace.indexOf('SET_USER'), trace.join(' '));
    spec.process!.env = ['PATH=/bin', 'HOME=/given'];
    assert.ok(!buildCreatePlan({ ...input, spec }).trace.map(opName).includes('HOME_FROM_PASSWD'));
  });

  it('uses the console socket for a terminal and stops at the hook point when there are hooks', () => {
    const spec = defaultSpec();
    spec.hooks = { createRuntime: [{ path: '/bin/true' }] };
    const trace = buildCreatePlan({ ...input, spec, consoleSocket: '/tmp/c.sock' }).trace.map(opName);
    assert.ok(trace.indexOf('CONSOLE_CONNECT') < trace.indexOf('CLONE'), 'connect as the host root, while the host path is reachable');
    assert.ok(trace.indexOf('PIVOT_ROOT') < trace.indexOf('CONSOLE_SETUP'), 'the pty comes from the container devpts');
    assert.ok(trace.indexOf('SYNC_HOOKS') < trace.indexOf('PIVOT_ROOT'));
  });

  it('refuses a terminal without a console socket, and a spec without a mount namespace', () => {
    assert.throws(() => buildCreatePlan({ ...input, spec: defaultSpec() }), /process\.terminal: a terminal needs --console-socket/);
    const spec = defaultSpec();
    spec.process!.terminal = false;
    spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== 'mount');
    assert.throws(() => buildCreatePlan({ ...input, spec }), /needs a mount namespace/);
  });

  it('loads seccomp before dropping capabilities only when no_new_privs is off', () => {
    const seccomp = { program: Buffer.alloc(8), flags: 0, usesNotify: false };
    const spec = defaultSpec();
    spec.process!.terminal = false;
    let trace = buildCreatePlan({ ...input, spec, seccomp }).trace.map(opName);
    assert.ok(trace.indexOf('SECCOMP') > trace.indexOf('WAIT_START'), 'as late as possible with no_new_privs');
    spec.process!.noNewPrivileges = false;
    trace = buildCreatePlan({ ...input, spec, seccomp }).trace.map(opName);
    assert.ok(trace.indexOf('SECCOMP') < trace.indexOf('DROP_BOUNDING'), 'while CAP_SYS_ADMIN is still held');
  });
});

describe('exec plan', () => {
  it('joins every namespace of the container through /proc, user first and mount last', () => {
    const spec = defaultSpec();
    const w = buildExecPlan({
      containerPid: 42, namespaces: [...spec.linux!.namespaces!, { type: 'user' }], cgroupProcs: ['/cg/cgroup.procs'],
      process: { ...spec.process!, terminal: false }, preserveFds: 0, wait: true, hostCaps: 0n,
    });
    const trace = w.trace.map(opName);
    assert.deepEqual(trace.slice(0, 8), ['JOIN_CGROUP', 'SETNS', 'SETNS', 'SETNS', 'SETNS', 'SETNS', 'SETNS', 'CLONE']);
    const text = w.finish().toString('latin1');
    assert.ok(text.indexOf('/proc/42/ns/user') < text.indexOf('/proc/42/ns/pid'));
    assert.ok(text.indexOf('/proc/42/ns/pid') < text.indexOf('/proc/42/ns/mnt'));
  });
});
