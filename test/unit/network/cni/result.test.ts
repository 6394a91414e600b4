// Plugin results of every version in one shape, and the pod's addresses picked out of them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseResult, podNetworkOf, splitCidr } from '../../../../src/network/cni/result.js';
import { pluginConfig, pluginEnv, versionAtLeast } from '../../../../src/network/cni/list.js';
import { portMappingsOf } from '../../../../src/network/cni/manager.js';
import type { NetworkConfigList } from '../../../../src/network/cni/types.js';

const bridge04 = {
  cniVersion: '0.4.0',
  interfaces: [{ name: 'cni0', mac: 'aa:bb:cc:dd:ee:01' }, { name: 'veth1', mac: 'aa:bb:cc:dd:ee:02' }, { name: 'eth0', mac: 'aa:bb:cc:dd:ee:03', sandbox: '/run/netns/p' }],
  ips: [{ version: '4', address: '10.88.0.5/16', gateway: '10.88.0.1', interface: 2 }, { version: '6', address: 'fd00::5/64', gateway: 'fd00::1', interface: 2 }],
  routes: [{ dst: '0.0.0.0/0' }],
  dns: { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] },
};

describe('CNI results', () => {
  it('reads 0.3.x/0.4.0 results as 1.0.0 ones (the per-address version dropped)', () => {
    const r = parseResult(bridge04, '0.4.0', 'bridge');
    assert.deepEqual(r.ips[0], { address: '10.88.0.5/16', gateway: '10.88.0.1', interface: 2 });
    assert.equal(r.interfaces[2]!.sandbox, '/run/netns/p');
    assert.deepEqual(r.dns, { nameservers: ['10.96.0.10'], search: ['svc.cluster.local'] });
    const r1 = parseResult({ ...bridge04, cniVersion: '1.0.0', ips: [{ address: '10.88.0.5/16', interface: 2 }] }, '1.0.0', 'bridge');
    assert.deepEqual(r1.ips, [{ address: '10.88.0.5/16', interface: 2 }]);
    const r031 = parseResult({ ...bridge04, cniVersion: undefined }, '0.3.1', 'bridge');
    assert.equal(r031.cniVersion, '0.3.1', 'the configuration version when the result names none');
  });

  it('converts 0.2.0 ip4/ip6 results', () => {
    const r = parseResult({ cniVersion: '0.2.0', ip4: { ip: '10.1.0.2/24', gateway: '10.1.0.1', routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }] } }, '0.2.0', 'old');
    assert.deepEqual(r.ips, [{ address: '10.1.0.2/24', gateway: '10.1.0.1' }]);
    assert.deepEqual(r.routes, [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }]);
  });

  it('refuses results that are not results, naming the plugin', () => {
    assert.throws(() => parseResult([], '1.0.0', 'CNI plugin x'), /CNI plugin x returned an invalid result: not a JSON object/);
    assert.throws(() => parseResult({ ips: [{ address: '10.0.0.1' }] }, '1.0.0', 'x'), /ips\[0\].address must be an address in CIDR notation/);
    assert.throws(() => parseResult({ interfaces: [{ name: 'eth0' }], ips: [{ address: '10.0.0.1/8', interface: 1 }] }, '1.0.0', 'x'), /ips\[0\].interface 1 is not an index into interfaces \(1 of them\)/);
    assert.throws(() => parseResult({ routes: [{}] }, '1.0.0', 'x'), /routes\[0\].dst is missing/);
    assert.equal(splitCidr('10.0.0.1/33'), undefined);
    assert.deepEqual(splitCidr('fd00::1/64'), ['fd00::1', 64]);
  });

  it('groups addresses by interface and picks the first IPv4 address of the main one (go-cni, containerd)', () => {
    const lo = parseResult({ cniVersion: '0.3.1', interfaces: [{ name: 'lo', sandbox: '/run/netns/p' }], ips: [{ version: '4', address: '127.0.0.1/8', interface: 0 }] }, '0.3.1', 'loopback');
    const main = parseResult({ ...bridge04, ips: [bridge04.ips[1], bridge04.ips[0]] }, '0.4.0', 'bridge');
    const net = podNetworkOf([{ network: 'cni-loopback', ifName: 'lo', result: lo }, { network: 'pods', ifName: 'eth0', result: main }], 'eth0');
    assert.equal(net.ip, '10.88.0.5');
    assert.deepEqual(net.additionalIps, ['fd00::5']);
    assert.deepEqual(net.interfaces['eth0'], { ips: [{ ip: 'fd00::5', prefixLength: 64, gateway: 'fd00::1' }, { ip: '10.88.0.5', prefixLength: 16, gateway: '10.88.0.1' }], mac: 'aa:bb:cc:dd:ee:03', sandbox: '/run/netns/p' });
    assert.deepEqual(net.interfaces['lo']!.ips, [{ ip: '127.0.0.1', prefixLength: 8 }]);
    assert.equal(net.dns.length, 2);
    // Addresses naming no interface belong to the main one.
    const bare = podNetworkOf([{ network: 'n', ifName: 'eth0', result: parseResult({ ips: [{ address: '10.2.0.9/24' }] }, '1.0.0', 'p') }], 'eth0');
    assert.equal(bare.ip, '10.2.0.9');
  });
});

describe('CNI plugin invocation input', () => {
  const list: NetworkConfigList = { cniVersion: '1.0.0', name: 'pods', disableCheck: false, source: 'test', plugins: [] };

  it('injects name, cniVersion, prevResult, and only the capabilities the plugin declares', () => {
    const caps = { portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' }], bandwidth: { ingressRate: 1 }, dns: { servers: ['1.1.1.1'] } };
    const conf = pluginConfig(list, { type: 'portmap', name: 'ignored', cniVersion: '0.1.0', capabilities: { portMappings: true, bandwidth: false }, snat: true }, { ips: [] }, caps);
    assert.deepEqual(conf, {
      type: 'portmap', name: 'pods', cniVersion: '1.0.0', capabilities: { portMappings: true, bandwidth: false }, snat: true,
      prevResult: { ips: [] }, runtimeConfig: { portMappings: caps.portMappings },
    });
    const plain = pluginConfig(list, { type: 'bridge', runtimeConfig: { x: 1 } }, undefined, caps);
    assert.deepEqual(plain, { type: 'bridge', name: 'pods', cniVersion: '1.0.0', runtimeConfig: { x: 1 } });
  });

  it('sets the CNI_* environment', () => {
    assert.deepEqual(pluginEnv('ADD', { containerId: 'abc', netns: '/run/netns/p', ifName: 'eth0', args: [['IgnoreUnknown', '1'], ['K8S_POD_NAME', 'web']], capabilityArgs: {} }, ['/opt/cni/bin', '/usr/lib/cni']), {
      CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc', CNI_NETNS: '/run/netns/p', CNI_IFNAME: 'eth0', CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web', CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
    });
  });

  it('turns CRI port mappings into portmap ones', () => {
    assert.deepEqual(portMappingsOf([{ hostPort: 8080, containerPort: 80, protocol: 'TCP', hostIP: '127.0.0.1' }, { hostPort: 0, containerPort: 81 }, { hostPort: 53, containerPort: 53, protocol: 'UDP' }]), [
      { hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '127.0.0.1' },
      { hostPort: 53, containerPort: 53, protocol: 'udp' },
    ]);
    assert.throws(() => portMappingsOf([{ hostPort: 1, containerPort: 0 }]), /portMappings\[0\].containerPort 0 must be an integer from 1 to 65535/);
    assert.throws(() => portMappingsOf([{ hostPort: 70000, containerPort: 1 }]), /portMappings\[0\].hostPort 70000/);
    assert.throws(() => portMappingsOf([{ hostPort: 1, containerPort: 1, protocol: 'icmp' }]), /protocol "icmp" must be tcp, udp or sctp/);
  });

  it('compares versions', () => {
    assert.ok(versionAtLeast('1.0.0', '0.4.0'));
    assert.ok(versionAtLeast('0.4.0', '0.4.0'));
    assert.ok(!versionAtLeast('0.3.1', '0.4.0'));
  });
});
