// Port requests and conflicts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { allocatedError, conflicts, normalizeRequests } from '../../../src/network/ports.js';

describe('ports', () => {
  it('fills the host address and checks requests', () => {
    assert.deepEqual(normalizeRequests([{ proto: 'tcp', containerPort: 80 }], '0.0.0.0'), [{ proto: 'tcp', containerPort: 80, hostIp: '0.0.0.0', hostPort: 0 }]);
    assert.deepEqual(normalizeRequests([{ proto: 'udp', containerPort: 53, hostIp: '', hostPort: 5353 }], '127.0.0.1')[0]!.hostIp, '127.0.0.1');
    assert.throws(() => normalizeRequests([{ proto: 'sctp' as 'tcp', containerPort: 80 }], '0.0.0.0'), /invalid proto/);
    assert.throws(() => normalizeRequests([{ proto: 'tcp', containerPort: 70000 }], '0.0.0.0'), /invalid containerPort/);
    assert.throws(() => normalizeRequests([{ proto: 'tcp', containerPort: 80, hostPort: -1 }], '0.0.0.0'), /invalid hostPort/);
    assert.throws(() => normalizeRequests([{ proto: 'tcp', containerPort: 80, hostIp: 'nope' }], '0.0.0.0'), /invalid host IP address/);
    assert.throws(() => normalizeRequests([{ proto: 'tcp', containerPort: 80, hostIp: '::' }], '0.0.0.0'), (e: Error & { code?: string }) => e.code === 'NOT_IMPLEMENTED');
  });
  it('tells conflicts apart', () => {
    const b = (hostIp: string, hostPort: number, proto: 'tcp' | 'udp' = 'tcp') => ({ proto, containerPort: 80, hostIp, hostPort });
    assert.ok(conflicts(b('0.0.0.0', 80), b('127.0.0.1', 80)));
    assert.ok(conflicts(b('127.0.0.1', 80), b('127.0.0.1', 80)));
    assert.ok(!conflicts(b('127.0.0.1', 80), b('10.0.0.1', 80)));
    assert.ok(!conflicts(b('0.0.0.0', 80), b('0.0.0.0', 80, 'udp')));
    assert.ok(!conflicts(b('0.0.0.0', 80), b('0.0.0.0', 81)));
    assert.equal(allocatedError(b('0.0.0.0', 8080)).message, 'Bind for 0.0.0.0:8080 failed: port is already allocated');
    assert.equal(allocatedError(b('0.0.0.0', 8080)).httpStatus, 409);
  });
});
