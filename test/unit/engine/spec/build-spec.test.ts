// buildSpec as a whole: process, mounts, namespaces per mode, resources, privileged, and the
// errors it raises, on a small temp rootfs. Every spec it returns must pass the runtime's checks.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSpec, type BuildSpecOptions } from '../../../../src/engine/containers/spec/build-spec.js';
import { DEFAULT_CAPABILITIES, defaultMaskedPaths } from '../../../../src/runtime/spec/container-defaults.js';
import { INIT_PATH, withCreateDefaults } from '../../../../src/engine/containers/spec/defaults.js';
import type { ContainerConfig, HostConfig, SpecInputs } from '../../../../src/engine/containers/api-types.js';
import { CAPABILITIES } from '../../../../src/runtime/spec/capabilities.js';
import { validateSpec } from '../../../../src/runtime/spec/validate.js';
import type { Mount, Spec } from '../../../../src/runtime/spec/types.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-spec-unit-'));
const rootfs = join(dir, 'rootfs');
mkdirSync(join(rootfs, 'etc'), { recursive: true });
writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\napp:x:1000:1000::/home/app:/bin/sh\n');
writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\nwheel:x:10:root\nnogroup:x:65534:\napp:x:1000:\n');

const HOST_CAPS = CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE');
const inputs = (extra: Partial<SpecInputs> = {}): SpecInputs => ({ rootfs, cgroupsPath: '/berth/abc', hostCapabilities: HOST_CAPS, cgroupVersion: 1, ...extra });
const OPTS: BuildSpecOptions = { arch: 'x64', kernelRelease: '6.1.0', cpus: 4, hostDevices: () => [{ type: 'c', path: '/dev/kmsg', major: 1, minor: 11, fileMode: 0o644, uid: 0, gid: 0 }] };
const build = (c: ContainerConfig = {}, h: HostConfig = {}, i: Partial<SpecInputs> = {}): Spec => {
  const spec = buildSpec({ Cmd: ['sh'], Hostname: 'c0ffee', ...c }, h, inputs(i), OPTS);
  validateSpec(spec);
  return spec;
};
const mount = (s: Spec, dest: string): Mount | undefined => s.mounts!.find((m) => m.destination === dest);
const nsTypes = (s: Spec) => s.linux!.namespaces!.map((n) => (n.path ? `${n.type}=${n.path}` : n.type));

describe('buildSpec', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('builds Docker\'s default container', () => {
    const s = build({ Entrypoint: ['/entry'], Cmd: ['a', 'b'], Env: ['X=1'] });
    assert.deepEqual(s.process!.args, ['/entry', 'a', 'b']);
    assert.deepEqual(s.process!.env, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=c0ffee', 'X=1']);
    assert.equal(s.process!.cwd, '/');
    assert.equal(s.process!.terminal, false);
    assert.deepEqual(s.process!.user, { uid: 0, gid: 0, additionalGids: [0, 10] });
    assert.deepEqual(s.process!.capabilities, { bounding: [...DEFAULT_CAPABILITIES], effective: [...DEFAULT_CAPABILITIES], permitted: [...DEFAULT_CAPABILITIES] });
    assert.equal(s.process!.oomScoreAdj, 0);
    assert.equal(s.process!.noNewPrivileges, undefined);
    assert.equal(s.process!.rlimits, undefined);
    assert.deepEqual(s.root, { path: rootfs });
    assert.equal(s.hostname, 'c0ffee');
    assert.deepEqual(s.mounts!.map((m) => m.destination), ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm']);
    assert.deepEqual(mount(s, '/dev/shm')!.options, ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864']);
    assert.deepEqual(nsTypes(s), ['mount', 'network', 'uts', 'pid', 'ipc']);
    assert.deepEqual(s.linux!.devices, []);
    assert.equal(s.linux!.resources!.devices!.length, 8);
    assert.equal(s.linux!.cgroupsPath, '/berth/abc');
    assert.deepEqual(s.linux!.sysctl, { 'net.ipv4.ping_group_range': '0 2147483647', 'net.ipv4.ip_unprivileged_port_start': '0' });
    assert.equal(s.linux!.seccomp!.defaultAction, 'SCMP_ACT_ERRNO');
    assert.deepEqual(s.linux!.maskedPaths, defaultMaskedPaths());
    assert.ok(s.linux!.maskedPaths!.includes('/proc/kcore'));
    assert.deepEqual(s.linux!.readonlyPaths, ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
  });

  it('needs a command', () => {
    assert.throws(() => build({ Cmd: [], Entrypoint: null }), { code: 'INVALID_ARGUMENT', message: 'Config.Cmd: no command specified' });
  });

  it('tty: terminal, TERM=xterm, console size', () => {
    const s = build({ Tty: true }, { ConsoleSize: [24, 80] });
    assert.equal(s.process!.terminal, true);
    assert.ok(s.process!.env!.includes('TERM=xterm'));
    assert.deepEqual(s.process!.consoleSize, { height: 24, width: 80 });
  });

  it('working directory: absolute only', () => {
    assert.equal(build({ WorkingDir: '/srv/app' }).process!.cwd, '/srv/app');
    assert.throws(() => build({ WorkingDir: 'app' }), /Config\.WorkingDir: the working directory 'app' is invalid, it needs to be an absolute path/);
  });

  it('a non-root user gets only the bounding set', () => {
    const s = build({ User: 'app' }, { CapAdd: ['NET_ADMIN'], GroupAdd: ['wheel'] });
    assert.deepEqual(s.process!.user, { uid: 1000, gid: 1000, additionalGids: [1000, 10] });
    assert.deepEqual(s.process!.capabilities, { bounding: [...DEFAULT_CAPABILITIES, 'CAP_NET_ADMIN'] });
    assert.throws(() => build({ User: 'ghost' }), /unable to find user ghost: no matching entries in passwd file/);
  });

  it('the seccomp profile follows the capabilities', () => {
    const names = (s: Spec) => s.linux!.seccomp!.syscalls!.flatMap((r) => r.names);
    assert.ok(!names(build()).includes('mount'));
    assert.ok(names(build({}, { CapAdd: ['SYS_ADMIN'] })).includes('mount'));
    assert.ok(!names(build({}, { CapDrop: ['SYS_CHROOT'] })).includes('chroot'));
    assert.equal(build({}, { SecurityOpt: ['seccomp=unconfined'] }).linux!.seccomp, undefined);
  });

  it('no-new-privileges, apparmor and label options', () => {
    const s = build({}, { SecurityOpt: ['no-new-privileges:true', 'apparmor=docker-default', 'label=disable'] });
    assert.equal(s.process!.noNewPrivileges, true);
    assert.equal(s.process!.apparmorProfile, undefined);
    assert.throws(() => build({}, { SecurityOpt: ['bogus=1'] }), /HostConfig\.SecurityOpt\[0\]: invalid --security-opt 2/);
  });

  it('privileged: host capabilities and devices, no seccomp, no masked paths, /sys and cgroups writable', () => {
    const s = build({}, { Privileged: true, CapDrop: ['ALL'] });
    assert.deepEqual(s.process!.capabilities!.bounding, HOST_CAPS);
    assert.equal(s.linux!.seccomp, undefined);
    assert.equal(s.linux!.maskedPaths, undefined);
    assert.equal(s.linux!.readonlyPaths, undefined);
    assert.ok(!mount(s, '/sys')!.options!.includes('ro'));
    assert.ok(!mount(s, '/sys/fs/cgroup')!.options!.includes('ro'));
    assert.deepEqual(s.linux!.devices, OPTS.hostDevices!());
    assert.deepEqual(s.linux!.resources!.devices, [{ allow: true, access: 'rwm' }]);
  });

  it('MaskedPaths and ReadonlyPaths replace the defaults, even empty (systempaths=unconfined)', () => {
    const s = build({}, { MaskedPaths: ['/proc/x'], ReadonlyPaths: [] });
    assert.deepEqual(s.linux!.maskedPaths, ['/proc/x']);
    assert.equal(s.linux!.readonlyPaths, undefined);
    assert.deepEqual(build({}, { Privileged: true, MaskedPaths: ['/proc/y'] }).linux!.maskedPaths, ['/proc/y']);
  });

  it('read-only root: / and Docker\'s own mounts ro, scratch mounts and the user\'s untouched', () => {
    const s = build({}, { ReadonlyRootfs: true, Tmpfs: { '/run': '' } }, { mounts: [{ destination: '/data', type: 'bind', source: '/srv', options: ['rbind', 'rprivate'] }], etcFiles: { hosts: '/h' } });
    assert.deepEqual(s.root, { path: rootfs, readonly: true });
    for (const d of ['/proc', '/dev', '/dev/pts', '/dev/mqueue', '/dev/shm', '/run', '/data']) assert.ok(!mount(s, d)!.options!.includes('ro'), d);
    assert.ok(mount(s, '/sys')!.options!.includes('ro'));
    assert.deepEqual(mount(s, '/etc/hosts')!.options, ['rbind', 'ro', 'rprivate']);
  });

  it('user mounts come after the defaults, parents before children (engine, /etc, tmpfs at one depth); a user mount replaces a default', () => {
    const s = build({}, { Tmpfs: { '/dev/shm': 'size=1m', '/a/b': '' } }, {
      mounts: [
        { destination: '/a/b/c', type: 'bind', source: '/x', options: ['rbind'] },
        { destination: '/a', type: 'bind', source: '/y', options: ['rbind'] },
      ],
      etcFiles: { hosts: '/h', resolvConf: '/r', hostname: '/n' },
    });
    const dests = s.mounts!.map((m) => m.destination);
    assert.deepEqual(dests, ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/a', '/etc/resolv.conf', '/etc/hostname', '/etc/hosts', '/a/b', '/dev/shm', '/a/b/c']);
    assert.deepEqual(mount(s, '/dev/shm')!.options, ['noexec', 'nosuid', 'nodev', 'rprivate', 'size=1m']);
  });

  it('a user /dev replaces everything under /dev; a user /etc/hosts replaces the engine\'s', () => {
    const s = build({}, {}, { mounts: [{ destination: '/dev', type: 'bind', source: '/dev', options: ['rbind'] }, { destination: '/etc/hosts', type: 'bind', source: '/mine', options: ['rbind'] }], etcFiles: { hosts: '/engine' } });
    assert.deepEqual(s.mounts!.map((m) => m.destination), ['/proc', '/sys', '/sys/fs/cgroup', '/dev', '/etc/hosts']);
    assert.equal(mount(s, '/etc/hosts')!.source, '/mine');
  });

  it('refuses two mounts at one place', () => {
    assert.throws(() => build({}, { Tmpfs: { '/data': '' } }, { mounts: [{ destination: '/data/', type: 'bind', source: '/x', options: [] }] }), /HostConfig: Duplicate mount point: \/data/);
  });

  it('--shm-size and --ipc modes', () => {
    assert.ok(mount(build({}, { ShmSize: 1 << 20 }), '/dev/shm')!.options!.includes('size=1048576'));
    assert.throws(() => build({}, { ShmSize: -1 }), /HostConfig\.ShmSize: SHM size can not be less than 0/);
    const none = build({}, { IpcMode: 'none' });
    assert.equal(mount(none, '/dev/shm'), undefined);
    assert.ok(nsTypes(none).includes('ipc'));
    const host = build({}, { IpcMode: 'host' });
    assert.ok(!nsTypes(host).includes('ipc'));
    assert.deepEqual(mount(host, '/dev/shm'), { destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] });
    const joined = build({}, { IpcMode: 'container:other' }, { joinNamespaces: { ipc: '/proc/42/ns/ipc' }, shmPath: '/proc/42/root/dev/shm' });
    assert.ok(nsTypes(joined).includes('ipc=/proc/42/ns/ipc'));
    assert.equal(mount(joined, '/dev/shm')!.source, '/proc/42/root/dev/shm');
    assert.equal(mount(build({}, { IpcMode: 'shareable' }, { shmPath: '/var/lib/berth/c/shm' }), '/dev/shm')!.source, '/var/lib/berth/c/shm');
    assert.throws(() => build({}, { IpcMode: 'container:other' }), /HostConfig\.IpcMode: "container:other" needs the ipc namespace of container other/);
    assert.throws(() => build({}, { IpcMode: 'weird' }), /HostConfig\.IpcMode: invalid IPC mode: weird/);
  });

  it('namespaces per mode', () => {
    assert.deepEqual(nsTypes(build({}, { NetworkMode: 'host', PidMode: 'host', UTSMode: 'host' })), ['mount', 'ipc']);
    assert.equal(build({}, { UTSMode: 'host' }).hostname, undefined);
    assert.deepEqual(nsTypes(build({}, { NetworkMode: 'bridge' }, { netnsPath: '/run/berth/netns/abc' })).slice(0, 2), ['mount', 'network=/run/berth/netns/abc']);
    assert.deepEqual(nsTypes(build({}, { NetworkMode: 'none' })).slice(0, 2), ['mount', 'network']);
    assert.deepEqual(
      nsTypes(build({}, { NetworkMode: 'container:db', PidMode: 'container:db' }, { joinNamespaces: { network: '/proc/7/ns/net', pid: '/proc/7/ns/pid' } })),
      ['mount', 'network=/proc/7/ns/net', 'uts', 'pid=/proc/7/ns/pid', 'ipc'],
    );
    assert.ok(nsTypes(build({}, { CgroupnsMode: 'private' })).includes('cgroup'));
    assert.ok(!nsTypes(build({}, {})).includes('cgroup'), 'cgroup v1: the host\'s cgroup namespace');
    assert.ok(nsTypes(build({}, {}, { cgroupVersion: 2 })).includes('cgroup'), 'cgroup v2: a private one');
    assert.ok(!nsTypes(build({}, { Privileged: true })).includes('user'));
    assert.throws(() => build({}, { PidMode: 'sideways' }), /HostConfig\.PidMode: invalid PID mode: sideways/);
    assert.throws(() => build({}, { UTSMode: 'private' }), /HostConfig\.UTSMode: invalid UTS mode: private/);
    assert.throws(() => build({}, { CgroupnsMode: 'shared' as never }), /invalid cgroup namespace mode: shared/);
    assert.throws(() => build({}, { UsernsMode: 'remap' }), /HostConfig\.UsernsMode: invalid USER mode: remap/);
    assert.throws(() => build({ Domainname: 'example.com' }, { UTSMode: 'host' }), /Config\.Domainname: cannot set a domain name with --uts=host/);
    assert.equal(build({ Domainname: 'example.com' }).domainname, 'example.com');
  });

  it('--init: the init binary mounted at Docker\'s path and run first, in a private pid namespace only', () => {
    const s = build({ Cmd: ['top'] }, { Init: true }, { initBinary: '/usr/bin/docker-init' });
    assert.deepEqual(s.process!.args, [INIT_PATH, '--', 'top']);
    assert.deepEqual(mount(s, INIT_PATH), { destination: INIT_PATH, type: 'bind', source: '/usr/bin/docker-init', options: ['bind', 'ro'] });
    assert.ok(s.mounts!.indexOf(mount(s, INIT_PATH)!) === 7, 'after the defaults, before the user\'s');
    const host = build({ Cmd: ['top'] }, { Init: true, PidMode: 'host' }, { initBinary: '/usr/bin/docker-init' });
    assert.deepEqual(host.process!.args, ['top']);
    assert.throws(() => build({}, { Init: true }), /HostConfig\.Init: --init needs an init binary/);
  });

  it('resources', () => {
    const s = build({}, {
      Memory: 64 << 20, MemoryReservation: 32 << 20, MemorySwappiness: 10, OomKillDisable: true, NanoCpus: 1_500_000_000,
      CpuShares: 512, CpusetCpus: '0-1', CpusetMems: '0', PidsLimit: 100, BlkioWeight: 300,
    });
    assert.deepEqual(s.linux!.resources!.memory, { limit: 64 << 20, reservation: 32 << 20, swap: 128 << 20, swappiness: 10, disableOOMKiller: true });
    assert.deepEqual(s.linux!.resources!.cpu, { shares: 512, cpus: '0-1', mems: '0', period: 100000, quota: 150000 });
    assert.deepEqual(s.linux!.resources!.pids, { limit: 100 });
    assert.deepEqual(s.linux!.resources!.blockIO, { weight: 300 });
    assert.deepEqual(build({}, { Memory: 64 << 20, MemorySwap: -1 }).linux!.resources!.memory, { limit: 64 << 20 });
    assert.deepEqual(build({}, { CpuPeriod: 50000, CpuQuota: 25000 }).linux!.resources!.cpu, { period: 50000, quota: 25000 });
    assert.deepEqual(build({}, { PidsLimit: 0 }).linux!.resources!.pids, { limit: -1 });
    assert.deepEqual(build({}, { PidsLimit: -1 }).linux!.resources!.pids, { limit: -1 });
    const none = build().linux!.resources!;
    assert.equal(none.memory ?? none.cpu ?? none.pids ?? none.blockIO, undefined);
  });

  it('refuses resource settings Docker refuses', () => {
    const cases: Array<[HostConfig, RegExp]> = [
      [{ Memory: 1024 }, /HostConfig\.Memory: Minimum memory limit allowed is 6MB/],
      [{ Memory: 64 << 20, MemorySwap: 32 << 20 }, /Minimum memoryswap limit should be larger than memory limit/],
      [{ MemorySwap: 64 << 20 }, /You should always set the Memory limit when using Memoryswap limit/],
      [{ MemorySwappiness: 101 }, /Invalid value: 101, valid memory swappiness range is 0-100/],
      [{ Memory: 8 << 20, MemoryReservation: 16 << 20 }, /Minimum memory limit can not be less than memory reservation limit/],
      [{ NanoCpus: 1e9, CpuQuota: 5000 }, /Conflicting options: Nano CPUs and CPU Quota cannot both be set/],
      [{ NanoCpus: 1e9, CpuPeriod: 5000 }, /Conflicting options: Nano CPUs and CPU Period cannot both be set/],
      [{ NanoCpus: 5e9 }, /Range of CPUs is from 0\.01 to 4\.00, as there are only 4 CPUs available/],
      [{ CpuPeriod: 500 }, /CPU cfs period can not be less than 1ms/],
      [{ CpuQuota: 500 }, /CPU cfs quota can not be less than 1ms/],
      [{ BlkioWeight: 5 }, /Range of blkio weight is from 10 to 1000/],
      [{ CpusetCpus: 'all' }, /Invalid value all for cpuset cpus/],
      [{ OomScoreAdj: 1001 }, /range for oom score adj is \[-1000, 1000\]/],
      [{ Memory: '1g' as never }, /HostConfig\.Memory: "1g" is not an integer/],
    ];
    for (const [h, message] of cases) assert.throws(() => build({}, h), { code: 'INVALID_ARGUMENT', message }, JSON.stringify(h));
  });

  it('ulimits, oom score, sysctls and devices reach the spec', () => {
    const s = build({}, {
      Ulimits: [{ Name: 'nofile', Soft: 512, Hard: 1024 }], OomScoreAdj: 500, Sysctls: { 'net.core.somaxconn': '1024' },
      Devices: [{ PathOnHost: '/dev/null', PathInContainer: '/dev/xnull', CgroupPermissions: 'rw' }], DeviceCgroupRules: ['c 42:* rmw'],
    }, { defaultUlimits: [{ Name: 'nproc', Soft: 100, Hard: 100 }] });
    assert.deepEqual(s.process!.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 512, hard: 1024 }, { type: 'RLIMIT_NPROC', soft: 100, hard: 100 }]);
    assert.equal(s.process!.oomScoreAdj, 500);
    assert.equal(s.linux!.sysctl!['net.core.somaxconn'], '1024');
    assert.deepEqual(s.linux!.devices!.map((d) => d.path), ['/dev/xnull']);
    assert.deepEqual(s.linux!.resources!.devices!.slice(-2), [{ allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }, { allow: true, type: 'c', major: 42, minor: -1, access: 'rmw' }]);
    assert.throws(() => build({}, { NetworkMode: 'host', Sysctls: { 'net.ipv4.ip_forward': '1' } }), /not allowed with --network=host/);
  });

  it('the create-time defaults are idempotent and leave the request alone', () => {
    const h: HostConfig = { Memory: 64 << 20 };
    const once = withCreateDefaults(h, 2);
    assert.deepEqual(withCreateDefaults(once, 2), once);
    assert.deepEqual(h, { Memory: 64 << 20 });
    assert.equal(once.MemorySwap, 128 << 20);
    assert.equal(once.CgroupnsMode, 'private');
    assert.equal(withCreateDefaults({ Privileged: true }, 1).MaskedPaths, undefined);
  });
});
