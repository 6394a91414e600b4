// Isolation, checked from inside containers: a default one cannot see host processes, mount,
// make namespaces, load kernel modules, read the masked paths (/proc/kcore, /sys/firmware, ...),
// write /proc/sys or /sys (cgroups included), keeps no fd it did not open and starts in its
// rootfs; it cannot overwrite the runtime's init through /proc/PID/exe (CVE-2019-5736: berth runs
// its init from a sealed memfd, and --init's from a read-only bind) nor start in a leaked fd
// (CVE-2024-21626). --privileged lifts exactly what Docker documents: every capability the host
// has, no seccomp, no masked or read-only paths, the host's devices, /sys and cgroups writable,
// and nothing else (still its own PID namespace, no-new-privileges unchanged).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { callJson, importBusybox } from '../../helpers/api.js';
import { startBerthd, type TestBerthd } from '../../helpers/berthd.js';
import { DEFAULT_CAPABILITIES, DEFAULT_READONLY_PATHS, defaultMaskedPaths } from '../../../src/runtime/spec/container-defaults.js';
import { capabilityMask } from '../../../src/runtime/spec/capabilities.js';
import { boundingCapabilities } from '../../../src/sys/proc.js';
import { nativeBinaryPath } from '../../../src/sys/native.js';

const sha256File = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** The fields of /proc/<pid>/status that say what a process may do. */
function statusFields(text: string): Record<string, string> {
  return Object.fromEntries(text.split('\n').map((l) => /^(Cap\w+|Seccomp|NoNewPrivs):\s*(\S+)/.exec(l)).filter((m) => m).map((m) => [m![1]!, m![2]!]));
}
const hex = (mask: bigint) => mask.toString(16).padStart(16, '0');

/** Mount options (the per-mount ones) of each mount point, from mountinfo. */
function mountOptions(mountinfo: string): Map<string, string[]> {
  return new Map(mountinfo.split('\n').filter(Boolean).map((l) => {
    const f = l.split(' ');
    return [f[4]!, f[5]!.split(',')];
  }));
}

/** What the masked paths look like: a file's size in bytes, a directory's entry count, or absent. */
const MASK_PROBE = (paths: string[]) => paths.map((p) => `if [ -d ${p} ]; then echo "${p} dir $(ls -A ${p} | wc -l)"; elif [ -e ${p} ]; then echo "${p} file $(head -c 4096 ${p} 2>/dev/null | wc -c)"; else echo "${p} absent 0"; fi`).join('; ');

function hostMaskState(p: string): [string, number] {
  if (!existsSync(p)) return ['absent', 0];
  if (statSync(p).isDirectory()) return ['dir', readdirSync(p).length];
  if (p === '/proc/kcore') return ['file', 4096]; // the host's memory image: present means readable by root
  return ['file', Math.min(readFileSync(p).length, 4096)];
}

/** The character and block devices at the top of the host's /dev (but its console: a container's is its own, as runc makes it). */
const hostDevices = () => readdirSync('/dev').filter((n) => n !== 'console').filter((n) => {
  const st = lstatSync(`/dev/${n}`);
  return st.isCharacterDevice() || st.isBlockDevice();
});

describe('isolation from inside a container', () => {
  let d: TestBerthd;
  const initBinary = nativeBinaryPath('berth-init', 'BERTH_INIT');
  let initHash: string;
  const masked = defaultMaskedPaths();

  /** Runs `script` in the container (docker exec), which must succeed; its output. */
  const exec = async (name: string, script: string): Promise<string> => {
    const r = await d.docker(['exec', name, 'sh', '-c', script]);
    assert.equal(r.code, 0, `${script}: ${r.stderr}`);
    return r.stdout;
  };
  /** Runs `script`, which must fail; its output and errors. */
  const refused = async (name: string, script: string): Promise<string> => {
    const r = await d.docker(['exec', name, 'sh', '-c', script]);
    assert.notEqual(r.code, 0, `${script} succeeded: ${r.stdout}`);
    return r.stdout + r.stderr;
  };

  before(async () => {
    initHash = sha256File(initBinary);
    d = await startBerthd();
    await importBusybox(d.socket, 'bb:latest');
    for (const [name, extra] of [['plain', []], ['priv', ['--privileged']], ['withinit', ['--init']]] as const) {
      const r = await d.docker(['run', '-d', '--name', name, '--network', 'none', ...extra, 'bb', 'sleep', '1000']);
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(async () => {
    await d?.stop();
  });

  it('a default container sees only its own processes', async () => {
    const pids = (await exec('plain', 'for p in /proc/[0-9]*; do echo "${p#/proc/} $(tr "\\0" " " < $p/cmdline)"; done')).split('\n').filter(Boolean);
    assert.ok(pids.includes('1 sleep 1000 '), pids.join('\n'));
    assert.ok(pids.length <= 4, `more than its own processes:\n${pids.join('\n')}`);
    assert.ok(readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length > pids.length, 'the host has more');
    assert.ok(!pids.some((p) => /berthd|node|berth-shim|systemd|init/.test(p)), pids.join('\n'));
  });

  it('a default container holds Docker\'s default capabilities, under seccomp, and cannot mount, unshare or load modules', async () => {
    const s = statusFields(await exec('plain', 'cat /proc/self/status'));
    const want = hex(capabilityMask(DEFAULT_CAPABILITIES, 'default'));
    assert.deepEqual([s.CapEff, s.CapPrm, s.CapBnd, s.CapInh, s.CapAmb], [want, want, want, hex(0n), hex(0n)]);
    assert.equal((BigInt(`0x${s.CapBnd}`) >> 16n) & 1n, 0n, 'CAP_SYS_MODULE is not even in the bounding set');
    assert.equal(s.Seccomp, '2');
    assert.equal(s.NoNewPrivs, '0', 'as Docker: no-new-privileges only on request');
    assert.match(await refused('plain', 'mount -t tmpfs none /tmp'), /permission denied|not permitted/i);
    assert.match(await refused('plain', 'unshare -m true'), /not permitted/);
    assert.match(await refused('plain', 'unshare -U true'), /not permitted/);
    // init_module on any file: refused before the kernel looks at it.
    assert.match(await refused('plain', 'insmod /bin/busybox'), /Operation not permitted/);
  });

  it('a default container cannot read the masked paths nor write /proc/sys, /sys or its cgroups', async () => {
    const lines = (await exec('plain', MASK_PROBE(masked))).split('\n').filter(Boolean);
    for (const line of lines) {
      const [p, kind, n] = line.split(' ');
      assert.equal(n, '0', `${p} (${kind}) is not masked`);
    }
    assert.ok(lines.some((l) => l.startsWith('/sys/firmware dir')), 'masked /sys/firmware is an empty directory');
    const mounts = mountOptions(await exec('plain', 'cat /proc/self/mountinfo'));
    // cgroup v1: the hierarchies are read-only; the tmpfs holding them is the container's own and
    // stays writable, as runc and Docker leave it (the differential tests hold berth to that).
    const cgroupMount = mounts.has('/sys/fs/cgroup/memory') ? '/sys/fs/cgroup/memory' : '/sys/fs/cgroup';
    for (const p of [...DEFAULT_READONLY_PATHS.filter((x) => existsSync(x)), '/sys', cgroupMount]) assert.ok(mounts.get(p)?.includes('ro'), `${p} is not read-only: ${mounts.get(p)}`);
    // Writing a value back unchanged: harmless should the write go through.
    assert.match(await refused('plain', 'v=$(cat /proc/sys/vm/overcommit_ratio) && echo $v > /proc/sys/vm/overcommit_ratio'), /Read-only file system/);
    assert.match(await refused('plain', 'if [ -d /sys/fs/cgroup/memory ]; then echo 1 > /sys/fs/cgroup/memory/memory.limit_in_bytes; else echo 1 > /sys/fs/cgroup/memory.max; fi'), /Read-only file system/);
    assert.match(await refused('plain', 'echo 1 > /sys/kernel/uevent_helper || touch /sys/kernel/x'), /Read-only file system/);
  });

  it('keeps no fd it did not open, and starts in its rootfs', async () => {
    const fds = (dir: string) => exec('plain', `ls ${dir}`).then((o) => o.split('\n').filter(Boolean).map(Number).sort());
    assert.deepEqual(await fds('/proc/1/fd'), [0, 1, 2], 'PID 1');
    assert.deepEqual(await fds('/proc/self/fd'), [0, 1, 2, 3], 'an exec\'d ls: its three and the directory it reads');
    assert.equal(await exec('plain', 'readlink /proc/1/cwd; readlink /proc/self/cwd'), '/\n/\n');
    const w = await d.docker(['run', '--rm', '--network', 'none', '-w', '/tmp', 'bb', 'sh', '-c', 'readlink /proc/self/cwd; ls /proc/self/fd']);
    assert.equal(w.stdout, '/tmp\n0\n1\n2\n3\n', w.stderr);
    // CVE-2024-21626: a working directory in a leaked fd would be a host directory. None is leaked,
    // and the init refuses a cwd that is not inside the rootfs.
    for (const n of [3, 4, 5, 6, 7, 8]) {
      const r = await d.docker(['run', '--rm', '--network', 'none', '-w', `/proc/self/fd/${n}`, 'bb', 'sh', '-c', 'cd .. && ls']);
      assert.notEqual(r.code, 0, `-w /proc/self/fd/${n} started, in: ${r.stdout}`);
      assert.match(r.stderr, /cwd|symbolic links|no such file/i, `-w /proc/self/fd/${n}`);
    }
  });

  it('cannot overwrite the runtime\'s init through /proc/PID/exe (CVE-2019-5736)', async () => {
    // An exec whose command is /proc/self/exe runs the init's own binary inside the container; it
    // is caught, its binary opened, the process killed, and the binary written through the fd.
    const attack = async (write: string) => {
      assert.equal((await d.docker(['exec', '-d', 'plain', '/proc/self/exe', '--', 'sleep', '300'])).code, 0);
      return refused('plain', 'for i in $(seq 100); do for p in /proc/[0-9]*; do case "$(readlink $p/exe)" in *berth-init*) pid=${p#/proc/};; esac; done; test -n "$pid" && break; sleep 0.05; done; '
        + `test -n "$pid" || exit 9; readlink /proc/$pid/exe; exec 3</proc/$pid/exe; kill -9 $pid; while [ -e /proc/$pid ]; do sleep 0.05; done; ${write}`);
    };
    const sealed = await attack('echo pwned > /proc/self/fd/3');
    assert.match(sealed, /^\/memfd:berth-init/m, 'the init runs from a memfd, not from the host file');
    assert.match(sealed, /Operation not permitted/, 'the memfd is sealed against writes');
    assert.match(await attack('echo pwned >> /proc/self/fd/3'), /Operation not permitted/);
    // --init's reaper is the same binary, bound read-only at /sbin/docker-init.
    const ro = await refused('withinit', 'readlink /proc/1/exe; /sbin/docker-init -- sleep 300 & pid=$!; sleep 0.2; exec 3</proc/$pid/exe; kill -9 $pid; wait $pid; echo pwned > /proc/self/fd/3');
    assert.match(ro, /Read-only file system/);
    assert.equal(sha256File(initBinary), initHash, 'the host\'s berth-init is unchanged');
  });

  it('--privileged lifts what Docker lifts, and only that', async () => {
    const s = statusFields(await exec('priv', 'cat /proc/self/status'));
    const host = hex(boundingCapabilities());
    assert.deepEqual([s.CapEff, s.CapPrm, s.CapBnd], [host, host, host], 'every capability the host has');
    assert.equal(s.Seccomp, '0', 'no seccomp filter');
    assert.equal(s.NoNewPrivs, '0');
    // Masked paths show what the host shows.
    for (const line of (await exec('priv', MASK_PROBE(masked))).split('\n').filter(Boolean)) {
      const [p, kind, n] = line.split(' ');
      const [hostKind, hostN] = hostMaskState(p!);
      assert.equal(kind, hostKind, p);
      if (hostN > 0) assert.ok(Number(n) > 0, `${p} is still masked`);
    }
    const mounts = mountOptions(await exec('priv', 'cat /proc/self/mountinfo'));
    for (const p of DEFAULT_READONLY_PATHS) assert.ok(!mounts.get(p)?.includes('ro'), `${p} is read-only`);
    for (const p of ['/sys', '/sys/fs/cgroup']) assert.ok(mounts.get(p)?.includes('rw'), `${p} is not writable`);
    const devs = new Set((await exec('priv', 'ls /dev')).split('\n'));
    const missing = hostDevices().filter((n) => !devs.has(n));
    assert.deepEqual(missing, [], 'the host\'s devices');
    await exec('priv', 'mount -t tmpfs none /tmp && umount /tmp');
    // Still its own PID namespace, as in Docker.
    const pids = (await exec('priv', 'ls -d /proc/[0-9]*')).split('\n').filter(Boolean);
    assert.ok(pids.length <= 4, pids.join(' '));
    // The default container next to it kept its limits.
    assert.equal(statusFields(await exec('plain', 'cat /proc/self/status')).Seccomp, '2');
  });

  it('ran the containers it meant to: one privileged, one with --init', async () => {
    const priv = await callJson<{ HostConfig: { Privileged: boolean } }>(d.socket, 'GET', '/containers/priv/json');
    assert.equal(priv.HostConfig.Privileged, true);
    const withInit = await callJson<{ HostConfig: { Init: boolean | null } }>(d.socket, 'GET', '/containers/withinit/json');
    assert.equal(withInit.HostConfig.Init, true);
    assert.match(await exec('withinit', 'readlink /proc/1/exe'), /docker-init/);
  });
});
