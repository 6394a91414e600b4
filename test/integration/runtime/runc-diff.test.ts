// Differential tests: the same bundle under berth-runtime and Debian's runc, comparing what the
// process inside sees. Skipped (with a message) when runc is not installed.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBundle, type Bundle } from '../../helpers/busybox.js';
import { cleanupDir, haveCommand, removeCgroupDir, runCommand, RuntimeHarness, type Result } from '../../helpers/runtime.js';
import type { Spec } from '../../../src/runtime/spec/types.js';

// What the process reports about itself; every line is compared between the two runtimes.
const PROBE = [
  'echo "hostname=$(hostname)"',
  'echo "ids=$(id -u) $(id -g) groups=$(id -G)"',
  "grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status",
  'echo "nofile=$(ulimit -n) hard=$(ulimit -Hn) nproc=$(ulimit -u)"',
  "awk '{print $5, $6}' /proc/self/mountinfo | sort",
  'for p in /proc/kcore /proc/keys /proc/timer_list /sys/firmware; do echo "masked $p: $(wc -c < $p 2>/dev/null || ls $p 2>&1 | wc -l)"; done',
  'touch /proc/sys/kernel/x 2>/dev/null; echo "proc-sys-write=$?"',
  'echo "memory=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>&1) pids=$(cat /sys/fs/cgroup/pids/pids.max 2>&1)"',
  'echo "cpu=$(cat /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>&1 | tr "\\n" " ")"',
  'mkdir /tmp/probe-dir 2>/dev/null && rmdir /tmp/probe-dir; echo "mkdir=$?"',
  'ls -l /dev | awk \'{print $1, $5, $6, $NF}\' | sort',
  'echo "cwd=$(pwd) umask=$(umask) home=${HOME-unset}"',
  'echo "fds=$(ls /proc/self/fd | tr "\\n" " ")"',
  'echo "oom=$(cat /proc/self/oom_score_adj) domain=$(domainname) forward=$(cat /proc/sys/net/ipv4/ip_forward)"',
  'echo to-stderr >&2',
  'exit 7',
].join('\n');

describe('berth-runtime matches runc', { skip: haveCommand('runc') ? false : 'runc is not installed (apt-get install runc)' }, () => {
  const rt = new RuntimeHarness();
  const runcRoot = mkdtempSync(join(tmpdir(), 'berth-runc-root-'));
  const bundles: Bundle[] = [];
  after(async () => {
    await rt.cleanup();
    for (const id of await runcIds()) await runCommand('runc', ['--root', runcRoot, 'delete', '-f', id]);
    cleanupDir(runcRoot);
    removeCgroupDir('berth-diff');
    for (const b of bundles) cleanupDir(b.dir);
  });

  async function runcIds(): Promise<string[]> {
    const r = await runCommand('runc', ['--root', runcRoot, 'list', '-q']);
    return r.stdout.split('\n').filter(Boolean);
  }

  // `edit` runs once per runtime on the same spec, so it must set values, not append them.
  async function both(edit: (s: Spec, id: string) => void, flags: string[] = []): Promise<[Result, Result]> {
    const b = makeBundle(['sh', '-c', PROBE], (s) => { s.root!.readonly = false; });
    bundles.push(b);
    const berthId = rt.id('diff-b');
    const runcId = rt.id('diff-r');
    edit(b.spec, berthId);
    b.save();
    const berth = await rt.cli(['run', ...flags, '--bundle', b.dir, berthId]);
    edit(b.spec, runcId);
    b.save();
    const runc = await runCommand('runc', ['--root', runcRoot, 'run', ...flags, '--bundle', b.dir, runcId]);
    return [berth, runc];
  }

  function same([berth, runc]: [Result, Result]): void {
    assert.equal(runc.code, 7, `runc itself failed: ${runc.stderr}`);
    assert.deepEqual(berth.stdout.split('\n'), runc.stdout.split('\n'));
    assert.equal(berth.stderr, runc.stderr);
    assert.equal(berth.code, runc.code);
  }

  it('the default config', async () => {
    same(await both((s, id) => { s.linux!.cgroupsPath = `/berth-diff/${id}`; }));
  });

  it('a user with supplementary groups, umask, cwd, rlimits, no_new_privs off and more capabilities', async () => {
    same(await both((s, id) => {
      s.linux!.cgroupsPath = `/berth-diff/${id}`;
      s.process!.user = { uid: 1000, gid: 1000, additionalGids: [5, 65534], umask: 0o027 };
      s.process!.cwd = '/tmp';
      s.process!.noNewPrivileges = false;
      s.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 512, hard: 768 }, { type: 'RLIMIT_NPROC', soft: 300, hard: 300 }];
      const caps = ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_RAW', 'CAP_SETUID', 'CAP_SETGID'];
      s.process!.capabilities = { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient: ['CAP_KILL'] };
      s.hostname = 'diffhost';
      s.domainname = 'diffdomain';
      s.process!.oomScoreAdj = 100;
    }));
  });

  it('cgroup limits, a read-only root and a seccomp rule returning EPERM', async () => {
    same(await both((s, id) => {
      s.linux!.cgroupsPath = `/berth-diff/${id}`;
      s.root!.readonly = true;
      s.linux!.resources = { ...s.linux!.resources, memory: { limit: 96 << 20 }, pids: { limit: 40 }, cpu: { shares: 512, quota: 50000, period: 100000 } };
      s.linux!.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: ['SCMP_ARCH_X86_64'],
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
      };
      s.linux!.sysctl = { 'net.ipv4.ip_forward': '1' };
      s.linux!.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }];
      s.mounts = [...s.mounts!.filter((m) => m.destination !== '/tmp'), { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] }];
    }));
  });

  it('new user and cgroup namespaces with id mappings', async () => {
    same(await both((s, id) => {
      s.linux!.cgroupsPath = `/berth-diff/${id}`;
      s.linux!.namespaces = [...s.linux!.namespaces!.filter((n) => n.type !== 'user' && n.type !== 'cgroup'), { type: 'user' }, { type: 'cgroup' }];
      s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    }));
  });

  it('HOME from the user\'s /etc/passwd entry when the environment has none, a given HOME kept', async () => {
    same(await both((s, id) => {
      s.linux!.cgroupsPath = `/berth-diff/${id}`;
      s.process!.user = { uid: 65534, gid: 65534 };
    }));
    same(await both((s, id) => {
      s.linux!.cgroupsPath = `/berth-diff/${id}`;
      s.process!.env = [...s.process!.env!.filter((e) => !e.startsWith('HOME=')), 'HOME=/given'];
    }));
  });

  it('--no-pivot', async () => {
    same(await both((s, id) => { s.linux!.cgroupsPath = `/berth-diff/${id}`; }, ['--no-pivot']));
  });

  it('cgroup limits read from outside while the container runs', async () => {
    const b = makeBundle(['sleep', '1000'], (s) => { s.linux!.resources = { ...s.linux!.resources, memory: { limit: 80 << 20 }, pids: { limit: 33 } }; });
    bundles.push(b);
    const read = (id: string) => ['memory/memory.limit_in_bytes', 'pids/pids.max'].map((f) => readFileSync(`/sys/fs/cgroup/${f.replace('/', `/berth-diff/${id}/`)}`, 'utf8').trim());
    const berthId = rt.id('out-b');
    b.spec.linux!.cgroupsPath = `/berth-diff/${berthId}`;
    b.save();
    assert.equal((await rt.cli(['run', '-d', '--bundle', b.dir, berthId])).code, 0);
    const runcId = rt.id('out-r');
    b.spec.linux!.cgroupsPath = `/berth-diff/${runcId}`;
    b.save();
    assert.equal((await runCommand('runc', ['--root', runcRoot, 'run', '-d', '--bundle', b.dir, runcId])).code, 0);
    try {
      assert.deepEqual(read(berthId), read(runcId));
      assert.deepEqual(read(berthId), [String(80 << 20), '33']);
    } finally {
      await rt.cli(['delete', '-f', berthId]);
      await runCommand('runc', ['--root', runcRoot, 'delete', '-f', runcId]);
    }
  });
});
