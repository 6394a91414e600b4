// berth's containers side by side with Docker's (Debian's docker.io 20.10, a private daemon) on
// an image imported from the same busybox rootfs: the same probe run in both must print the same
// (capability masks, seccomp mode, ids, limits, mounts, masked paths, /dev, sysctls), and the spec
// Docker generates (read from its containerd bundle) must match buildSpec's, field by field;
// seccomp is compared by what each compiled filter answers for every syscall. The differences
// allowed are Docker's own changes since 20.10, listed below. Skipped without dockerd.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildSpec, hostBoundingCapabilities } from '../../../../src/engine/containers/spec/build-spec.js';
import type { ContainerConfig, HostConfig, SpecInputs } from '../../../../src/engine/containers/api-types.js';
import { compileSeccomp } from '../../../../src/runtime/seccomp/compile.js';
import { I386, X86_64 } from '../../../../src/runtime/seccomp/syscall-table.js';
import type { Mount, Seccomp, Spec } from '../../../../src/runtime/spec/types.js';
import { makeBusyboxRootfs } from '../../../helpers/busybox.js';
import { haveDockerd, startDockerd, type TestDockerd } from '../../../helpers/dockerd.js';
import { cleanupDir } from '../../../helpers/runtime.js';
import { runFilter } from '../../../unit/runtime/seccomp/bpf-interpreter.js';
import { SpecRunner } from './harness.js';

const isRoot = process.getuid?.() === 0;
const TINI = ['/usr/bin/tini-static', '/usr/bin/docker-init'].find((p) => existsSync(p));

// What every container prints: its capabilities, seccomp, user, limits, mounts, masked and
// read-only paths, devices, and what the kernel lets it do.
const PROBE = String.raw`
grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|Seccomp|NoNewPrivs):' /proc/self/status
echo "id: $(id)"
echo "hostname: $(hostname)"
echo "nofile: $(ulimit -Sn) $(ulimit -Hn)"
echo "sysctl: $(cat /proc/sys/net/ipv4/ip_unprivileged_port_start) $(cat /proc/sys/net/ipv4/ping_group_range)"
echo "dev: $(ls -A /dev | tr '\n' ' ')"
for p in /proc/keys /proc/timer_list /proc/acpi /proc/scsi /sys/firmware /proc/kcore /proc/sched_debug; do echo "masked $p: $(stat -c '%F %t:%T' $p 2>&1) $(ls -A $p 2>/dev/null | wc -l)"; done
for p in /proc/sys /proc/sysrq-trigger /proc/bus /proc/fs /proc/irq; do echo "ro $p: $(grep " $p " /proc/self/mountinfo | cut -d' ' -f6 | cut -d, -f1)"; done
grep -E ' /proc | /dev | /dev/pts | /sys | /sys/fs/cgroup | /dev/mqueue | /dev/shm | /run | /etc/hosts ' /proc/self/mountinfo | awk '{ print "mount", $5, $6, $(NF-2), $NF }' | sed -E 's/,(size|nr_inodes|inode64)=[0-9a-z]+//g' | sort
echo "shm: $(df -k /dev/shm 2>/dev/null | tail -1 | awk '{print $2}')"
unshare -U true 2>/dev/null; echo "unshare-U: $?"
mount -t tmpfs none /mnt 2>/dev/null; echo "mount: $?"
touch /rootfs-write 2>/dev/null; echo "rootfs-write: $?"
chown 1 /bin 2>/dev/null; echo "chown: $?"
echo "pids.max: $(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null)"
echo "mem.limit: $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null)"
echo "pid1: $(tr '\0' ' ' < /proc/1/cmdline | cut -c1-30)"
`;

// Masked by berth (as by Docker since 20.10): /proc/interrupts and the powercap and
// thermal_throttle trees (GHSA-6fw5-f8r9-fgfm, GHSA-jq35-85cj-fj4p).
const LATER_MASKED = /^\/proc\/interrupts$|^\/sys\/devices\/virtual\/powercap$|^\/sys\/devices\/system\/cpu\/cpu\d+\/thermal_throttle$/;

// Syscalls whose verdict changed in Docker's default profile since 20.10: io_uring refused
// (moby#46762), socket(AF_ALG/AF_VSOCK) refused, and newer syscalls or safe ones allowed.
const LATER_SECCOMP = new Set([
  'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'socket', 'name_to_handle_at', 'pkey_alloc', 'pkey_free',
  'pkey_mprotect', 'process_vm_readv', 'process_vm_writev', 'cachestat', 'fchmodat2', 'futex_wait', 'futex_wake', 'futex_requeue',
  'map_shadow_stack', 'mseal', 'listmount', 'statmount', 'getxattrat', 'setxattrat', 'listxattrat', 'removexattrat', 'uretprobe',
  'lsm_get_self_attr', 'lsm_list_modules', 'lsm_set_self_attr', 'clock_settime64', 'set_mempolicy_home_node',
]);

interface Case {
  name: string;
  docker: string[];
  config?: ContainerConfig;
  host: HostConfig;
  inputs?: Partial<SpecInputs>;
  skip?: string | false;
}

const CASES: Case[] = [
  { name: 'defaults', docker: [], host: {} },
  { name: '--cap-add/--cap-drop', docker: ['--cap-add', 'NET_ADMIN', '--cap-add', 'sys_admin', '--cap-drop', 'CHOWN'], host: { CapAdd: ['NET_ADMIN', 'sys_admin'], CapDrop: ['CHOWN'] } },
  { name: '--cap-drop ALL --cap-add kill', docker: ['--cap-drop', 'ALL', '--cap-add', 'kill'], host: { CapDrop: ['ALL'], CapAdd: ['kill'] } },
  { name: '--user nobody', docker: ['--user', 'nobody'], config: { User: 'nobody' }, host: {} },
  { name: '--read-only --tmpfs', docker: ['--read-only', '--tmpfs', '/run:rw,size=1m'], host: { ReadonlyRootfs: true, Tmpfs: { '/run': 'rw,size=1m' } } },
  {
    name: '--shm-size --ulimit --pids-limit --memory',
    docker: ['--shm-size', '16m', '--ulimit', 'nofile=512:1024', '--pids-limit', '50', '--memory', '64m'],
    host: { ShmSize: 16 << 20, Ulimits: [{ Name: 'nofile', Soft: 512, Hard: 1024 }], PidsLimit: 50, Memory: 64 << 20 },
  },
  { name: '--ipc none', docker: ['--ipc', 'none'], host: { IpcMode: 'none' } },
  {
    name: 'no-new-privileges --init', docker: ['--security-opt', 'no-new-privileges', '--init'], host: { SecurityOpt: ['no-new-privileges'], Init: true },
    inputs: { initBinary: TINI }, skip: !TINI && 'no tini',
  },
  { name: 'seccomp=unconfined', docker: ['--security-opt', 'seccomp=unconfined'], host: { SecurityOpt: ['seccomp=unconfined'] } },
];

describe('berth and Docker side by side', { skip: !isRoot ? 'needs root' : !haveDockerd() && 'dockerd not installed (apt-get install docker.io)' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-spec-docker-'));
  const runner = new SpecRunner();
  let dockerd: TestDockerd;

  before(async () => {
    dockerd = await startDockerd();
    makeBusyboxRootfs(join(dir, 'rootfs'));
    execFileSync('tar', ['-C', join(dir, 'rootfs'), '-cf', join(dir, 'rootfs.tar'), '.']);
    const r = await dockerd.docker(['import', join(dir, 'rootfs.tar'), 'berth-spec/busybox:1']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await runner.cleanup();
    await dockerd?.stop();
    cleanupDir(dir);
  });

  const docker = async (args: string[]) => {
    const r = await dockerd.docker(args, { timeoutMs: 120_000 });
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  /** The probe's output without what differs by construction (the root filesystem's type, the
   * cgroup path) and with the paths berth masks beyond Docker 20.10 left out. */
  const normalize = (out: string) => out.split('\n').filter((l) => !/^mount \/ /.test(l) && !/^masked \/proc\/interrupts/.test(l)).join('\n');

  for (const c of CASES) {
    it(`the probe prints the same in both: ${c.name}`, { skip: c.skip }, async () => {
      const fromDocker = await docker(['run', '--rm', '--network', 'none', '--hostname', 'probe', ...c.docker, 'berth-spec/busybox:1', 'sh', '-c', PROBE]);
      const b = await runner.run({ Cmd: ['sh', '-c', PROBE], ...c.config }, c.host, c.inputs);
      assert.equal(b.code, 0, b.stderr);
      assert.equal(normalize(b.stdout), normalize(fromDocker));
    });
  }

  /** Docker's OCI spec for a container started with `args`, from its containerd bundle. */
  const dockerSpec = async (args: string[]): Promise<Spec> => {
    const id = (await docker(['run', '-d', '--network', 'none', '--hostname', 'probe', ...args, 'berth-spec/busybox:1', 'sleep', '600'])).trim();
    try {
      return JSON.parse(readFileSync(join(dirname(dockerd.socket), 'containerd-state', 'io.containerd.runtime.v2.task', 'moby', id, 'config.json'), 'utf8')) as Spec;
    } finally {
      await docker(['rm', '-f', id]);
    }
  };

  const berthSpec = (c: Case): Spec => {
    const etc = join(dir, 'etc');
    return buildSpec({ Cmd: ['sleep', '600'], Hostname: 'probe', ...c.config }, { NetworkMode: 'none', ...c.host }, {
      rootfs: join(dir, 'rootfs'), cgroupsPath: '/berth-spec', hostCapabilities: hostBoundingCapabilities(),
      etcFiles: { resolvConf: `${etc}/resolv.conf`, hostname: `${etc}/hostname`, hosts: `${etc}/hosts` }, ...c.inputs,
    });
  };

  const mountsOf = (s: Spec) => (s.mounts ?? []).map((m: Mount) => ({ destination: m.destination, type: m.type, options: m.options, ...(m.type === 'bind' && !m.destination.startsWith('/etc/') ? { source: m.source } : {}) }));
  const sorted = (xs: readonly string[] | undefined) => [...(xs ?? [])].sort();

  for (const c of CASES) {
    it(`the spec matches Docker's: ${c.name}`, { skip: c.skip }, async () => {
      const d = await dockerSpec(c.docker);
      const b = berthSpec(c);
      const dp = d.process!, bp = b.process!;
      assert.deepEqual(bp.args, dp.args);
      assert.deepEqual(bp.env, dp.env);
      assert.equal(bp.cwd, dp.cwd);
      assert.equal(!!bp.terminal, !!dp.terminal);
      assert.deepEqual(bp.user, dp.user);
      for (const set of ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const) {
        assert.deepEqual(sorted(bp.capabilities?.[set]), sorted(dp.capabilities?.[set]), `capabilities.${set}`);
      }
      assert.deepEqual(bp.rlimits ?? [], dp.rlimits ?? []);
      assert.equal(!!bp.noNewPrivileges, !!dp.noNewPrivileges);
      assert.equal(bp.oomScoreAdj, dp.oomScoreAdj);
      assert.deepEqual(b.root?.readonly ?? false, d.root?.readonly ?? false);
      assert.equal(b.hostname, d.hostname);
      assert.deepEqual(mountsOf(b), mountsOf(d).map((m) => (m.destination === '/sbin/docker-init' ? { ...m, source: TINI } : m)));
      assert.deepEqual(b.linux!.namespaces, d.linux!.namespaces);
      assert.deepEqual(b.linux!.sysctl, d.linux!.sysctl);
      assert.deepEqual(b.linux!.devices ?? [], d.linux!.devices ?? []);
      assert.deepEqual(b.linux!.resources!.devices, d.linux!.resources!.devices);
      // Docker writes zero values (shares 0, weight 0, disableOOMKiller false); berth leaves them out.
      const set = (o: object | undefined) => Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== 0 && v !== false));
      for (const k of ['memory', 'cpu', 'blockIO', 'pids'] as const) assert.deepEqual(set(b.linux!.resources![k]), set(d.linux!.resources![k]), `resources.${k}`);
      assert.deepEqual(b.linux!.readonlyPaths, d.linux!.readonlyPaths);
      const masked = new Set(b.linux!.maskedPaths);
      for (const p of d.linux!.maskedPaths ?? []) assert.ok(masked.has(p), `berth masks ${p} too`);
      for (const p of masked) assert.ok(d.linux!.maskedPaths!.includes(p) || LATER_MASKED.test(p), `berth masks ${p}: not Docker 20.10's, nor a later addition`);
      assert.equal(!!b.linux!.seccomp, !!d.linux!.seccomp);
      if (b.linux!.seccomp) {
        assert.deepEqual(b.linux!.seccomp.architectures, d.linux!.seccomp!.architectures);
        assert.deepEqual(seccompDifferences(b.linux!.seccomp, d.linux!.seccomp!).filter((name) => !LATER_SECCOMP.has(name)), []);
      }
    });
  }

  it('the seccomp differences are the expected ones', async () => {
    const d = await dockerSpec([]);
    const diff = seccompDifferences(berthSpec(CASES[0]!).linux!.seccomp!, d.linux!.seccomp!);
    for (const name of ['io_uring_setup', 'socket', 'name_to_handle_at']) assert.ok(diff.includes(name), `${name} differs`);
    assert.ok(!diff.includes('mount') && !diff.includes('clone') && !diff.includes('read'));
  });
});

const AUDIT_ARCH_X86_64 = 0xc000003e;
const AUDIT_ARCH_I386 = 0x40000003;

/**
 * Syscall names whose verdict differs between two profiles, on x86_64 and i386, for zero
 * arguments and for the arguments the profiles filter on (clone's namespace flags,
 * personality's domains, socket's families).
 */
function seccompDifferences(a: Seccomp, b: Seccomp): string[] {
  const pa = compileSeccomp(a).program;
  const pb = compileSeccomp(b).program;
  const probes: bigint[][] = [[], [0x10000000n | 0x11n], [0x11n], [8n], [0x40000n], [0xffffffffn], [38n], [40n], [2n]];
  const out = new Set<string>();
  for (const [arch, table] of [[AUDIT_ARCH_X86_64, X86_64], [AUDIT_ARCH_I386, I386]] as const) {
    for (const [name, nr] of Object.entries(table)) {
      for (const args of probes) {
        if (runFilter(pa, { nr, arch, args }) !== runFilter(pb, { nr, arch, args })) out.add(name);
      }
    }
  }
  return [...out].sort();
}
