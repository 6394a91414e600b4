// Published ports on the real kernel: DNAT from 127.0.0.1, from another machine on the host's LAN
// (a namespace with a veth to the host), hairpin from the container itself, ephemeral ports, UDP,
// and refusals (a port another container holds, a port a host process holds) that change nothing.
// Over IPv6 (berthd's proxies): [::] and [::1], TCP with half-close and UDP, explicit IPv6 host
// addresses, conflicts on IPv6, a daemon restart, listeners closed with the port, and a host
// without IPv6.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect, createServer, type Server } from 'node:net';
import type { NetworkManager } from '../../../src/network/manager.js';
import { countRules } from '../../../src/network/nftables.js';
import { probeBind } from '../../../src/network/ports.js';
import type { EndpointInfo, NetworkRecord } from '../../../src/network/types.js';
import { eventually, inPrivateHost, NetTestEnv, privateHostSetup, randomSubnets, sh, wget, type FakeContainer } from './helpers.js';

inPrivateHost();

/** The host's address on the fake LAN, and the other machine's. */
const HOST_LAN_IP6 = 'fd00:b::1';
const LAN_IP6 = 'fd00:b::2';

/** A UDP round trip from the host: the reply, or undefined. */
function udpAsk(host: string, port: number, text: string): Promise<string | undefined> {
  const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
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

/**
 * A TCP exchange from the host: sends `data`, shuts down its sending side, and returns all it got
 * until the other side ended; undefined when refused, reset or too slow.
 */
function tcpExchange(host: string, port: number, data: string, timeoutMs = 3000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = connect({ host, port });
    const done = (v: string | undefined) => {
      clearTimeout(timer);
      s.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => done(Buffer.concat(chunks).toString()));
    s.on('error', () => done(undefined));
    s.end(data);
  });
}

/** A host process holding a TCP port on IPv6 only. */
async function holdV6(port: number): Promise<Server> {
  const s = createServer();
  await new Promise<void>((r) => s.listen({ host: '::', port, ipv6Only: true }, () => r()));
  return s;
}

describe('published ports', () => {
  let env: NetTestEnv;
  let subnets: string[];
  let m: NetworkManager;
  let net: NetworkRecord;
  let web: FakeContainer;
  let peer: FakeContainer;
  let eWeb: EndpointInfo;
  let lan: FakeContainer;
  let hostLanIp: string;
  let holder: Server;
  let heldPort: number;
  let webUdpPort: number;
  let sixId: string;

  before(async () => {
    privateHostSetup();
    env = new NetTestEnv();
    subnets = randomSubnets(3);
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
    sh('ip', ['-6', 'addr', 'add', `${HOST_LAN_IP6}/64`, 'dev', veth, 'nodad']);
    sh('nsenter', [`--net=${lan.netns}`, 'ip', '-6', 'addr', 'add', `${LAN_IP6}/64`, 'dev', 'eth0', 'nodad']);
    assert.match(sh('ip', ['-6', 'addr', 'show', 'dev', 'lo']), /inet6 ::1\/128/, 'the private host has ::1');
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
    const bindings = await m.publish(web.id, [{ proto: 'tcp', containerPort: 80, hostPort: 18080 }]);
    assert.deepEqual(bindings, [
      { proto: 'tcp', containerPort: 80, hostIp: '0.0.0.0', hostPort: 18080 },
      { proto: 'tcp', containerPort: 80, hostIp: '::', hostPort: 18080 },
    ], 'Docker\'s implicit [::] binding beside 0.0.0.0');
    assert.equal(await eventually(() => wget(undefined, 'http://127.0.0.1:18080/')), 'published\n');
    assert.equal(await eventually(() => wget(lan.netns, `http://${hostLanIp}:18080/`)), 'published\n', 'from the LAN');
    assert.equal(await wget(undefined, 'http://[::1]:18080/'), 'published\n', 'over IPv6 loopback');
    assert.equal(await wget(lan.netns, `http://[${HOST_LAN_IP6}]:18080/`), 'published\n', 'from the LAN over IPv6');
    assert.equal(await (await fetch('http://localhost:18080/')).text(), 'published\n', 'Node\'s fetch of localhost (::1 first)');
    assert.equal(await eventually(() => wget(web.netns, `http://${hostLanIp}:18080/`)), 'published\n', 'hairpin through the host address');
    assert.equal(await eventually(() => wget(web.netns, `http://${eWeb.Gateway}:18080/`)), 'published\n', 'hairpin through the gateway');
    assert.equal(await eventually(() => wget(peer.netns, `http://${hostLanIp}:18080/`)), 'published\n', 'a neighbour through the host address');
    // Not published: the container's own port is not reachable from the LAN through the host.
    sh('nsenter', [`--net=${lan.netns}`, 'ip', 'route', 'add', net.IPAM.Config[0]!.Subnet, 'via', hostLanIp]);
    assert.equal(await wget(lan.netns, `http://${eWeb.IPAddress}/`, 1), undefined, 'no direct routing to a container from outside');
    assert.deepEqual(m.publishedPorts(web.id), bindings);
  });

  it('gives ephemeral ports from the kernel range, and publishes UDP', async () => {
    const [lo, hi] = sh('cat', ['/proc/sys/net/ipv4/ip_local_port_range']).trim().split(/\s+/).map(Number);
    const got = await m.publish(web.id, [{ proto: 'tcp', containerPort: 80 }, { proto: 'udp', containerPort: 7000, hostIp: '', hostPort: 0 }]);
    assert.deepEqual(got.map((g) => `${g.proto} ${g.hostIp}`), ['tcp 0.0.0.0', 'tcp ::', 'udp 0.0.0.0', 'udp ::']);
    for (const g of got) assert.ok(g.hostPort >= lo! && g.hostPort <= hi!, `${g.hostPort} in ${lo}-${hi}`);
    assert.equal(got[1]!.hostPort, got[0]!.hostPort, 'one port for both families');
    assert.equal(got[3]!.hostPort, got[2]!.hostPort);
    const [tcpPort, udpPort] = [got[0]!.hostPort, got[2]!.hostPort];
    assert.equal(await eventually(() => wget(undefined, `http://127.0.0.1:${tcpPort}/`)), 'published\n');
    assert.equal(await eventually(() => udpAsk('127.0.0.1', udpPort, 'ping')), 'echo:ping');
    assert.equal(await eventually(() => udpAsk(hostLanIp, udpPort, 'pong')), 'echo:pong');
    assert.equal(await wget(undefined, `http://[::1]:${tcpPort}/`), 'published\n');
    assert.equal(await udpAsk('::1', udpPort, 'ping6'), 'echo:ping6', 'UDP over IPv6');
    assert.equal(await udpAsk(HOST_LAN_IP6, udpPort, 'pong6'), 'echo:pong6');
    webUdpPort = udpPort;
  });

  it('forwards TCP over IPv6 with half-close both ways, to the container\'s IPv4 address', async () => {
    const hc = env.container('hc');
    await m.connect(net.Name, { containerId: hc.id, containerName: 'hc', netnsPath: hc.netns });
    // Reads until the client's FIN, then answers and ends; and on 81 ends first, then reads.
    env.spawn(hc.netns, [process.execPath, '-e', `const net=require('net');
      net.createServer({allowHalfOpen:true},s=>{let n=0;s.on('data',c=>n+=c.length);s.on('end',()=>s.end('got '+n+' bytes'))}).listen(80);
      net.createServer({allowHalfOpen:true},s=>{let t='';s.end('bye');s.on('data',c=>t+=c);s.on('end',()=>require('fs').writeFileSync(process.argv[1],t))}).listen(81);`, `${env.netnsDir}/hc-81`]);
    const bindings = await m.publish(hc.id, [{ proto: 'tcp', containerPort: 80, hostPort: 18100 }, { proto: 'tcp', containerPort: 81, hostPort: 18101 }]);
    assert.equal(bindings.length, 4);
    const big = 'x'.repeat(3 << 20);
    assert.equal(await eventually(() => tcpExchange('::1', 18100, big)), `got ${big.length} bytes`, 'the reply comes after the client shut down its side');
    assert.equal(await tcpExchange(HOST_LAN_IP6, 18100, 'hi'), 'got 2 bytes');
    assert.equal(await tcpExchange('127.0.0.1', 18100, 'hi'), 'got 2 bytes', 'IPv4 is still the kernel\'s DNAT');
    // The container ends first; what the client sends after still arrives.
    const text = await new Promise<string>((resolve, reject) => {
      const c = connect({ host: '::1', port: 18101, allowHalfOpen: true });
      let got = '';
      c.on('data', (d: Buffer) => (got += d.toString()));
      c.on('end', () => c.end(`after ${got}`));
      c.on('close', () => resolve(got));
      c.on('error', reject);
    });
    assert.equal(text, 'bye');
    assert.equal(await eventually(async () => { try { return sh('cat', [`${env.netnsDir}/hc-81`]) || undefined; } catch { return undefined; } }), 'after bye');
    await m.unpublish(hc.id);
    await m.disconnect(net.Name, hc.id);
  });

  it('binds an explicit IPv6 host address only there, with no DNAT', async () => {
    const six = env.container('six');
    await m.connect(net.Name, { containerId: six.id, containerName: 'six', netnsPath: six.netns });
    env.httpd(six, 'six\n');
    const rules = await countRules(env.table);
    const got = await m.publish(six.id, [
      { proto: 'tcp', containerPort: 80, hostIp: '0:0::1', hostPort: 18110 },
      { proto: 'tcp', containerPort: 80, hostIp: '::', hostPort: 18111 },
    ]);
    assert.deepEqual(got.map((g) => `${g.hostIp} ${g.hostPort}`), ['::1 18110', ':: 18111'], 'as given, written canonically');
    assert.equal(await countRules(env.table), rules, 'no DNAT for IPv6 bindings');
    assert.equal(await eventually(() => wget(undefined, 'http://[::1]:18110/')), 'six\n');
    assert.equal(await wget(lan.netns, `http://[${HOST_LAN_IP6}]:18110/`, 1), undefined, '::1 only');
    assert.equal(await wget(undefined, 'http://127.0.0.1:18110/', 1), undefined, 'not on IPv4');
    assert.equal(await wget(lan.netns, `http://[${HOST_LAN_IP6}]:18111/`), 'six\n', ':: on every IPv6 address');
    assert.equal(await wget(undefined, 'http://127.0.0.1:18111/', 1), undefined, 'an explicit :: is IPv6 only');
    sixId = six.id;
  });

  it('refuses a port held on IPv6 by a host process or another container, and picks ephemeral ports free on both', async () => {
    const rules = await countRules(env.table);
    const ruleset = sh('nft', ['list', 'table', 'ip', env.table]);
    const other = env.container('other6');
    await m.connect(net.Name, { containerId: other.id, containerName: 'other6', netnsPath: other.netns });
    const holder6 = await holdV6(18120);
    try {
      assert.equal(await probeBind('tcp', '0.0.0.0', 18120), 'ok', 'the port is free on IPv4');
      await assert.rejects(m.publish(other.id, [{ proto: 'tcp', containerPort: 80, hostPort: 18120 }]), { message: 'Bind for :::18120 failed: port is already allocated' });
      await assert.rejects(m.publish(other.id, [{ proto: 'tcp', containerPort: 80, hostIp: '::1', hostPort: 18110 }]), { message: 'Bind for ::1:18110 failed: port is already allocated' });
      await assert.rejects(m.publish(other.id, [{ proto: 'tcp', containerPort: 80, hostIp: '::', hostPort: 18110 }]), { message: 'Bind for :::18110 failed: port is already allocated' });
      await assert.rejects(m.publish(other.id, [{ proto: 'tcp', containerPort: 80, hostPort: 18110 }]), { message: 'Bind for :::18110 failed: port is already allocated' }, 'the [::] twin collides with [::1]');
      assert.equal(await countRules(env.table), rules);
      assert.equal(sh('nft', ['list', 'table', 'ip', env.table]), ruleset, 'no IPv4 DNAT kept for a refused request');
      assert.deepEqual(m.publishedPorts(other.id), []);
      // IPv4 on a port whose IPv6 a container holds is another port, as in Docker.
      assert.deepEqual((await m.publish(other.id, [{ proto: 'tcp', containerPort: 80, hostIp: '0.0.0.0', hostPort: 18111 }])).map((b) => b.hostIp), ['0.0.0.0']);
      // Ephemeral: with two ports in the range and the first held on IPv6, the second is picked for both.
      const range = sh('cat', ['/proc/sys/net/ipv4/ip_local_port_range']).trim().split(/\s+/);
      sh('sysctl', ['-qw', 'net.ipv4.ip_local_port_range=18120 18121']);
      try {
        const eph = await m.publish(other.id, [{ proto: 'tcp', containerPort: 81 }]);
        assert.deepEqual(eph.map((b) => `${b.hostIp} ${b.hostPort}`), ['0.0.0.0 18121', ':: 18121']);
      } finally {
        sh('sysctl', ['-qw', `net.ipv4.ip_local_port_range=${range.join(' ')}`]);
      }
    } finally {
      await new Promise((r) => holder6.close(r));
    }
    await m.unpublish(other.id);
    await m.disconnect(net.Name, other.id);
  });

  it('opens the IPv6 listeners again after a daemon restart (IPv4 keeps working meanwhile)', async () => {
    const live = Object.keys(m.get(net.Name).Containers).map((containerId) => ({ containerId, network: net.Name }));
    await m.close();
    assert.equal(await wget(undefined, 'http://127.0.0.1:18080/', 2), 'published\n', 'the kernel forwards IPv4 while berthd is down');
    assert.equal(await wget(undefined, 'http://[::1]:18080/', 2), undefined, 'IPv6 waits for berthd');
    m = env.manager({ defaultSubnet: subnets[0] });
    await m.init(live);
    assert.equal(await wget(undefined, 'http://[::1]:18080/'), 'published\n');
    assert.equal(await wget(undefined, 'http://[::1]:18110/'), 'six\n', 'explicit IPv6 bindings too');
    assert.equal(await udpAsk('::1', webUdpPort, 'back'), 'echo:back');
    assert.ok(!env.logs.some((l) => /is not forwarded/.test(l)), env.logs.join('\n'));
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
    assert.equal(await wget(undefined, 'http://[::1]:18080/', 1), undefined, 'the IPv6 listener is closed');
    assert.equal(await probeBind('tcp', '::', 18080), 'ok', 'and its port free');
    assert.equal(await probeBind('udp', '::', webUdpPort), 'ok');
    await m.disconnect(net.Name, sixId);
    assert.equal(await probeBind('tcp', '::1', 18110), 'ok', 'disconnect closes the listeners of the endpoint\'s ports');
    const [b] = await m.publish(peer.id, [{ proto: 'tcp', containerPort: 80, hostPort: 18080 }]);
    assert.equal(b!.hostPort, 18080);
    assert.equal(await eventually(() => wget(undefined, 'http://127.0.0.1:18080/')), 'peer\n');
  });

  it('publishes IPv4 only, quietly, when the host cannot listen on IPv6', async () => {
    const quiet = env.container('quiet');
    await m.connect(net.Name, { containerId: quiet.id, containerName: 'quiet', netnsPath: quiet.netns });
    const logged = env.logs.length;
    // IPv6 disabled in the private host (::1 goes with it), as on a host booted without it.
    sh('sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.lo.disable_ipv6=1']);
    try {
      assert.equal(await probeBind('tcp', '::1', 0), 'EADDRNOTAVAIL');
      assert.deepEqual(await m.publish(quiet.id, [{ proto: 'tcp', containerPort: 80, hostPort: 18130 }]), [{ proto: 'tcp', containerPort: 80, hostIp: '0.0.0.0', hostPort: 18130 }]);
      await assert.rejects(m.publish(quiet.id, [{ proto: 'tcp', containerPort: 81, hostIp: '::1', hostPort: 18131 }]), /cannot publish ::1:18131\/tcp: bind: cannot assign requested address/);
      assert.deepEqual(env.logs.slice(logged).filter((l) => /^(warn|error)/.test(l)), []);
    } finally {
      sh('sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=0', 'net.ipv6.conf.lo.disable_ipv6=0']);
    }
    await m.unpublish(quiet.id);
  });
});
