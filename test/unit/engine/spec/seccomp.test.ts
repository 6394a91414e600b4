// The default seccomp profile and custom profiles: which rules a container gets for its
// capabilities and architecture, and what the compiled filter answers, run in a BPF interpreter.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { containerSeccomp } from '../../../../src/engine/containers/spec/seccomp/select.js';
import { CLONE_NAMESPACE_FLAGS, defaultSeccompProfile } from '../../../../src/runtime/seccomp/default-profile.js';
import { parseKernelVersion, toOciSeccomp } from '../../../../src/runtime/seccomp/docker-profile.js';
import { DEFAULT_CAPABILITIES } from '../../../../src/runtime/spec/container-defaults.js';
import { compileSeccomp } from '../../../../src/runtime/seccomp/compile.js';
import { I386, X86_64 } from '../../../../src/runtime/seccomp/syscall-table.js';
import { CAPABILITIES } from '../../../../src/runtime/spec/capabilities.js';
import type { Seccomp } from '../../../../src/runtime/spec/types.js';
import { runFilter } from '../../runtime/seccomp/bpf-interpreter.js';

const AMD64 = 0xc000003e;
const I386_ARCH = 0x40000003;
const ALLOW = 0x7fff0000;
const errno = (e: number) => (0x00050000 | e) >>> 0;
const EPERM = errno(1);
const ENOSYS = errno(38);

const profileFor = (bounding: readonly string[], kernelRelease = '6.1.0') => containerSeccomp({ privileged: false, bounding, arch: 'x64', kernelRelease })!;
const runner = (p: Seccomp) => {
  const program = compileSeccomp(p).program;
  return (name: string, args: Array<number | bigint> = [], arch = AMD64, table = X86_64) => {
    assert.ok(table[name] !== undefined, `${name} in the syscall table`);
    return runFilter(program, { nr: table[name]!, arch, args: args.map((a) => BigInt(a)) });
  };
};

describe('default seccomp profile', () => {
  const profile = profileFor(DEFAULT_CAPABILITIES);
  const run = runner(profile);

  it('denies by default with EPERM, for x86_64 with the x86 and x32 sub-architectures', () => {
    assert.equal(profile.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(profile.defaultErrnoRet, 1);
    assert.deepEqual(profile.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  });

  it('allows the ordinary syscalls, on x86_64 and i386', () => {
    for (const name of ['read', 'write', 'openat', 'execve', 'clone', 'getrandom', 'arch_prctl', 'chroot', 'epoll_pwait2']) assert.equal(run(name), ALLOW, name);
    assert.equal(run('socketcall', [], I386_ARCH, I386), ALLOW);
    assert.equal(run('modify_ldt', [], I386_ARCH, I386), ALLOW);
  });

  it('denies what needs a capability the container lacks', () => {
    for (const name of ['mount', 'umount2', 'unshare', 'setns', 'sethostname', 'bpf', 'reboot', 'init_module', 'kexec_load', 'open_by_handle_at', 'settimeofday', 'acct', 'syslog', 'iopl', 'vhangup', 'keyctl', 'add_key', 'io_uring_setup']) {
      assert.equal(run(name), EPERM, name);
    }
  });

  it('lets clone through only without namespace flags, and answers clone3 with ENOSYS', () => {
    assert.equal(run('clone', [0x11]), ALLOW); // SIGCHLD | ...: fork
    assert.equal(run('clone', [0x10000000 | 0x11]), EPERM); // CLONE_NEWUSER
    assert.equal(run('clone', [CLONE_NAMESPACE_FLAGS]), EPERM);
    assert.equal(run('clone3'), ENOSYS);
  });

  it('allows personality only for Docker\'s domains, and socket for all families but AF_ALG and AF_VSOCK', () => {
    assert.equal(run('personality', [0]), ALLOW);
    assert.equal(run('personality', [0xffffffff]), ALLOW);
    assert.equal(run('personality', [0x0040000]), EPERM); // ADDR_NO_RANDOMIZE
    assert.equal(run('socket', [2]), ALLOW); // AF_INET
    assert.equal(run('socket', [39]), ALLOW);
    assert.equal(run('socket', [41]), ALLOW);
    assert.equal(run('socket', [38]), EPERM); // AF_ALG
    assert.equal(run('socket', [40]), EPERM); // AF_VSOCK
  });

  it('allows ptrace from kernel 4.8 on', () => {
    assert.equal(run('ptrace'), ALLOW);
    assert.equal(runner(profileFor(DEFAULT_CAPABILITIES, '4.4.0-210-generic'))('ptrace'), EPERM);
  });

  it('capabilities unlock their syscalls', () => {
    const admin = runner(profileFor([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN', 'CAP_SYS_TIME', 'CAP_SYS_MODULE']));
    assert.equal(admin('mount'), ALLOW);
    assert.equal(admin('unshare'), ALLOW);
    assert.equal(admin('clone', [0x10000000]), ALLOW);
    assert.equal(admin('clone3'), ALLOW);
    assert.equal(admin('settimeofday'), ALLOW);
    assert.equal(admin('init_module'), ALLOW);
    assert.equal(admin('reboot'), EPERM);
    const noChroot = runner(profileFor(DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_SYS_CHROOT')));
    assert.equal(noChroot('chroot'), EPERM);
  });

  it('every syscall the profile allows is known to the runtime\'s syscall table', () => {
    const unknown = profile.syscalls!.filter((s) => s.action === 'SCMP_ACT_ALLOW' && !s.args).flatMap((s) => s.names).filter((n) => X86_64[n] === undefined && I386[n] === undefined);
    // Not syscalls on x86 at all (other architectures' names in the shared list).
    const notOnX86 = new Set(['recv', 'send', 'riscv_hwprobe']);
    assert.deepEqual(unknown.filter((n) => !notOnX86.has(n)), []);
  });

  it('compiles within the kernel\'s limit even with every capability', () => {
    const all = profileFor(CAPABILITIES);
    assert.ok(compileSeccomp(all).program.length / 8 < 4096);
  });

  it('drops rules for other architectures', () => {
    const names = profile.syscalls!.flatMap((s) => s.names);
    assert.ok(!names.includes('s390_runtime_instr') && !names.includes('set_tls') && !names.includes('riscv_flush_icache'));
    const arm = containerSeccomp({ privileged: false, bounding: DEFAULT_CAPABILITIES, arch: 'arm64', kernelRelease: '6.1' })!;
    assert.deepEqual(arm.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    assert.ok(arm.syscalls!.some((s) => s.names.includes('set_tls')));
    assert.ok(!arm.syscalls!.some((s) => s.names.includes('arch_prctl')));
  });
});

describe('seccomp choice', () => {
  const base = { bounding: DEFAULT_CAPABILITIES, arch: 'x64', kernelRelease: '6.1' };

  it('unconfined and privileged run without seccomp; builtin is the default', () => {
    assert.equal(containerSeccomp({ ...base, privileged: false, option: 'unconfined' }), undefined);
    assert.equal(containerSeccomp({ ...base, privileged: true }), undefined);
    assert.deepEqual(containerSeccomp({ ...base, privileged: false, option: 'builtin' }), containerSeccomp({ ...base, privileged: false }));
  });

  it('takes a custom profile in Docker\'s format, even for a privileged container', () => {
    const json = JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] }],
      syscalls: [
        { name: 'mkdir', action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
        { names: ['chmod'], action: 'SCMP_ACT_ERRNO', includes: { caps: ['CAP_SYS_ADMIN'] } },
        { names: ['chown'], action: 'SCMP_ACT_ERRNO', excludes: { minKernel: '5.0' } },
      ],
    });
    const p = containerSeccomp({ ...base, privileged: true, option: json })!;
    assert.deepEqual(p, { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'], syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] });
    assert.equal(runner(p)('mkdir'), errno(13));
  });

  it('a profile with no default action and no rules means no seccomp', () => {
    assert.equal(containerSeccomp({ ...base, privileged: false, option: '{}' }), undefined);
  });

  it('refuses bad profiles with clear errors', () => {
    const bad = (option: string) => () => containerSeccomp({ ...base, privileged: false, option });
    assert.throws(bad('{not json'), /^BerthError: HostConfig\.SecurityOpt seccomp: Decoding seccomp profile failed: /);
    assert.throws(bad('/etc/profile.json'), /is not a profile: give "unconfined" or the profile's JSON/);
    assert.throws(bad('{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"archMap":[{"architecture":"SCMP_ARCH_X86_64"}]}'), /both 'architectures' and 'archMap'/);
    assert.throws(bad('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"a","names":["b"],"action":"SCMP_ACT_ALLOW"}]}'), /both 'name' and 'names'/);
    assert.throws(bad('{"defaultAction":"SCMP_ACT_SOMETIMES"}'), { code: 'INVALID_ARGUMENT', message: /unsupported seccomp action "SCMP_ACT_SOMETIMES"/ });
    assert.throws(bad('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["x"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"4"}}]}'), /invalid kernel version: "4"/);
  });

  it('reads kernel releases the way Docker does', () => {
    assert.deepEqual(parseKernelVersion('6.18.44-fc-v669'), { major: 6, minor: 18 });
    assert.deepEqual(parseKernelVersion('3.12-1-amd64'), { major: 3, minor: 12 });
  });

  it('the default profile in Docker\'s format converts like any other', () => {
    const p = toOciSeccomp(defaultSeccompProfile(), { arch: 'amd64', bounding: [], kernel: { major: 6, minor: 0 } })!;
    // Without CAP_SYS_CHROOT and the rest, only unconditional, argument and no-CAP_SYS_ADMIN rules remain.
    assert.ok(!p.syscalls!.some((s) => s.names.includes('chroot')));
    assert.ok(p.syscalls!.some((s) => s.names.includes('clone3') && s.errnoRet === 38));
  });
});
