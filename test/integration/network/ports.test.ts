// Published ports on the real kernel: DNAT from 127.0.0.1, from another machine on the host's LAN
// (a namespace with a veth to the host), hairpin from the container itself, ephemeral ports, UDP,
// and refusals (a port another container holds, a port a host process holds) that change nothing.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import type { NetworkManager } from '../../../src/network/manager.js';
import { countRules } from '../../../src/network/nftables.js';
import type { EndpointInfo, NetworkRecord } from '../../../src/network/types.js';
import { eventually, inPrivateHost, NetTestEnv, privateHostSetup, randomSubnets, sh, wget, type FakeContainer } from './helpers.js';

inPrivateHost();

/** A UDP round trip from the host: the reply, or undefined. */
function udpAsk(host: string, port: number, text: string): Promise<string | undefined> {
  const sock = createSocket('udp4');
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      sock.close();
      resolve(undefined);
    }, 1000);
    sock.on('message', (m) => {
      clearTimeout(timer);
      sock.close();
      resolve(m.toString());
    });
    sock.send(text, port, host);
  });
}

describe('published ports', () => {
  let env: NetTestEnv;
  let m: NetworkManager;
  let net: NetworkRecord;
  let web: FakeContainer;
  let peer: FakeContainer;
  let eWeb: EndpointInfo;
  let lan: FakeContainer;
  let hostLanIp: string;
  let holder: Server;
  let heldPort: number;

  before(async () => {
    privateHostSetup();
    env = new NetTestEnv();
    const subnets = randomSubnets(3);
    m = env.manager({ defaultSubnet: subnets[0] });
    await m.init([]);
    net = await m.create({ Name: `p-${env.tag}`, IPAM: { Config: [{ Subnet: subnets[1] }] } });
    web = env.container('web');
    peer = env.container('peer');
    eWeb = await m.connect(net.Name, { containerId: web.id, containerName: 'web', netnsPath: web.netns });
    await m.connect(net.Name, { containerId: peer.id, containerName: 'peer', netnsPath: peer.netns });
    env.httpd(web, 'published\n');
    env.spawn(web.netns, [process.execPath, '-e', `const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send('echo:'+m,r.port,r.address));s.bind(7000)`]);
    lan = env.container('lan');
    const base = subnets[2]!.replace('.0/24', '');
    hostLanIp = `${base}.1`;
    const veth = `vp${env.tag}`;
    env.ownLink(veth);
    sh('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', lan.netns]);
    sh('ip', ['addr', 'add', `${hostLanIp}/24`, 'dev', veth]);
    sh('ip', ['link', 'set', veth, 'up']);
    sh('nsenter', [`--net=${lan.netns}`, 'ip', 'addr', 'add', `${base}.2/24`, 'dev', 'eth0']);
    sh('nsenter', [`--net=${lan.netns}`, 'ip', 'link', 'set', 'eth0', 'up']);
    holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '0.0.0.0', () => r()));
    heldPort = (holder.address() as { port: number }).port;
    await eventually(() => wget(web.netns, `http://127.0.0.1/`));
  });

  after(async () => {
    holder?.close();
    await env?.cleanup();
  });

  it('answers on 127.0.0.1, on the host address from another machine, and hairpin from the container', async () => {
    const [b] = await m.publish(web.id, [{ proto: 'tcp', containerPort: 80, hostPort: 18080 }]);
    assert.deepEqual(b, { proto: 'tcp', containerPort: 80, hostIp: '0.0.0.0', hostPort: 18080 });
    assert.equal(await eventually(() => wget(undefined, 'http://127.0.0.1:18080/')), 'published\n');
    assert.equal(await eventually(() => wget(lan.netns, `http://${hostLanIp}:18080/`)), 'published\n', 'from the LAN');
    assert.equal(await eventually(() => wget(web.netns, `http://${hostLanIp}:18080/`)), 'published\n', 'hairpin through the host address');
    assert.equal(await eventually(() => wget(web.netns, `http://${eWeb.Gateway}:18080/`)), 'published\n', 'hairpin through the gateway');
    assert.equal(await eventually(() => wget(peer.netns, `http://${hostLanIp}:18080/`)), 'published\n', 'a neighbour through the host address');
    // Not published: the container's own port is not reachable from the LAN through the host.
    sh('nsenter', [`--net=${lan.netns}`, 'ip', 'route', 'add', net.IPAM.Config[0]!.Subnet, 'via', hostLanIp]);
    assert.equal(await wget(lan.netns, `http://${eWeb.IPAddress}/`, 1), undefined, 'no direct routing to a container from outside');
    assert.deepEqual(m.publishedPorts(web.id), [b]);
  });

  it('gives ephemeral ports from the kernel range, and publishes UDP', async () => {
    const [lo, hi] = sh('cat', ['/proc/sys/net/ipv4/ip_local_port_range']).trim().split(/\s+/).map(Number);
    const got = await m.publish(web.id, [{ proto: 'tcp', containerPort: 80 }, { proto: 'udp', containerPort: 7000, hostIp: '', hostPort: 0 }]);
    assert.equal(got.length, 2);
    for (const g of got) assert.ok(g.hostPort >= lo! && g.hostPort <= hi!, `${g.hostPort} in ${lo}-${hi}`);
    assert.equal(await eventually(() => wget(undefined, `http://127.0.0.1:${got[0]!.hostPort}/`)), 'published\n');
    assert.equal(await eventually(() => udpAsk('127.0.0.1', got[1]!.hostPort, 'ping')), 'echo:ping');
    assert.equal(await eventually(() => udpAsk(hostLanIp, got[1]!.hostPort, 'pong')), 'echo:pong');
  });

  it('binds a given host address only there', async () => {
    await m.publish(peer.id, [{ proto: 'tcp', containerPort: 80, hostIp: '127.0.0.1', hostPort: 18081 }]);
    env.httpd(peer, 'peer\n');
    assert.equal(await eventually(() => wget(undefined, 'http://127.0.0.1:18081/')), 'peer\n');
    assert.equal(await wget(lan.netns, `http://${hostLanIp}:18081/`, 1), undefined);
  });

  it('refuses a port another container or a host process holds, and changes nothing', async () => {
    const rules = await countRules(env.table);
    const ruleset = sh('nft', ['list', 'table', 'ip', env.table]);
    const other = env.container('other');
    await m.connect(net.Name, { containerId: other.id, containerName: 'other', netnsPath: other.netns });
    await assert.rejects(m.publish(other.id, [{ proto: 'tcp', containerPort: 80, hostPort: 18080 }]), { message: 'Bind for 0.0.0.0:18080 failed: port is already allocated' });
    await assert.rejects(m.publish(other.id, [{ proto: 'tcp', containerPort: 80, hostIp: '127.0.0.1', hostPort: 18080 }]), { message: 'Bind for 127.0.0.1:18080 failed: port is already allocated' });
    await assert.rejects(m.publish(other.id, [{ proto: 'tcp', containerPort: 80, hostPort: 18081 }]), /18081 failed: port is already allocated/);
    await assert.rejects(m.publish(other.id, [{ proto: 'tcp', containerPort: 80, hostPort: heldPort }]), { message: `Bind for 0.0.0.0:${heldPort} failed: port is already allocated` });
    // Two in one request: the good one is not kept when the second fails.
    await assert.rejects(m.publish(other.id, [{ proto: 'tcp', containerPort: 81, hostPort: 18090 }, { proto: 'tcp', containerPort: 80, hostPort: heldPort }]), /port is already allocated/);
    await assert.rejects(m.publish(other.id, [{ proto: 'tcp', containerPort: 80, hostIp: '192.0.2.99', hostPort: 18095 }]), /cannot assign requested address/);
    await assert.rejects(m.publish(other.id, [{ proto: 'tcp', containerPort: 0, hostPort: 18096 }]), /invalid containerPort/);
    assert.equal(await countRules(env.table), rules);
    assert.equal(sh('nft', ['list', 'table', 'ip', env.table]), ruleset);
    assert.deepEqual(m.publishedPorts(other.id), []);
    // UDP on the same number as a TCP binding is another port.
    const [u] = await m.publish(other.id, [{ proto: 'udp', containerPort: 80, hostPort: 18080 }]);
    assert.equal(u!.hostPort, 18080);
    await m.disconnect(net.Name, other.id);
    assert.deepEqual(m.publishedPorts(other.id), [], 'disconnect removes the endpoint\'s ports');
    assert.equal(await countRules(env.table), rules);
  });

  it('unpublish removes the rules: the port stops answering and is free again', async () => {
    const rules = await countRules(env.table);
    await m.unpublish(web.id);
    assert.equal(await countRules(env.table), rules - 3);
    assert.equal(await wget(undefined, 'http://127.0.0.1:18080/', 1), undefined);
    const [b] = await m.publish(peer.id, [{ proto: 'tcp', containerPort: 80, hostPort: 18080 }]);
    assert.equal(b!.hostPort, 18080);
    assert.equal(await eventually(() => wget(undefined, 'http://127.0.0.1:18080/')), 'peer\n');
  });
});
