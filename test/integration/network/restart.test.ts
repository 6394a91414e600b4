// A daemon restart: a new NetworkManager on the same state directory, told which endpoints
// belong to containers that kept running. Their connectivity, names and published ports keep
// working; the endpoints of containers that died are released; a new endpoint gets a fresh
// address. Also the crash cases: a veth lost while berthd was down is plugged in again.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { countRules } from '../../../src/network/nftables.js';
import type { State } from '../../../src/network/types.js';
import { eventually, inPrivateHost, NetTestEnv, nslookup, privateHostSetup, randomSubnets, sh, vethNames, wget } from './helpers.js';

inPrivateHost();

describe('daemon restart', () => {
  let env: NetTestEnv;
  let subnets: string[];

  before(() => {
    privateHostSetup();
    env = new NetTestEnv();
    subnets = randomSubnets(2);
  });
  after(async () => {
    await env?.cleanup();
  });

  it('keeps live endpoints working and releases dead ones', async () => {
    const m1 = env.manager({ defaultSubnet: subnets[0] });
    await m1.init([]);
    const net = await m1.create({ Name: `r-${env.tag}`, IPAM: { Config: [{ Subnet: subnets[1] }] } });
    const web = env.container('web');
    const cli = env.container('cli');
    const dead = env.container('dead');
    const eWeb = await m1.connect(net.Name, { containerId: web.id, containerName: 'web', netnsPath: web.netns, aliases: ['site'] });
    const eCli = await m1.connect(net.Name, { containerId: cli.id, containerName: 'cli', netnsPath: cli.netns });
    const eDead = await m1.connect(net.Name, { containerId: dead.id, containerName: 'dead', netnsPath: dead.netns });
    const onDefault = env.container('dflt');
    const eDflt = await m1.connect('bridge', { containerId: onDefault.id, containerName: 'dflt', netnsPath: onDefault.netns });
    await m1.publish(web.id, [{ proto: 'tcp', containerPort: 80, hostPort: 18088 }]);
    await m1.publish(dead.id, [{ proto: 'tcp', containerPort: 80, hostPort: 18089 }]);
    env.httpd(web, 'still here\n');
    assert.equal(await eventually(() => wget(undefined, 'http://127.0.0.1:18088/')), 'still here\n');
    const rulesBefore = await countRules(env.table);

    // berthd goes away (its DNS servers with it); one container dies meanwhile, and takes its
    // namespace, and so its veth pair, with it.
    await m1.close();
    env.dropContainer(dead);
    assert.equal(await wget(undefined, 'http://127.0.0.1:18088/', 2), 'still here\n', 'the kernel keeps forwarding while berthd is down');

    const m2 = env.manager({ defaultSubnet: subnets[0] });
    await m2.init([
      { containerId: web.id, network: net.Name },
      { containerId: cli.id, network: net.Id },
      { containerId: onDefault.id, network: 'bridge' },
    ]);
    const after = m2.get(net.Name);
    assert.deepEqual(Object.keys(after.Containers).sort(), [web.id, cli.id].sort());
    assert.equal(m2.get('bridge').Containers[onDefault.id]!.IPv4Address, `${eDflt.IPAddress}/24`);
    const state = JSON.parse(readFileSync(join(env.stateDir, 'networks.json'), 'utf8')) as State;
    const ipam = state.networks.find((n) => n.id === net.Id)!.ipam;
    assert.deepEqual(Object.keys(ipam.allocated).sort(), [eWeb.IPAddress, eCli.IPAddress].sort(), 'the dead endpoint\'s address is released');
    assert.deepEqual(Object.keys(state.ports), [web.id], 'the dead container\'s ports are released');
    assert.equal(await countRules(env.table), rulesBefore - 1, 'the rebuilt table lost only the dead container\'s DNAT');

    // Names, direct traffic and the published port still work.
    const gw = m2.dnsServerFor(net.Name)!;
    assert.deepEqual((await nslookup(cli.netns, 'site', gw)).addresses, [eWeb.IPAddress]);
    assert.equal(await eventually(() => wget(cli.netns, `http://${eWeb.IPAddress}/`)), 'still here\n');
    assert.equal(await eventually(() => wget(undefined, 'http://127.0.0.1:18088/')), 'still here\n');
    assert.deepEqual(m2.publishedPorts(web.id), [{ proto: 'tcp', containerPort: 80, hostIp: '0.0.0.0', hostPort: 18088 }, { proto: 'tcp', containerPort: 80, hostIp: '::', hostPort: 18088 }]);
    assert.equal(await wget(undefined, 'http://[::1]:18088/'), 'still here\n', 'its IPv6 listener is open again');
    // The dead container's port is free again.
    const next = env.container('next');
    const eNext = await m2.connect(net.Name, { containerId: next.id, containerName: 'next', netnsPath: next.netns });
    assert.ok(![eWeb.IPAddress, eCli.IPAddress].includes(eNext.IPAddress), `fresh address ${eNext.IPAddress}`);
    assert.notEqual(eNext.IPAddress, eDead.IPAddress, 'a released address is not handed out again at once');
    assert.deepEqual(await m2.publish(next.id, [{ proto: 'tcp', containerPort: 80, hostPort: 18089 }]), [{ proto: 'tcp', containerPort: 80, hostIp: '0.0.0.0', hostPort: 18089 }, { proto: 'tcp', containerPort: 80, hostIp: '::', hostPort: 18089 }]);
    assert.deepEqual((await nslookup(next.netns, 'web', gw)).addresses, [eWeb.IPAddress]);
    await m2.close();
  });

  it('plugs a live endpoint in again when its veth went missing, and is idempotent', async () => {
    const m3 = env.manager({ defaultSubnet: subnets[0] });
    const live = () => {
      const s = JSON.parse(readFileSync(join(env.stateDir, 'networks.json'), 'utf8')) as State;
      return s.networks.flatMap((n) => Object.values(n.endpoints).map((e) => ({ containerId: e.containerId, network: n.id })));
    };
    const endpoints = live();
    const web = JSON.parse(readFileSync(join(env.stateDir, 'networks.json'), 'utf8')) as State;
    const webEp = web.networks.flatMap((n) => Object.values(n.endpoints)).find((e) => e.containerName === 'web')!;
    sh('ip', ['link', 'del', webEp.hostVeth]);
    await m3.init(endpoints);
    assert.ok(vethNames().includes(webEp.hostVeth), 'plugged in again');
    assert.equal(await eventually(() => wget(undefined, 'http://127.0.0.1:18088/')), 'still here\n');
    const rules = await countRules(env.table);
    const vethCount = vethNames().length;
    await m3.close();
    const m4 = env.manager({ defaultSubnet: subnets[0] });
    await m4.init(endpoints);
    assert.equal(await countRules(env.table), rules);
    assert.equal(vethNames().length, vethCount);
    await m4.init(endpoints);
    assert.equal(await countRules(env.table), rules);
    await m4.close();
  });

  it('moves the default subnet off 172.30.0.0/16 when a host route overlaps it, and keeps it across restarts', async () => {
    const env2 = new NetTestEnv();
    const veth = `vr${env2.tag}`;
    env2.ownLink(veth);
    try {
      sh('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', `${veth}p`]);
      sh('ip', ['addr', 'add', '172.30.7.1/24', 'dev', veth]);
      sh('ip', ['link', 'set', veth, 'up']);
      const first = env2.manager();
      await first.init([]);
      const subnet = first.get('bridge').IPAM.Config[0]!.Subnet;
      assert.notEqual(subnet, '172.30.0.0/16');
      assert.ok(env2.logs.some((l) => l.includes(`172.30.0.0/16 overlaps a host route: the default bridge network uses ${subnet}`)), env2.logs.join('\n'));
      await first.close();
      const again = env2.manager();
      await again.init([]);
      assert.equal(again.get('bridge').IPAM.Config[0]!.Subnet, subnet);
      await again.close();
    } finally {
      await env2.cleanup();
    }
  });
});
