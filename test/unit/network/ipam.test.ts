// IPAM and address math: Docker's validation messages, pool picking, serial allocation.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { allocate, defaultPool, pickSubnet, release, releaseOwner, resolveIpam } from '../../../src/network/ipam.js';
import { contains, enclosingPrefix, formatIp, macForIp, overlaps, parseIp, parsePrefix } from '../../../src/network/ipv4.js';
import type { StoredIpam } from '../../../src/network/types.js';

const p = (s: string) => parsePrefix(s)!;
const never = () => {
  throw new Error('no auto subnet expected');
};

describe('ipv4', () => {
  it('parses, formats and compares', () => {
    assert.equal(parseIp('10.0.0.256'), undefined);
    assert.equal(parseIp('010.0.0.1'), undefined);
    assert.equal(formatIp(parseIp('192.168.1.254')!), '192.168.1.254');
    assert.equal(parsePrefix('10.0.0.1/24'), undefined, 'host bits set');
    assert.deepEqual(enclosingPrefix('10.0.0.5/24'), p('10.0.0.0/24'));
    assert.deepEqual(enclosingPrefix('10.0.0.5'), p('10.0.0.5/32'));
    assert.ok(overlaps(p('10.0.0.0/8'), p('10.5.0.0/16')));
    assert.ok(!overlaps(p('10.0.0.0/24'), p('10.0.1.0/24')));
    assert.ok(contains(p('0.0.0.0/0'), parseIp('255.255.255.255')!));
  });
  it('derives the MAC from the address as Docker does', () => {
    assert.equal(macForIp(parseIp('172.17.0.2')!), '02:42:ac:11:00:02');
  });
});

describe('resolveIpam', () => {
  it('takes a subnet, gateway and range', () => {
    assert.deepEqual(resolveIpam([{ Subnet: '10.9.0.0/16', Gateway: '10.9.255.254', IPRange: '10.9.8.0/24' }], [], never), {
      subnet: '10.9.0.0/16', gateway: '10.9.255.254', ipRange: '10.9.8.0/24', allocated: {},
    });
    assert.deepEqual(resolveIpam([{ Subnet: '10.9.0.0/16' }], [], never), { subnet: '10.9.0.0/16', gateway: '10.9.0.1', allocated: {} });
  });
  it('picks one when none is given', () => {
    assert.equal(resolveIpam(undefined, [], () => '172.20.0.0/16').subnet, '172.20.0.0/16');
    assert.equal(resolveIpam([{}], [], () => '172.20.0.0/16').gateway, '172.20.0.1');
  });
  it('refuses bad config with Docker\'s messages', () => {
    assert.throws(() => resolveIpam([{ Subnet: 'nope' }], [], never), { message: 'invalid CIDR address: nope' });
    assert.throws(() => resolveIpam([{ Subnet: '10.0.0.0/33' }], [], never), { message: 'invalid CIDR address: 10.0.0.0/33' });
    assert.throws(() => resolveIpam([{ Subnet: '10.0.0.1/24' }], [], never), { message: 'invalid network config:\ninvalid subnet 10.0.0.1/24: it should be 10.0.0.0/24' });
    assert.throws(() => resolveIpam([{ Subnet: '10.0.0.0/24', Gateway: '10.0.1.1' }], [], never), {
      message: "invalid network config:\ninvalid gateway 10.0.1.1: parent subnet 10.0.0.0/24 doesn't contain this address",
    });
    assert.throws(() => resolveIpam([{ Subnet: '10.0.0.0/24', Gateway: '10.0.0.255' }], [], never), /network or broadcast address/);
    assert.throws(() => resolveIpam([{ Subnet: '10.0.0.0/24', IPRange: '10.0.0.0/16' }], [], never), /CIDR block is bigger than its parent subnet 10.0.0.0\/24/);
    assert.throws(() => resolveIpam([{ Subnet: '10.0.0.0/24', IPRange: '10.0.1.0/28' }], [], never), /parent subnet 10.0.0.0\/24 doesn't contain ip-range/);
    assert.throws(() => resolveIpam([{ Gateway: '10.0.0.1' }], [], never), /needs a subnet/);
    assert.throws(() => resolveIpam([{ Subnet: '10.0.0.0/31' }], [], never), /too small/);
    assert.throws(() => resolveIpam([{ Subnet: 'fd00::/64' }], [], never), (e: Error & { code?: string }) => e.code === 'NOT_IMPLEMENTED');
    assert.throws(() => resolveIpam([{ Subnet: '10.0.0.0/24' }, { Subnet: '10.1.0.0/24' }], [], never), /only one IPv4 subnet/);
    assert.throws(() => resolveIpam([{ Subnet: '10.0.0.0/24' }], [p('10.0.0.0/16')], never), (e: Error & { code?: string }) => e.message === 'Pool overlaps with other one on this address space' && e.code === 'FAILED_PRECONDITION');
  });
});

describe('pickSubnet', () => {
  it('skips what is taken', () => {
    assert.equal(pickSubnet(defaultPool(), [p('172.17.0.0/16'), p('172.18.5.0/24')]), '172.19.0.0/16');
    assert.equal(pickSubnet(['10.0.0.0/24'], [p('10.0.0.0/8')]), undefined);
    assert.equal(defaultPool()[0], '172.17.0.0/16');
    assert.equal(defaultPool()[15], '192.168.0.0/24');
  });
});

describe('allocate', () => {
  const fresh = (): StoredIpam => ({ subnet: '10.0.0.0/29', gateway: '10.0.0.1', allocated: {} });
  it('skips the network, gateway and broadcast addresses and goes round serially', () => {
    const ipam = fresh();
    const got = ['a', 'b', 'c', 'd', 'e'].map((o) => allocate(ipam, o, 'n'));
    assert.deepEqual(got, ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
    assert.throws(() => allocate(ipam, 'f', 'n'), /no available addresses on this pool/);
    release(ipam, '10.0.0.3');
    releaseOwner(ipam, 'e');
    assert.equal(allocate(ipam, 'g', 'n'), '10.0.0.3', 'after the last handed out (.6), wrapping round');
    assert.equal(allocate(ipam, 'h', 'n'), '10.0.0.6');
  });
  it('stays inside the ip-range', () => {
    const ipam: StoredIpam = { subnet: '10.0.0.0/24', gateway: '10.0.0.1', ipRange: '10.0.0.128/30', allocated: {} };
    assert.deepEqual([1, 2, 3, 4].map((i) => allocate(ipam, `o${i}`, 'n')), ['10.0.0.128', '10.0.0.129', '10.0.0.130', '10.0.0.131']);
    assert.throws(() => allocate(ipam, 'x', 'n'), (e: Error & { code?: string }) => e.code === 'UNAVAILABLE');
  });
  it('takes a requested address once, inside the subnet, never the gateway', () => {
    const ipam = fresh();
    assert.equal(allocate(ipam, 'a', 'n', '10.0.0.6'), '10.0.0.6');
    assert.throws(() => allocate(ipam, 'b', 'n', '10.0.0.6'), (e: Error & { code?: string }) => /^Address already in use/.test(e.message) && e.code === 'ALREADY_EXISTS');
    assert.throws(() => allocate(ipam, 'b', 'n', '10.0.0.1'), /Address already in use/);
    assert.throws(() => allocate(ipam, 'b', 'n', '10.0.0.7'), /Address already in use/, 'broadcast');
    assert.throws(() => allocate(ipam, 'b', 'n', '10.0.1.2'), { message: 'invalid endpoint settings:\nno configured subnet contains IP address 10.0.1.2' });
    assert.throws(() => allocate(ipam, 'b', 'n', 'x'), /invalid IPv4 address/);
    assert.deepEqual(ipam.allocated, { '10.0.0.6': 'a' });
  });
});
