// The HostConfig checks a create makes, as Docker's verifyContainerSettings: refused before any
// container exists, with Docker's words.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkHostConfig } from '../../../src/engine/containers/create-checks.js';

const deps = { hasRuntime: (name: string) => name === 'berth' || name === 'runc' };
const check = (h: Record<string, unknown>) => checkHostConfig(h, deps);

describe('checkHostConfig', () => {
  it('accepts a plain HostConfig with no warnings', () => {
    assert.deepEqual(check({ Memory: 64 << 20, CapAdd: ['net_admin'], ExtraHosts: ['a:1.2.3.4', 'b:host-gateway', 'c:::1', 'd:[fe80::1]'], Runtime: 'runc' }), []);
  });

  it('refuses what Docker refuses at create', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ CapAdd: ['NOPE'] }, /HostConfig\.CapAdd\[0\]: unknown capability: "CAP_NOPE"/],
      [{ CapDrop: ['x'] }, /HostConfig\.CapDrop\[0\]: unknown capability: "CAP_X"/],
      [{ MemorySwap: 100 << 20 }, /You should always set the Memory limit when using Memoryswap limit/],
      [{ NanoCpus: 1e12 }, /Range of CPUs is from 0\.01 to/],
      [{ ExtraHosts: ['nocolon'] }, /bad format for add-host: "nocolon"/],
      [{ ExtraHosts: ['h:1.2.3'] }, /invalid IP address in add-host: "1\.2\.3"/],
      [{ Runtime: 'nope' }, /Unknown runtime specified nope$/],
      [{ Isolation: 'process' }, /Invalid isolation: "process" - linux only supports 'default'/],
      [{ StorageOpt: { size: '1G' } }, /--storage-opt is not supported/],
      [{ DeviceRequests: [{ Driver: '', Count: -1, Capabilities: [['gpu']] }] }, /could not select device driver "" with capabilities: \[\[gpu\]\]/],
    ];
    for (const [h, message] of cases) assert.throws(() => check(h), message, JSON.stringify(h));
  });

  it('drops per-device blkio weights the host has no file for, with Docker\'s warning', () => {
    const h: Record<string, unknown> = { BlkioWeightDevice: [{ Path: '/dev/vda', Weight: 200 }] };
    const warnings = checkHostConfig(h, { ...deps, blkioRoot: '/tmp' });
    assert.deepEqual(warnings, ['Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.']);
    assert.deepEqual(h.BlkioWeightDevice, []);
  });

  it('warns of a kernel memory limit, as Docker does, and takes isolation "default"', () => {
    assert.deepEqual(check({ KernelMemory: 64 << 20, Isolation: 'default' }), ['Specifying a kernel memory limit is deprecated and will be removed in a future release.']);
  });
});
