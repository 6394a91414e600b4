// Networks as Docker shows them, made on the real host's network stack next to whatever else runs
// there (Docker, another berthd): predefined networks, create/inspect/remove, Docker's errors, IPAM
// with --ip-range and static addresses, and no change to any nftables table berth does not own.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../../../src/common/errors.js';
import type { NetworkManager } from '../../../src/network/manager.js';
import type { NetworkRecord } from '../../../src/network/types.js';
import { eventually, NetTestEnv, randomSubnets, sh, wget } from './helpers.js';

/** Other tables berth must never touch: their rules as nft prints them (counters left out). */
function foreignTables(ours: string): string {
  const out = sh('nft', ['-j', 'list', 'tables']);
  const tables = (JSON.parse(out) as { nftables: Array<{ table?: { family: string; name: string } }> }).nftables.flatMap((o) => (o.table ? [o.table] : []));
  return tables
    .filter((t) => t.name !== ours && ['filter', 'nat'].includes(t.name))
    .map((t) => sh('nft', ['list', 'table', t.family, t.name]).replace(/counter packets \d+ bytes \d+ /g, ''))
    .join('\n');
}

const status = (code: number) => (e: unknown) => e instanceof BerthError && e.httpStatus === code;

describe('networks on the host', () => {
  let env: NetTestEnv;
  let m: NetworkManager;
  let subnets: string[];
  let foreignBefore: string;

  before(async () => {
    env = new NetTestEnv();
    subnets = randomSubnets(6);
    foreignBefore = foreignTables(env.table);
    m = env.manager({ defaultSubnet: subnets[0] });
    await m.init([]);
  });
  after(async () => {
    await env?.cleanup();
  });

  it('has the predefined networks: bridge on the configured bridge and subnet, host, none', () => {
    const names = m.list().map((n) => n.Name).sort();
    assert.deepEqual(names, ['bridge', 'host', 'none']);
    const bridge = m.get('bridge');
    assert.equal(bridge.Driver, 'bridge');
    assert.deepEqual(bridge.IPAM, { Driver: 'default', Options: null, Config: [{ Subnet: subnets[0], Gateway: subnets[0]!.replace('0/24', '1') }] });
    assert.equal(bridge.Options['com.docker.network.bridge.name'], env.defaultBridge);
    assert.equal(bridge.Options['com.docker.network.bridge.default_bridge'], 'true');
    assert.match(sh('ip', ['-o', '-4', 'addr', 'show', 'dev', env.defaultBridge]), new RegExp(`inet ${subnets[0]!.replace('0/24', '1')}/24`));
    assert.equal(m.get('host').Driver, 'host');
    assert.equal(m.get('none').Driver, 'null');
    assert.deepEqual(m.get('none').IPAM.Config, []);
    assert.equal(m.dnsServerFor('bridge'), undefined, 'no embedded DNS on the default bridge, as in Docker');
    assert.match(m.resolvConfFor('bridge'), /^nameserver /);
    assert.equal(sh('cat', ['/proc/sys/net/ipv4/ip_forward']).trim(), '1');
  });

  it('refuses to remove or remake predefined networks, and unknown drivers', async () => {
    await assert.rejects(m.remove('bridge'), { message: 'bridge is a pre-defined network and cannot be removed' });
    await assert.rejects(m.remove('none'), status(409));
    await assert.rejects(m.create({ Name: 'host' }), { message: 'operation is not permitted on predefined host network' });
    await assert.rejects(m.create({ Name: `h-${env.tag}`, Driver: 'host' }), { message: 'only one instance of "host" network is allowed' });
    await assert.rejects(m.create({ Name: `o-${env.tag}`, Driver: 'overlay' }), status(501));
    await assert.rejects(m.create({ Name: `x-${env.tag}`, Driver: 'weird' }), status(404));
    await assert.rejects(m.create({ Name: `6-${env.tag}`, EnableIPv6: true }), status(501));
  });

  let net: NetworkRecord;
  it('creates a user network: br-<id>, gateway address, Docker fields', async () => {
    net = await m.create({
      Name: `u-${env.tag}`, Labels: { team: 'net' }, Options: { 'com.docker.network.driver.mtu': '1400' }, Attachable: true,
      IPAM: { Config: [{ Subnet: subnets[1], Gateway: subnets[1]!.replace('0/24', '254'), IPRange: subnets[1]!.replace('0/24', '16/28') }] },
    });
    assert.match(net.Id, /^[0-9a-f]{64}$/);
    assert.equal(net.Name, `u-${env.tag}`);
    assert.equal(net.Scope, 'local');
    assert.equal(net.Driver, 'bridge');
    assert.equal(net.Attachable, true);
    assert.equal(net.Internal, false);
    assert.deepEqual(net.Labels, { team: 'net' });
    assert.deepEqual(net.IPAM.Config, [{ Subnet: subnets[1], Gateway: subnets[1]!.replace('0/24', '254'), IPRange: subnets[1]!.replace('0/24', '16/28') }]);
    assert.ok(!Number.isNaN(Date.parse(net.Created)));
    const br = `br-${net.Id.slice(0, 12)}`;
    const link = sh('ip', ['-o', '-4', 'addr', 'show', 'dev', br]);
    assert.match(link, new RegExp(`inet ${subnets[1]!.replace('0/24', '254')}/24`));
    assert.match(sh('ip', ['-o', 'link', 'show', 'dev', br]), /mtu 1400/);
    // Docker's lookup: full ID, name, unique ID prefix.
    assert.equal(m.get(net.Id).Name, net.Name);
    assert.equal(m.get(net.Id.slice(0, 10)).Name, net.Name);
    assert.throws(() => m.get(`nope-${env.tag}`), { message: `network nope-${env.tag} not found` });
    assert.throws(() => m.get(`nope-${env.tag}`), status(404));
  });

  it('speaks Docker\'s errors for bad IPAM config', async () => {
    const name = `e-${env.tag}`;
    await assert.rejects(m.create({ Name: net.Name }), status(409));
    await assert.rejects(m.create({ Name: name, IPAM: { Config: [{ Subnet: '10.1.2/24' }] } }), { message: 'invalid CIDR address: 10.1.2/24' });
    await assert.rejects(m.create({ Name: name, IPAM: { Config: [{ Subnet: '10.250.0.5/24' }] } }), { message: 'invalid network config:\ninvalid subnet 10.250.0.5/24: it should be 10.250.0.0/24' });
    await assert.rejects(m.create({ Name: name, IPAM: { Config: [{ Subnet: subnets[2], Gateway: '192.0.2.1' }] } }), {
      message: `invalid network config:\ninvalid gateway 192.0.2.1: parent subnet ${subnets[2]} doesn't contain this address`,
    });
    await assert.rejects(m.create({ Name: name, IPAM: { Config: [{ Subnet: subnets[2], IPRange: '192.0.2.0/28' }] } }), /doesn't contain ip-range/);
    await assert.rejects(m.create({ Name: name, IPAM: { Config: [{ Subnet: subnets[1] }] } }), { message: 'Pool overlaps with other one on this address space' });
    await assert.rejects(m.create({ Name: name, IPAM: { Config: [{ Subnet: subnets[1] }] } }), status(409));
    await assert.rejects(m.create({ Name: name, IPAM: { Config: [{ Subnet: subnets[2] }] } , Options: { 'com.docker.network.driver.mtu': 'lots' } }), status(400));
    assert.throws(() => m.get(name), status(404), 'nothing was left of the failed creates');
  });

  it('picks a subnet from the pool, skipping host routes and other networks', async () => {
    const hostRoute = sh('ip', ['-4', 'route', 'show']).split('\n').map((l) => l.split(' ')[0]!).find((d) => d.includes('/'))!;
    const env2 = new NetTestEnv();
    try {
      const auto = env2.manager({ defaultSubnet: subnets[4], poolForNewNetworks: [subnets[5]!, hostRoute, subnets[3]!] });
      await auto.init([]);
      const first = await auto.create({ Name: `p1-${env.tag}` });
      assert.equal(first.IPAM.Config[0]!.Subnet, subnets[5]);
      assert.equal(first.IPAM.Config[0]!.Gateway, subnets[5]!.replace('0/24', '1'));
      const second = await auto.create({ Name: `p2-${env.tag}` });
      assert.equal(second.IPAM.Config[0]!.Subnet, subnets[3], `${hostRoute} is a host route`);
      await assert.rejects(auto.create({ Name: `p3-${env.tag}` }), { message: 'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network' });
    } finally {
      await env2.cleanup();
    }
  });

  it('allocates in --ip-range, takes static addresses, and releases on disconnect', async () => {
    const a = env.container('a');
    const b = env.container('b');
    const ea = await m.connect(net.Name, { containerId: a.id, containerName: 'a', netnsPath: a.netns });
    assert.equal(ea.IPAddress, subnets[1]!.replace('0/24', '16'), 'the first address of the range (a host address of the subnet)');
    assert.equal(ea.Gateway, subnets[1]!.replace('0/24', '254'));
    const staticIp = subnets[1]!.replace('0/24', '100');
    const eb = await m.connect(net.Name, { containerId: b.id, containerName: 'b', netnsPath: b.netns, ipv4Address: staticIp, macAddress: '02:42:AA:BB:CC:DD' });
    assert.equal(eb.IPAddress, staticIp, 'a static address may be outside the range, inside the subnet');
    assert.equal(eb.MacAddress, '02:42:aa:bb:cc:dd');
    // The host reaches a container directly (no forwarding involved, whatever the host firewall).
    env.httpd(b, 'b\n');
    assert.equal(await eventually(() => wget(undefined, `http://${staticIp}/`)), 'b\n');
    // And its published port on 127.0.0.1 (DNAT on the host's output path).
    await m.publish(b.id, [{ proto: 'tcp', containerPort: 80, hostIp: '127.0.0.1', hostPort: 0 }]).then(async ([p]) => {
      assert.equal(await eventually(() => wget(undefined, `http://127.0.0.1:${p!.hostPort}/`)), 'b\n');
    });
    const inspect = m.get(net.Name);
    assert.deepEqual(Object.keys(inspect.Containers).sort(), [a.id, b.id].sort());
    await assert.rejects(m.remove(net.Name), /has active endpoints/);
    await m.disconnect(net.Name, a.id);
    await m.disconnect(net.Name, b.id);
    assert.deepEqual(m.get(net.Name).Containers, {});
    assert.deepEqual(m.publishedPorts(b.id), []);
  });

  it('removes a network with its bridge, and leaves other tables alone', async () => {
    await m.remove(net.Name);
    assert.throws(() => m.get(net.Id), status(404));
    assert.equal(sh('ip', ['-o', 'link', 'show']).includes(`br-${net.Id.slice(0, 12)}`), false);
    assert.equal(foreignTables(env.table), foreignBefore);
    const drops = env.logs.filter((l) => l.includes('dropped by base chains berth does not own'));
    const chains = (JSON.parse(sh('nft', ['-j', 'list', 'chains'])) as { nftables: Array<{ chain?: { table: string; hook?: string; policy?: string } }> }).nftables;
    const foreignDrop = chains.some((o) => o.chain && o.chain.table !== env.table && o.chain.hook === 'forward' && o.chain.policy === 'drop');
    assert.equal(drops.length > 0, foreignDrop, 'init() warns when another table drops forwarded traffic');
  });
});
