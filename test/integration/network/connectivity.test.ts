// Containers on bridge networks, on the real kernel: reaching each other by name through the
// embedded DNS, isolation between networks, internal networks, masquerading out, forwarding of
// other names to the host's resolvers. Runs in a private network namespace playing the host.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { aRecord, buildResponse, parseQuery, RCODE } from '../../../src/network/dns/message.js';
import type { NetworkManager } from '../../../src/network/manager.js';
import type { EndpointInfo, NetworkRecord } from '../../../src/network/types.js';
import { dnsQuery, eventually, inPrivateHost, nslookup, NetTestEnv, privateHostSetup, randomSubnets, run, sh, wget, type FakeContainer } from './helpers.js';

inPrivateHost();

/** A stand-in for the host's resolver on 127.0.0.1:53: knows outside.example, fails fail.example, NXDOMAIN otherwise. */
async function fakeUpstream(): Promise<Socket> {
  const sock = createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    const q = parseQuery(msg);
    if (!q) return;
    const reply =
      q.question.name === 'outside.example' ? buildResponse(q, RCODE.NOERROR, q.question.type === 1 ? [aRecord('192.0.2.77', 60)] : [], 512, false)
      : q.question.name === 'fail.example' ? buildResponse(q, RCODE.SERVFAIL, [], 512, false)
      : buildResponse(q, RCODE.NXDOMAIN, [], 512, false);
    sock.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(53, '127.0.0.1', () => r()));
  return sock;
}

describe('bridge networks on the kernel', () => {
  let env: NetTestEnv;
  let m: NetworkManager;
  let upstream: Socket;
  let resolvConf: string;
  let subnets: string[];
  let netA: NetworkRecord;
  let netB: NetworkRecord;
  let web: FakeContainer;
  let client: FakeContainer;
  let other: FakeContainer;
  let eWeb: EndpointInfo;
  let eOther: EndpointInfo;
  /** A namespace outside playing a machine on the host's LAN: 10.250.x.2, the host being .1. */
  let lan: FakeContainer;
  let lanHostIp: string;

  before(async () => {
    privateHostSetup();
    env = new NetTestEnv();
    subnets = randomSubnets(5);
    upstream = await fakeUpstream();
    resolvConf = join(env.stateDir, 'host-resolv.conf');
    writeFileSync(resolvConf, 'nameserver 127.0.0.1\nsearch example.org\n');
    m = env.manager({ defaultSubnet: subnets[0], resolvConf });
    await m.init([]);
    netA = await m.create({ Name: `a-${env.tag}`, IPAM: { Config: [{ Subnet: subnets[1] }] } });
    netB = await m.create({ Name: `b-${env.tag}`, IPAM: { Config: [{ Subnet: subnets[2] }] } });
    web = env.container('web');
    client = env.container('cli');
    other = env.container('oth');
    eWeb = await m.connect(netA.Name, { containerId: web.id, containerName: '/web', netnsPath: web.netns, aliases: ['www'] });
    await m.connect(netA.Id, { containerId: client.id, containerName: 'cli', netnsPath: client.netns });
    eOther = await m.connect(netB.Name, { containerId: other.id, containerName: 'oth', netnsPath: other.netns });
    env.httpd(web, 'hello from web\n');
    env.httpd(other, 'hello from other\n');
    lan = env.container('lan');
    const lanNet = subnets[3]!.replace('.0/24', '');
    lanHostIp = `${lanNet}.1`;
    const veth = `vl${env.tag}`;
    env.ownLink(veth);
    sh('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', lan.netns]);
    sh('ip', ['addr', 'add', `${lanHostIp}/24`, 'dev', veth]);
    sh('ip', ['link', 'set', veth, 'up']);
    sh('nsenter', [`--net=${lan.netns}`, 'ip', 'addr', 'add', `${lanNet}.2/24`, 'dev', 'eth0']);
    sh('nsenter', [`--net=${lan.netns}`, 'ip', 'link', 'set', 'eth0', 'up']);
    env.httpd(lan, 'hello from the lan\n');
  });

  after(async () => {
    upstream?.close();
    await env?.cleanup();
  });

  it('plugs endpoints in: eth0 with the address, Docker MAC and default route', async () => {
    const inside = sh('nsenter', [`--net=${web.netns}`, 'ip', '-j', 'addr', 'show', 'dev', 'eth0']);
    const link = (JSON.parse(inside) as Array<{ address: string; addr_info: Array<{ local: string; prefixlen: number }> }>)[0]!;
    assert.equal(link.address, eWeb.MacAddress);
    assert.ok(link.addr_info.some((a) => a.local === eWeb.IPAddress && a.prefixlen === 24));
    assert.match(eWeb.MacAddress, /^02:42:0a:fa:/);
    assert.match(sh('nsenter', [`--net=${web.netns}`, 'ip', 'route', 'show', 'default']), new RegExp(`default via ${eWeb.Gateway.replace(/\./g, '\\.')} dev eth0`));
    assert.deepEqual(eWeb.DNSNames, ['web', 'www', web.id.slice(0, 12)]);
    const inspect = m.get(netA.Name);
    assert.equal(inspect.Containers[web.id]!.IPv4Address, `${eWeb.IPAddress}/24`);
    assert.equal(inspect.Containers[web.id]!.Name, 'web');
  });

  it('two containers on a user network reach each other by name through the embedded DNS', async () => {
    const gw = m.dnsServerFor(netA.Name)!;
    assert.equal(gw, netA.IPAM.Config[0]!.Gateway);
    for (const name of ['web', 'www', web.id.slice(0, 12), `web.${netA.Name}`, 'WEB']) {
      const r = await nslookup(client.netns, name, gw);
      assert.deepEqual(r.addresses, [eWeb.IPAddress], `${name}: ${r.out}`);
    }
    const body = await eventually(() => wget(client.netns, `http://${eWeb.IPAddress}/`));
    assert.equal(body, 'hello from web\n');
    // And by name, as a container whose resolv.conf names the embedded DNS resolves it.
    const rc = join(env.stateDir, 'container-resolv.conf');
    writeFileSync(rc, m.resolvConfFor(netA.Name));
    assert.match(m.resolvConfFor(netA.Name), new RegExp(`^nameserver ${gw.replace(/\./g, '\\.')}\nsearch example.org\noptions ndots:0\n$`));
    const byName = await run(undefined, ['unshare', '--mount', 'sh', '-c', `mount --bind ${rc} /etc/resolv.conf && exec nsenter --net=${client.netns} busybox wget -q -O - http://web/`]);
    assert.equal(byName.stdout, 'hello from web\n', byName.stderr);
  });

  it('containers on different networks neither reach nor resolve each other', async () => {
    assert.equal(await wget(client.netns, `http://${eOther.IPAddress}/`, 1), undefined);
    assert.equal(await wget(other.netns, `http://${eWeb.IPAddress}/`, 1), undefined);
    const r = await dnsQuery(netB.IPAM.Config[0]!.Gateway, 'web');
    assert.equal(r?.rcode, RCODE.NXDOMAIN, 'the host asks network b for a name of network a');
    const fromOther = await nslookup(other.netns, 'web', m.dnsServerFor(netB.Name)!, 1);
    assert.deepEqual(fromOther.addresses, [], fromOther.out);
    // Nor can a container use another network's DNS server through the host.
    const cross = await nslookup(client.netns, 'oth', m.dnsServerFor(netB.Name)!, 1);
    assert.deepEqual(cross.addresses, [], cross.out);
  });

  it('a container on two networks reaches and resolves both', async () => {
    const both = env.container('both');
    await m.connect(netA.Name, { containerId: both.id, containerName: 'both', netnsPath: both.netns });
    const e2 = await m.connect(netB.Name, { containerId: both.id, containerName: 'both', netnsPath: both.netns });
    assert.equal(sh('nsenter', [`--net=${both.netns}`, 'ip', '-br', 'link', 'show', 'eth1']).split(/\s+/)[0]!.replace(/@.*/, ''), 'eth1');
    assert.match(sh('nsenter', [`--net=${both.netns}`, 'ip', 'route', 'show', 'default']), /dev eth0/, 'the default route stays on the first network');
    assert.equal(await eventually(() => wget(both.netns, `http://${eOther.IPAddress}/`)), 'hello from other\n');
    assert.equal(await eventually(() => wget(both.netns, `http://${eWeb.IPAddress}/`)), 'hello from web\n');
    const r = await nslookup(both.netns, 'oth', m.dnsServerFor(netA.Name)!);
    assert.deepEqual(r.addresses, [eOther.IPAddress], r.out);
    await m.disconnect(netA.Name, both.id);
    assert.match(sh('nsenter', [`--net=${both.netns}`, 'ip', 'route', 'show', 'default']), /dev eth1/, 'the default route moved to the remaining network');
    await m.disconnect(netB.Name, both.id);
    assert.equal(sh('nsenter', [`--net=${both.netns}`, 'ip', '-o', 'link', 'show']).trim().split('\n').length, 1, 'only lo is left');
    assert.equal(e2.IPPrefixLen, 24);
  });

  it('masquerades what containers send out, and forwards other names to the host resolvers', async () => {
    // The LAN machine has no route to the container subnets: only masquerading makes replies come back.
    assert.equal(await eventually(() => wget(web.netns, `http://${lanHostIp.replace(/\.1$/, '.2')}/`)), 'hello from the lan\n');
    const gw = m.dnsServerFor(netA.Name)!;
    const ok = await nslookup(client.netns, 'outside.example', gw);
    assert.deepEqual(ok.addresses, ['192.0.2.77'], ok.out);
    assert.equal((await dnsQuery(gw, 'missing.example'))?.rcode, RCODE.NXDOMAIN);
    assert.equal((await dnsQuery(gw, 'fail.example'))?.rcode, RCODE.SERVFAIL);
    // AAAA of a container name: the name exists, with no IPv6 record (NOERROR, no answer).
    const aaaa = await dnsQuery(gw, 'web', 28);
    assert.deepEqual(aaaa, { rcode: RCODE.NOERROR, addresses: [] });
    // With no resolver answering, SERVFAIL rather than silence.
    writeFileSync(resolvConf, 'nameserver 127.0.0.9\n');
    const t0 = Date.now();
    assert.equal((await dnsQuery(gw, 'outside.example'))?.rcode, RCODE.SERVFAIL);
    assert.ok(Date.now() - t0 < 5000);
    writeFileSync(resolvConf, 'nameserver 127.0.0.1\n');
  });

  it('an --internal network has no way out, yet its containers reach each other and its DNS', async () => {
    const inet = await m.create({ Name: `int-${env.tag}`, Internal: true, IPAM: { Config: [{ Subnet: subnets[4] }] } });
    const i1 = env.container('in1');
    const i2 = env.container('in2');
    const e1 = await m.connect(inet.Name, { containerId: i1.id, containerName: 'in1', netnsPath: i1.netns });
    await m.connect(inet.Name, { containerId: i2.id, containerName: 'in2', netnsPath: i2.netns });
    env.httpd(i1, 'internal\n');
    assert.equal(sh('nsenter', [`--net=${i2.netns}`, 'ip', 'route', 'show', 'default']).trim(), '', 'no default route');
    assert.equal(await eventually(() => wget(i2.netns, `http://${e1.IPAddress}/`)), 'internal\n');
    const gw = m.dnsServerFor(inet.Name)!;
    assert.deepEqual((await nslookup(i2.netns, 'in1', gw)).addresses, [e1.IPAddress]);
    // Outside names are not forwarded for a container with no way out.
    assert.equal((await nslookup(i2.netns, 'outside.example', gw, 1)).addresses.length, 0);
    // Not another network's container, not the LAN, not the host's other address — even with a route added.
    sh('nsenter', [`--net=${i2.netns}`, 'ip', 'route', 'add', 'default', 'via', gw]);
    assert.equal(await wget(i2.netns, `http://${eWeb.IPAddress}/`, 1), undefined);
    assert.equal(await wget(i2.netns, `http://${lanHostIp.replace(/\.1$/, '.2')}/`, 1), undefined);
    const hostHttpd = env.spawn(undefined, ['busybox', 'httpd', '-f', '-p', `${lanHostIp}:8099`, '-h', env.stateDir]);
    await eventually(() => wget(undefined, `http://${lanHostIp}:8099/networks.json`).then((b) => (b ? true : undefined)));
    assert.equal(await wget(i2.netns, `http://${lanHostIp}:8099/networks.json`, 1), undefined);
    // Nor can the outside reach in.
    assert.equal(await wget(web.netns, `http://${e1.IPAddress}/`, 1), undefined);
    hostHttpd.kill('SIGKILL');
  });
});
