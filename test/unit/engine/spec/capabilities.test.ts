// Capability lists from CapAdd / CapDrop / Privileged, and the sets a process gets.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { capabilitySets, containerCapabilities, normalizeCapabilities } from '../../../../src/runtime/spec/container-capabilities.js';
import { DEFAULT_CAPABILITIES } from '../../../../src/runtime/spec/container-defaults.js';
import { CAPABILITIES } from '../../../../src/runtime/spec/capabilities.js';

// A host like the test machine: everything but CAP_SYS_RESOURCE.
const HOST = CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE');
const caps = (capAdd?: string[], capDrop?: string[], privileged = false) => containerCapabilities({ capAdd, capDrop, privileged, hostCapabilities: HOST });

describe('capabilities', () => {
  it('defaults to Docker\'s fourteen', () => {
    assert.deepEqual(caps(), [...DEFAULT_CAPABILITIES]);
    assert.equal(DEFAULT_CAPABILITIES.length, 14);
  });

  it('normalizes names: any case, with or without CAP_', () => {
    assert.deepEqual(normalizeCapabilities(['net_admin', 'CAP_sys_time', 'Sys_Ptrace', 'all'], 'f'), ['CAP_NET_ADMIN', 'CAP_SYS_TIME', 'CAP_SYS_PTRACE', 'ALL']);
  });

  it('rejects an unknown capability, naming the field and index', () => {
    assert.throws(() => caps(['NET_ADMIN', 'fly']), { code: 'INVALID_ARGUMENT', message: 'HostConfig.CapAdd[1]: unknown capability: "CAP_FLY"' });
    assert.throws(() => caps([], ['CAP_NOPE']), /HostConfig\.CapDrop\[0\]: unknown capability: "CAP_NOPE"/);
  });

  it('drops, then adds', () => {
    const c = caps(['NET_ADMIN', 'sys_time'], ['chown', 'CAP_KILL']);
    assert.ok(!c.includes('CAP_CHOWN') && !c.includes('CAP_KILL'));
    assert.deepEqual(c.slice(-2), ['CAP_NET_ADMIN', 'CAP_SYS_TIME']);
    assert.equal(c.length, 14);
  });

  it('adding a default capability or the same one twice lists it once', () => {
    assert.deepEqual(caps(['chown', 'CHOWN']), [...DEFAULT_CAPABILITIES]);
  });

  it('CapAdd ALL gives every host capability but the dropped ones', () => {
    const c = caps(['ALL'], ['MKNOD']);
    assert.deepEqual(c, HOST.filter((x) => x !== 'CAP_MKNOD'));
  });

  it('CapDrop ALL keeps only CapAdd', () => {
    assert.deepEqual(caps(['NET_BIND_SERVICE'], ['all']), ['CAP_NET_BIND_SERVICE']);
    assert.deepEqual(caps([], ['ALL']), []);
  });

  it('privileged gets exactly the host bounding set, whatever CapDrop says', () => {
    assert.deepEqual(caps([], ['ALL'], true), HOST);
  });

  it('root gets bounding, effective and permitted; another user only bounding; never inheritable or ambient', () => {
    const list = ['CAP_CHOWN', 'CAP_KILL'];
    assert.deepEqual(capabilitySets(list, 0), { bounding: list, effective: list, permitted: list });
    assert.deepEqual(capabilitySets(list, 1000), { bounding: list });
  });
});
