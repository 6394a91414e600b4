// Bad bundles get one clear line naming the field, exit status 1, and leave nothing behind.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { makeBundle, type Bundle } from '../../helpers/busybox.js';
import { cleanupDir, errorMessage, RuntimeHarness } from '../../helpers/runtime.js';
import type { Spec } from '../../../src/runtime/spec/types.js';

describe('berth-runtime rejects bad input cleanly', () => {
  const rt = new RuntimeHarness();
  const bundles: Bundle[] = [];
  after(async () => {
    await rt.cleanup();
    for (const b of bundles) cleanupDir(b.dir);
  });

  it('reads HOME from a hostile /etc/passwd inside the container: a FIFO is not waited on, a link resolves in the root', async () => {
    const homes: string[] = [];
    for (const plant of [(p: string) => execFileSync('mkfifo', [p]), (p: string) => symlinkSync('../../../../etc/shadow', p), (p: string) => writeFileSync(p, `${'x'.repeat(10_000)}:x:0:0::/long:/bin/sh\nroot:x:0:0::/r00t:/bin/sh\n`)]) {
      const b = makeBundle(['sh', '-c', 'echo "$HOME"']);
      bundles.push(b);
      b.spec.process!.env = b.spec.process!.env!.filter((e) => !e.startsWith('HOME='));
      b.save();
      rmSync(`${b.rootfs}/etc/passwd`);
      plant(`${b.rootfs}/etc/passwd`);
      const r = await rt.cli(['run', '--bundle', b.dir, rt.id('home')]);
      assert.equal(r.code, 0, r.stderr);
      homes.push(r.stdout.trim());
    }
    // A line longer than any buffer is read whole, as runc reads it: its entry is the first for uid 0.
    assert.deepEqual(homes, ['/', '/', '/long']);
  });

  const cases: Array<[string, (s: Spec, b: Bundle) => void, RegExp]> = [
    ['invalid JSON', (_s, b) => writeFileSync(`${b.dir}/config.json`, '{"ociVersion": '), /config\.json: invalid JSON/],
    ['a missing rootfs', (s) => { s.root!.path = 'nowhere'; }, /root\.path: rootfs .*nowhere does not exist/],
    ['an unknown namespace', (s) => { s.linux!.namespaces!.push({ type: 'bogus' as never }); }, /linux\.namespaces\[5\]\.type: unknown namespace "bogus"/],
    ['an unknown capability', (s) => { s.process!.capabilities!.bounding!.push('CAP_FLY'); }, /process\.capabilities\.bounding\[3\]: unknown capability "CAP_FLY"/],
    ['an unsupported seccomp action', (s) => { s.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_EXPLODE' }] }; }, /linux\.seccomp\.syscalls\[0\]\.action: .*SCMP_ACT_EXPLODE/],
    ['a cgroup controller the host lacks', (s) => { s.linux!.resources = { ...s.linux!.resources, hugepageLimits: [{ pageSize: '3MB', limit: 1 }] }; }, /linux\.resources\.hugepageLimits/],
    ['a relative mount destination', (s) => { s.mounts!.push({ destination: 'tmp', type: 'tmpfs', source: 'tmpfs' }); }, /mounts\[7\]\.destination: "tmp" must be an absolute path/],
    ['a missing bind source', (s) => { s.mounts!.push({ destination: '/x', type: 'bind', source: '/no/such/dir', options: ['rbind'] }); }, /mounts\[7\]\.source: bind source \/no\/such\/dir does not exist/],
    ['a non-namespaced sysctl', (s) => { s.linux!.sysctl = { 'vm.swappiness': '1' }; }, /linux\.sysctl: sysctl "vm\.swappiness" is not allowed/],
    ['an unknown rlimit', (s) => { s.process!.rlimits!.push({ type: 'RLIMIT_FOO', soft: 1, hard: 1 }); }, /process\.rlimits\[1\]\.type: unknown rlimit "RLIMIT_FOO"/],
    ['a missing executable', (s) => { s.process!.args = ['/bin/nothing-here']; }, /exec: "\/bin\/nothing-here": No such file or directory/],
  ];

  for (const [name, edit, message] of cases) {
    it(`rejects ${name}`, async () => {
      const b = makeBundle(['true']);
      bundles.push(b);
      edit(b.spec, b);
      if (name !== 'invalid JSON') b.save();
      const id = rt.id('bad');
      const cgroupsBefore = readdirSync('/sys/fs/cgroup/memory').filter((n) => n.startsWith(id));
      const r = await rt.cli(['create', '--bundle', b.dir, id]);
      assert.equal(r.code, 1, `exit status for ${name}: ${r.stderr}`);
      assert.match(errorMessage(r.stderr), message);
      assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
      assert.equal(existsSync(rt.ctx.store.dir(id)), false, 'no state directory');
      assert.deepEqual(readdirSync('/sys/fs/cgroup/memory').filter((n) => n.startsWith(id)), cgroupsBefore, 'no cgroup');
    });
  }
});
