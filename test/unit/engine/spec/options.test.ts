// The small parsers: environment, ulimits, tmpfs options, security options, sysctls, device
// cgroup rules and device mappings.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { containerEnv, replaceOrAppendEnv } from '../../../../src/engine/containers/spec/env.js';
import { rlimitsFrom } from '../../../../src/engine/containers/spec/ulimits.js';
import { mergeTmpfsOptions, tmpfsMount, tmpfsMountFromSpec, tmpfsMounts } from '../../../../src/engine/containers/spec/tmpfs.js';
import { parseSecurityOpts } from '../../../../src/engine/containers/spec/security-opts.js';
import { buildSysctls } from '../../../../src/engine/containers/spec/sysctls.js';
import { buildDevices, mappedDevices, parseDeviceCgroupRule } from '../../../../src/engine/containers/spec/devices.js';
import { hostDevices } from '../../../../src/runtime/spec/host-devices.js';

describe('environment', () => {
  it('puts PATH, HOSTNAME and TERM first; Env replaces in place, appends, or unsets', () => {
    assert.deepEqual(containerEnv({ env: ['FOO=1', 'PATH=/bin', 'TERM', 'HOSTNAME=x'], hostname: 'abc', tty: true }), ['PATH=/bin', 'HOSTNAME=x', 'FOO=1']);
    assert.deepEqual(containerEnv({ hostname: 'abc' }), ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=abc']);
    assert.deepEqual(containerEnv({ tty: true, linkedEnv: ['DB_PORT=tcp://x'] }).slice(1), ['HOSTNAME=', 'TERM=xterm', 'DB_PORT=tcp://x']);
  });

  it('keeps "=" inside values, and an unset of a non-default is dropped', () => {
    assert.deepEqual(replaceOrAppendEnv(['A=1'], ['B=x=y', 'C', 'A=2=3']), ['A=2=3', 'B=x=y']);
  });
});

describe('ulimits', () => {
  it('maps names to RLIMIT_*, keeps -1 as unlimited, and lets the container override daemon defaults', () => {
    assert.deepEqual(rlimitsFrom([{ Name: 'nofile', Soft: 1024, Hard: 2048 }, { Name: 'CORE', Soft: -1, Hard: -1 }], [{ Name: 'nofile', Soft: 1, Hard: 1 }, { Name: 'nproc', Soft: 50, Hard: 60 }]), [
      { type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 },
      { type: 'RLIMIT_CORE', soft: -1, hard: -1 },
      { type: 'RLIMIT_NPROC', soft: 50, hard: 60 },
    ]);
    assert.deepEqual(rlimitsFrom(null), []);
  });

  it('refuses unknown names and soft above hard', () => {
    assert.throws(() => rlimitsFrom([{ Name: 'files', Soft: 1, Hard: 1 }]), { message: 'HostConfig.Ulimits[0]: invalid ulimit type: files' });
    assert.throws(() => rlimitsFrom([{ Name: 'nofile', Soft: 10, Hard: 5 }]), /ulimit soft limit must be less than or equal to hard limit: 10 > 5/);
    assert.throws(() => rlimitsFrom([{ Name: 'nofile', Soft: -1, Hard: 5 }]), /soft limit must be less than or equal to hard limit/);
    assert.throws(() => rlimitsFrom([{ Name: 'nofile', Soft: 1.5, Hard: 5 }]), /Soft: 1\.5 is not an integer/);
  });
});

describe('tmpfs', () => {
  it('adds Docker\'s defaults and lets later options win per kind', () => {
    assert.deepEqual(tmpfsMount('/run', '', 'f'), { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['noexec', 'nosuid', 'nodev', 'rprivate'] });
    assert.deepEqual(tmpfsMount('/run/', 'rw,exec,size=65536k,mode=1777', 'f').options, ['nosuid', 'nodev', 'rprivate', 'rw', 'exec', 'size=65536k', 'mode=1777']);
    assert.deepEqual(mergeTmpfsOptions(['noexec', 'rprivate', 'shared', 'size=1m', 'defaults', 'size=2m', 'ro', 'rw'], 'f'), ['noexec', 'shared', 'size=2m', 'rw']);
  });

  it('refuses unknown options, relative destinations and /', () => {
    assert.throws(() => tmpfsMount('/run', 'rw,bogus', 'HostConfig.Tmpfs["/run"]'), { message: 'HostConfig.Tmpfs["/run"]: invalid tmpfs option "bogus"' });
    assert.throws(() => tmpfsMount('/run', 'color=red', 'f'), /invalid tmpfs option "color=red"/);
    assert.throws(() => tmpfsMounts({ run: '' }), /invalid mount path: 'run' mount path must be absolute/);
    assert.throws(() => tmpfsMounts({ '/': '' }), /destination can't be '\/'/);
  });

  it('turns a Mounts tmpfs entry into options like Docker\'s', () => {
    assert.deepEqual(tmpfsMountFromSpec({ Type: 'tmpfs', Target: '/scratch', ReadOnly: true, TmpfsOptions: { SizeBytes: 64 * 1024 * 1024, Mode: 0o1770 } }).options, ['noexec', 'nosuid', 'nodev', 'rprivate', 'ro', 'mode=1770', 'size=64m']);
    assert.deepEqual(tmpfsMountFromSpec({ Type: 'tmpfs', Target: '/s', TmpfsOptions: { SizeBytes: 1000 } }).options!.at(-1), 'size=1000');
  });
});

describe('security options', () => {
  it('reads no-new-privileges, seccomp, writable-cgroups and ignores AppArmor and SELinux', () => {
    assert.deepEqual(parseSecurityOpts(['no-new-privileges', 'apparmor=unconfined', 'label=disable', 'label:type:svirt_t', 'disable', 'seccomp=unconfined']), {
      noNewPrivileges: true, seccomp: 'unconfined', apparmor: 'unconfined', labels: ['disable', 'type:svirt_t', 'disable'],
    });
    assert.equal(parseSecurityOpts(['no-new-privileges:true']).noNewPrivileges, true);
    assert.equal(parseSecurityOpts(['no-new-privileges', 'no-new-privileges=false']).noNewPrivileges, false);
    assert.equal(parseSecurityOpts(['writable-cgroups=1']).writableCgroups, true);
    assert.equal(parseSecurityOpts(['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}']).seccomp, '{"defaultAction":"SCMP_ACT_ALLOW"}');
  });

  it('refuses anything else, naming the entry', () => {
    assert.throws(() => parseSecurityOpts(['apparmor=x', 'selinux=y']), { message: /^HostConfig\.SecurityOpt\[1\]: invalid --security-opt 2: "selinux=y"/ });
    assert.throws(() => parseSecurityOpts(['nonsense']), /HostConfig\.SecurityOpt\[0\]: invalid --security-opt 1: "nonsense"/);
    assert.throws(() => parseSecurityOpts(['no-new-privileges=maybe']), /invalid --security-opt 2: "no-new-privileges=maybe"/);
  });
});

describe('sysctls', () => {
  it('adds Docker\'s network defaults for a private network; the user\'s win', () => {
    assert.deepEqual(buildSysctls({ Sysctls: { 'net.ipv4.ip_unprivileged_port_start': '1024', 'kernel.shmmax': '1000' } }), {
      'net.ipv4.ping_group_range': '0 2147483647', 'net.ipv4.ip_unprivileged_port_start': '1024', 'kernel.shmmax': '1000',
    });
    assert.deepEqual(buildSysctls({ NetworkMode: 'host' }), {});
    assert.deepEqual(buildSysctls({ NetworkMode: 'container:abc' }), {});
    assert.deepEqual(Object.keys(buildSysctls({ NetworkMode: 'none' })).length, 2);
  });

  it('refuses sysctls of a namespace the container shares with the host, or of none', () => {
    assert.throws(() => buildSysctls({ NetworkMode: 'host', Sysctls: { 'net.ipv4.ip_forward': '1' } }), { message: /^HostConfig\.Sysctls\["net\.ipv4\.ip_forward"\]: sysctl "net\.ipv4\.ip_forward" is not allowed with --network=host/ });
    assert.throws(() => buildSysctls({ IpcMode: 'host', Sysctls: { 'fs.mqueue.msg_max': '10' } }), /not allowed with --ipc=host/);
    assert.throws(() => buildSysctls({ UTSMode: 'host', Sysctls: { 'kernel.domainname': 'x' } }), /not allowed with --uts=host/);
    assert.throws(() => buildSysctls({ Sysctls: { 'kernel.hostname': 'x' } }), /set the hostname with Config\.Hostname/);
    assert.throws(() => buildSysctls({ Sysctls: { 'vm.swappiness': '1' } }), /sysctl "vm\.swappiness" is not allowed: it is not in a separate kernel namespace/);
    assert.doesNotThrow(() => buildSysctls({ NetworkMode: 'container:x', Sysctls: { 'net.core.somaxconn': '1024' } }));
  });
});

describe('devices', () => {
  it('parses device cgroup rules', () => {
    assert.deepEqual(parseDeviceCgroupRule('c 1:3 rwm', 'f'), { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' });
    assert.deepEqual(parseDeviceCgroupRule('b *:* r', 'f'), { allow: true, type: 'b', major: -1, minor: -1, access: 'r' });
    assert.deepEqual(parseDeviceCgroupRule('a 7:* mw', 'f'), { allow: true, type: 'a', major: 7, minor: -1, access: 'mw' });
    for (const bad of ['c 1:3', 'x 1:3 rwm', 'c 1:3 rwx', 'c -1:3 r', ' c 1:3 r']) {
      assert.throws(() => parseDeviceCgroupRule(bad, 'HostConfig.DeviceCgroupRules[0]'), { message: `HostConfig.DeviceCgroupRules[0]: invalid device cgroup rule format: '${bad}'` });
    }
  });

  it('maps a host device node to a container path with its numbers, mode and permissions', () => {
    const r = mappedDevices({ PathOnHost: '/dev/null', PathInContainer: '/dev/mynull', CgroupPermissions: 'r' }, 'f');
    assert.deepEqual(r.devices, [{ type: 'c', path: '/dev/mynull', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }]);
    assert.deepEqual(r.rules, [{ allow: true, type: 'c', major: 1, minor: 3, access: 'r' }]);
    assert.equal(mappedDevices({ PathOnHost: '/dev/zero' }, 'f').devices[0]!.path, '/dev/zero');
  });

  it('refuses a mapping that is not a device, or bad permissions', () => {
    assert.throws(() => mappedDevices({ PathOnHost: '/etc/hostname' }, 'HostConfig.Devices[0]'), { message: 'HostConfig.Devices[0]: error gathering device information while adding custom device "/etc/hostname": not a device node' });
    assert.throws(() => mappedDevices({ PathOnHost: '/dev/null', CgroupPermissions: 'rx' }, 'f'), /"rx" is not a combination of r, w and m/);
    assert.throws(() => mappedDevices({ PathOnHost: 'dev/null' }, 'f'), /PathOnHost: must be an absolute path/);
  });

  it('unprivileged: Docker\'s rules, then each mapping\'s, then DeviceCgroupRules', () => {
    const r = buildDevices({ devices: [{ PathOnHost: '/dev/full', CgroupPermissions: 'rw' }], cgroupRules: ['c 10:200 rwm'], privileged: false });
    assert.equal(r.devices.length, 1);
    assert.deepEqual(r.rules[0], { allow: false, access: 'rwm' });
    assert.deepEqual(r.rules.slice(-2), [{ allow: true, type: 'c', major: 1, minor: 7, access: 'rw' }, { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }]);
  });

  it('privileged: every host device, no restriction', () => {
    const devs = hostDevices();
    assert.ok(devs.some((d) => d.path === '/dev/null' && d.major === 1 && d.minor === 3));
    assert.ok(!devs.some((d) => d.path === '/dev/console' || d.path.startsWith('/dev/pts/')));
    const r = buildDevices({ privileged: true, devices: [{ PathOnHost: '/dev/null', PathInContainer: '/dev/other-null' }], hostDevices: () => [] });
    assert.deepEqual(r, { devices: [{ type: 'c', path: '/dev/other-null', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }], rules: [{ allow: true, access: 'rwm' }] });
  });
});
