// Spec-level pure logic: validation messages, mount options, capabilities, defaults.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateSpec } from '../../../src/runtime/spec/validate.js';
import { parseMountOptions } from '../../../src/sys/mount-options.js';
import { capabilityMask, capabilityNames } from '../../../src/runtime/spec/capabilities.js';
import { defaultSpec } from '../../../src/runtime/spec/default.js';
import { MS } from '../../../src/runtime/plan/opcodes.js';

describe('spec validation', () => {
  it('accepts the default spec and the rootless one', () => {
    validateSpec(defaultSpec());
    validateSpec(defaultSpec({ rootless: true, uid: 1000, gid: 1000 }));
  });

  const bad: Array<[string, (s: any) => void, RegExp]> = [
    ['no root', (s) => delete s.root, /root\.path: is required$/],
    ['a bad version', (s) => (s.ociVersion = '2.0'), /ociVersion: "2\.0" is not a 1\.x runtime-spec version$/],
    ['no args', (s) => (s.process.args = []), /process\.args: must name the program to run$/],
    ['a relative cwd', (s) => (s.process.cwd = 'tmp'), /process\.cwd: must be an absolute path$/],
    ['a duplicate namespace', (s) => s.linux.namespaces.push({ type: 'pid' }), /linux\.namespaces\[5\]: duplicate namespace "pid"$/],
    ['a hostname without uts', (s) => (s.linux.namespaces = s.linux.namespaces.filter((n: any) => n.type !== 'uts')), /hostname: cannot set a hostname without a private UTS namespace$/],
    ['a user namespace without mappings', (s) => s.linux.namespaces.push({ type: 'user' }), /linux\.uidMappings: a new user namespace needs/],
    ['a net sysctl without a net namespace', (s) => { s.linux.namespaces = s.linux.namespaces.filter((n: any) => n.type !== 'network'); s.linux.sysctl = { 'net.ipv4.ip_forward': '1' }; }, /sysctl "net\.ipv4\.ip_forward" is not in a separate kernel namespace/],
    ['soft above hard', (s) => (s.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 5 }]), /process\.rlimits\[0\]: soft limit 10 is above hard limit 5$/],
    ['a relative hook path', (s) => (s.hooks = { poststop: [{ path: 'x' }] }), /hooks\.poststop\[0\]\.path: must be an absolute path$/],
    ['an unknown propagation', (s) => (s.linux.rootfsPropagation = 'sideways'), /linux\.rootfsPropagation: unknown propagation "sideways"$/],
  ];
  for (const [name, edit, message] of bad) {
    it(`rejects ${name}`, () => {
      const s = defaultSpec();
      edit(s);
      assert.throws(() => validateSpec(s), message);
    });
  }
});

describe('mount options', () => {
  it('turns flags on and off in order and keeps the rest as data', () => {
    const p = parseMountOptions(['ro', 'nosuid', 'rw', 'mode=755', 'size=65536k', 'rbind', 'rslave'], 'm');
    assert.equal(p.flags, MS.NOSUID | MS.BIND | MS.REC);
    assert.equal(p.data, 'mode=755,size=65536k');
    assert.deepEqual(p.propagation, [MS.SLAVE | MS.REC]);
  });
  it('refuses recursive attribute options it cannot apply yet', () => {
    assert.throws(() => parseMountOptions(['rro'], 'mounts[2]'), /mounts\[2\]\.options\[0\]: "rro" is not supported/);
  });
});

describe('capabilities', () => {
  it('maps names to bits and back', () => {
    const mask = capabilityMask(['CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_AUDIT_WRITE'], 'x');
    assert.equal(mask, 0x20000420n);
    assert.deepEqual(capabilityNames(mask), ['CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_AUDIT_WRITE']);
    assert.throws(() => capabilityMask(['CAP_KILL', 'CAP_NOPE'], 'process.capabilities.effective'), /process\.capabilities\.effective\[1\]: unknown capability "CAP_NOPE"$/);
  });
});
