// Leaks and bad input: 100 connect/publish/disconnect cycles leave no veth, rule, address or port
// behind; refused requests leave links, rules and state exactly as they were; a connect that
// fails half-way removes what it made.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BridgeDriver } from '../../../src/network/drivers/bridge.js';
import type { NetworkManager } from '../../../src/network/manager.js';
import { countRules } from '../../../src/network/nftables.js';
import type { NetworkRecord, State, StoredEndpoint, StoredNetwork } from '../../../src/network/types.js';
import { inPrivateHost, NetTestEnv, privateHostSetup, randomSubnets, sh, vethNames } from './helpers.js';

inPrivateHost();

describe('leaks and bad input', () => {
  let env: NetTestEnv;
  let m: NetworkManager;
  let net: NetworkRecord;
  let subnets: string[];

  const state = (): State => JSON.parse(readFileSync(join(env.stateDir, 'networks.json'), 'utf8')) as State;
  /** Everything a failed request must not change: links, both tables' rules, the state file. */
  const snapshot = () => ({
    links: sh('ip', ['-o', 'link', 'show']).split('\n').map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1]).filter(Boolean).sort(),
    addrs: sh('ip', ['-o', '-4', 'addr', 'show']),
    rules: sh('nft', ['list', 'table', 'inet', env.table]) + sh('nft', ['list', 'table', 'ip', env.table]),
    state: readFileSync(join(env.stateDir, 'networks.json'), 'utf8'),
  });

  before(async () => {
    privateHostSetup();
    env = new NetTestEnv();
    subnets = randomSubnets(3);
    m = env.manager({ defaultSubnet: subnets[0] });
    await m.init([]);
    net = await m.create({ Name: `c-${env.tag}`, IPAM: { Config: [{ Subnet: subnets[1] }] } });
  });
  after(async () => {
    await env?.cleanup();
  });

  it('100 connect/publish/disconnect cycles leave nothing behind', async () => {
    const vethsBefore = vethNames().length;
    const rulesBefore = await countRules(env.table);
    const connectMs: number[] = [];
    const disconnectMs: number[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const c = env.container(`cy${i}`);
      let t = performance.now();
      const ep = await m.connect(net.Name, { containerId: c.id, containerName: `cy${i}`, netnsPath: c.netns, aliases: ['cycler'] });
      connectMs.push(performance.now() - t);
      seen.add(ep.IPAddress);
      const [b] = await m.publish(c.id, [{ proto: 'tcp', containerPort: 80 }]);
      assert.ok(b!.hostPort > 0);
      assert.equal(await countRules(env.table), rulesBefore + 1);
      t = performance.now();
      await m.disconnect(net.Name, c.id, c.netns);
      disconnectMs.push(performance.now() - t);
      env.dropContainer(c);
    }
    const avg = (a: number[]) => (a.reduce((x, y) => x + y, 0) / a.length).toFixed(1);
    const sorted = [...connectMs].sort((a, b) => a - b);
    console.log(`connect: mean ${avg(connectMs)} ms, median ${sorted[50]!.toFixed(1)} ms, max ${sorted[99]!.toFixed(1)} ms; disconnect (with its DNAT rule): mean ${avg(disconnectMs)} ms`);
    assert.equal(vethNames().length, vethsBefore, 'no veth left');
    assert.equal(await countRules(env.table), rulesBefore, 'no rule left');
    const s = state().networks.find((n) => n.id === net.Id)!;
    assert.deepEqual(s.ipam.allocated, {}, 'no address left');
    assert.deepEqual(s.endpoints, {});
    assert.deepEqual(state().ports, {}, 'no port left');
    assert.equal(sh('ip', ['-o', 'link', 'show', 'master', s.bridge!]).trim(), '', 'no bridge port left');
    assert.ok(seen.size > 90, `addresses go round the subnet rather than being reused at once (${seen.size} distinct)`);
  });

  it('refuses bad connects and leaves the kernel and the state as they were', async () => {
    const c = env.container('bad');
    const taken = env.container('taken');
    const eTaken = await m.connect(net.Name, { containerId: taken.id, containerName: 'taken', netnsPath: taken.netns });
    const before = snapshot();
    const gw = net.IPAM.Config[0]!.Gateway;
    const base = { containerId: c.id, containerName: 'bad', netnsPath: c.netns };
    await assert.rejects(m.connect(net.Name, { ...base, ipv4Address: '192.0.2.10' }), { message: 'invalid endpoint settings:\nno configured subnet contains IP address 192.0.2.10' });
    await assert.rejects(m.connect(net.Name, { ...base, ipv4Address: eTaken.IPAddress }), (e: Error & { httpStatus?: number }) => /^Address already in use/.test(e.message) && e.httpStatus === 409);
    await assert.rejects(m.connect(net.Name, { ...base, ipv4Address: gw }), /Address already in use/);
    await assert.rejects(m.connect(net.Name, { ...base, ipv4Address: '10.1.2' }), /invalid IPv4 address/);
    await assert.rejects(m.connect(net.Name, { ...base, macAddress: 'zz:zz' }), /invalid MAC address/);
    await assert.rejects(m.connect(net.Name, { ...base, netnsPath: join(env.netnsDir, 'nope') }), /not found/);
    await assert.rejects(m.connect('bridge', { ...base, ipv4Address: subnets[0]!.replace('0/24', '9') }), /user-specified IP address is supported on user-defined networks only/);
    await assert.rejects(m.connect('bridge', { ...base, aliases: ['x'] }), /network-scoped aliases are only supported for user-defined networks/);
    await assert.rejects(m.connect(net.Name, { containerId: taken.id, containerName: 'taken', netnsPath: taken.netns }), /endpoint with name taken already exists in network/);
    await assert.rejects(m.connect('none', { containerId: taken.id, containerName: 'taken', netnsPath: taken.netns }), /private \(none\) mode/);
    await assert.rejects(m.connect('host', { containerId: taken.id, containerName: 'taken', netnsPath: taken.netns }), /host cannot be connected to any other network/);
    // Not a namespace: the kernel refuses, nothing is made.
    const notNs = join(env.stateDir, 'plain-file');
    writeFileSync(notNs, '');
    await assert.rejects(m.connect(net.Name, { ...base, netnsPath: notNs }));
    // The namespace already has an eth0.
    sh('nsenter', [`--net=${c.netns}`, 'ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p']);
    await assert.rejects(m.connect(net.Name, base), /File exists/);
    sh('nsenter', [`--net=${c.netns}`, 'ip', 'link', 'del', 'eth0']);
    await assert.rejects(m.disconnect(net.Name, c.id), /is not connected to network/);
    await assert.rejects(m.remove(net.Name), { message: `error while removing network: network ${net.Name} id ${net.Id} has active endpoints` });
    await assert.rejects(m.create({ Name: `o-${env.tag}`, IPAM: { Config: [{ Subnet: subnets[1]!.replace('.0/24', '.128/25') }] } }), { message: 'Pool overlaps with other one on this address space' });
    await assert.rejects(m.create({ Name: net.Name }), { message: `network with name ${net.Name} already exists` });
    await assert.rejects(m.publish(c.id, [{ proto: 'tcp', containerPort: 80, hostPort: 18100 }]), /is not connected to any network/);
    assert.deepEqual(snapshot(), before);
    // After all that, the good request works and takes the next address.
    const ok = await m.connect(net.Name, base);
    assert.ok(ok.IPAddress);
    await m.disconnect(net.Name, c.id);
    await m.disconnect(net.Name, taken.id);
  });

  it('connects and disconnects many containers at once; the ones that fail leave nothing', async () => {
    const vethsBefore = vethNames().length;
    const cs = Array.from({ length: 16 }, (_, i) => env.container(`par${i}`));
    // Every fourth namespace already has an eth0: its connect fails in the kernel, after allocating.
    const failing = new Set(cs.filter((_, i) => i % 4 === 0).map((c) => c.id));
    for (const c of cs) if (failing.has(c.id)) sh('nsenter', [`--net=${c.netns}`, 'ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p']);
    let t = performance.now();
    const results = await Promise.allSettled(cs.map((c) => m.connect(net.Name, { containerId: c.id, containerName: c.name, netnsPath: c.netns })));
    const connectMs = performance.now() - t;
    const ok = results.flatMap((r, i) => (r.status === 'fulfilled' ? [{ c: cs[i]!, ip: r.value.IPAddress }] : []));
    results.forEach((r, i) => assert.equal(r.status === 'rejected', failing.has(cs[i]!.id), `${cs[i]!.name}: ${r.status}`));
    assert.equal(new Set(ok.map((o) => o.ip)).size, ok.length, 'distinct addresses');
    const s = state().networks.find((n) => n.id === net.Id)!;
    assert.deepEqual(Object.keys(s.endpoints).sort(), ok.map((o) => o.c.id).sort(), 'only the connected are recorded');
    assert.deepEqual(Object.values(s.ipam.allocated).length, ok.length, 'no address kept by a failed connect');
    assert.equal(sh('ip', ['-o', 'link', 'show', 'master', s.bridge!]).trim().split('\n').length, ok.length, 'one bridge port each');
    for (const o of ok) assert.match(sh('nsenter', [`--net=${o.c.netns}`, 'ip', '-o', '-4', 'addr', 'show', 'eth0']), new RegExp(` ${o.ip.replace(/\./g, '\\.')}/`));
    t = performance.now();
    await Promise.all(ok.map((o) => m.disconnect(net.Name, o.c.id, o.c.netns)));
    const disconnectMs = performance.now() - t;
    console.log(`${cs.length} connects at once: ${connectMs.toFixed(0)} ms; ${ok.length} disconnects at once: ${disconnectMs.toFixed(0)} ms`);
    const after = state().networks.find((n) => n.id === net.Id)!;
    assert.deepEqual(after.endpoints, {});
    assert.deepEqual(after.ipam.allocated, {});
    for (const c of cs) if (failing.has(c.id)) sh('nsenter', [`--net=${c.netns}`, 'ip', 'link', 'del', 'eth0']);
    for (const c of cs) env.dropContainer(c);
    assert.equal(vethNames().length, vethsBefore, 'no veth left');
  });

  it('a connect failing inside the namespace removes the veth it made', async () => {
    const c = env.container('half');
    const s = state().networks.find((n) => n.id === net.Id)! as StoredNetwork;
    const ep: StoredEndpoint = {
      containerId: c.id, containerName: 'half', endpointId: 'x', netnsPath: c.netns, aliases: [],
      ip: '10.999.0.2', mac: '02:42:0a:00:00:02', ifName: 'eth0', hostVeth: `vh${env.tag}`, defaultRoute: true,
    };
    const before = snapshot().links;
    await assert.rejects(new BridgeDriver(() => {}).join(s, ep), /configuring eth0 of half/);
    assert.deepEqual(snapshot().links, before, 'host side gone');
    assert.equal(sh('nsenter', [`--net=${c.netns}`, 'ip', '-o', 'link', 'show']).trim().split('\n').length, 1, 'inside: only lo');
  });
});
