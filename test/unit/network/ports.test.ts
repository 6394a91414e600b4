// Port requests and conflicts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalIpv6 } from '../../../src/network/ipv6.js';
import { allocatedError, conflicts, familyOf, normalizeRequests } from '../../../src/network/ports.js';

describe('ports', () => {
  it('fills the host address and checks requests', () => {
    assert.deepEqual(normalizeRequests([{ proto: 'tcp', containerPort: 80 }], '0.0.0.0', false), [[{ proto: 'tcp', containerPort: 80, hostIp: '0.0.0.0', hostPort: 0 }]]);
    assert.deepEqual(normalizeRequests([{ proto: 'udp', containerPort: 53, hostIp: '', hostPort: 5353 }], '127.0.0.1', true)[0]![0]!.hostIp, '127.0.0.1');
    assert.throws(() => normalizeRequests([{ proto: 'sctp' as 'tcp', containerPort: 80 }], '0.0.0.0', true), /invalid proto/);
    assert.throws(() => normalizeRequests([{ proto: 'tcp', containerPort: 70000 }], '0.0.0.0', true), /invalid containerPort/);
    assert.throws(() => normalizeRequests([{ proto: 'tcp', containerPort: 80, hostPort: -1 }], '0.0.0.0', true), /invalid hostPort/);
    assert.throws(() => normalizeRequests([{ proto: 'tcp', containerPort: 80, hostIp: 'nope' }], '0.0.0.0', true), /invalid host IP address: nope/);
    assert.throws(() => normalizeRequests([{ proto: 'tcp', containerPort: 80, hostIp: 'fe80::1%eth0' }], '0.0.0.0', true), /invalid host IP address/);
    assert.throws(() => normalizeRequests([{ proto: 'tcp', containerPort: 80, hostIp: '[::1]' }], '0.0.0.0', true), /invalid host IP address/);
  });

  it('adds Docker\'s [::] twin only to a request without a host address on a 0.0.0.0 default, when the host has IPv6', () => {
    const hosts = (hostIp: string | undefined, dflt: string, ipv6: boolean) =>
      normalizeRequests([{ proto: 'tcp', containerPort: 80, hostIp, hostPort: 8080 }], dflt, ipv6)[0]!.map((b) => b.hostIp);
    assert.deepEqual(hosts(undefined, '0.0.0.0', true), ['0.0.0.0', '::']);
    assert.deepEqual(hosts('', '0.0.0.0', true), ['0.0.0.0', '::']);
    assert.deepEqual(hosts(undefined, '0.0.0.0', false), ['0.0.0.0'], 'IPv6 disabled: quietly IPv4 only');
    assert.deepEqual(hosts('0.0.0.0', '0.0.0.0', true), ['0.0.0.0'], 'an explicit 0.0.0.0 is IPv4 only, as in Docker');
    assert.deepEqual(hosts(undefined, '127.0.0.1', true), ['127.0.0.1'], 'a network binding to one IPv4 address');
    assert.deepEqual(hosts('::1', '0.0.0.0', true), ['::1']);
    assert.deepEqual(hosts('0:0::0:1', '0.0.0.0', true), ['::1'], 'written canonically');
    assert.deepEqual(hosts('::', '0.0.0.0', true), ['::']);
    assert.deepEqual(hosts('::ffff:127.0.0.1', '0.0.0.0', true), ['127.0.0.1'], 'IPv4-mapped is IPv4');
    const [group] = normalizeRequests([{ proto: 'udp', containerPort: 53 }], '0.0.0.0', true);
    assert.deepEqual(group, [{ proto: 'udp', containerPort: 53, hostIp: '0.0.0.0', hostPort: 0 }, { proto: 'udp', containerPort: 53, hostIp: '::', hostPort: 0 }]);
  });

  it('writes IPv6 addresses as Go does', () => {
    assert.equal(canonicalIpv6('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
    assert.equal(canonicalIpv6('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    assert.equal(canonicalIpv6('0:0:0:0:0:ffff:7f00:1'), '127.0.0.1');
    assert.equal(canonicalIpv6('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(canonicalIpv6('10.1.2.3'), undefined);
    assert.equal(familyOf('::1'), 6);
    assert.equal(familyOf('0.0.0.0'), 4);
  });

  it('tells conflicts apart', () => {
    const b = (hostIp: string, hostPort: number, proto: 'tcp' | 'udp' = 'tcp') => ({ proto, containerPort: 80, hostIp, hostPort });
    assert.ok(conflicts(b('0.0.0.0', 80), b('127.0.0.1', 80)));
    assert.ok(conflicts(b('127.0.0.1', 80), b('127.0.0.1', 80)));
    assert.ok(!conflicts(b('127.0.0.1', 80), b('10.0.0.1', 80)));
    assert.ok(!conflicts(b('0.0.0.0', 80), b('0.0.0.0', 80, 'udp')));
    assert.ok(!conflicts(b('0.0.0.0', 80), b('0.0.0.0', 81)));
    assert.ok(conflicts(b('::', 80), b('::1', 80)));
    assert.ok(conflicts(b('::1', 80), b('::1', 80)));
    assert.ok(!conflicts(b('::1', 80), b('2001:db8::1', 80)));
    assert.ok(!conflicts(b('0.0.0.0', 80), b('::', 80)), 'IPv4 and v6-only IPv6 sockets do not compete');
    assert.ok(!conflicts(b('0.0.0.0', 80), b('::1', 80)));
    assert.equal(allocatedError(b('0.0.0.0', 8080)).message, 'Bind for 0.0.0.0:8080 failed: port is already allocated');
    assert.equal(allocatedError(b('::1', 8082)).message, 'Bind for ::1:8082 failed: port is already allocated', 'Docker 20.10\'s words');
    assert.equal(allocatedError(b('0.0.0.0', 8080)).httpStatus, 409);
  });
});
