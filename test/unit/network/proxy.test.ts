// berthd's IPv6 port proxies on loopback: [::1] forwarded to a server on 127.0.0.1, TCP with
// half-close both ways, UDP flows per client with their idle timeout, and nothing left open
// (sockets, connections, timers) once a proxy or the whole set is closed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { PortProxies } from '../../../src/network/port-proxies.js';
import { ipv6Listenable, probeBind } from '../../../src/network/ports.js';
import { openTcpProxy } from '../../../src/network/proxy/tcp.js';
import { openUdpProxy } from '../../../src/network/proxy/udp.js';

const log = () => {};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A port free on [::1] (bound and released). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen({ host: '::1', port: 0 }, () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** The handles this process holds, by kind (TCPServerWrap, TCPSocketWrap, UDPWrap, Timeout, …). */
function handles(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

/** Connects to [::1]:port, sends `data`, shuts down its sending side, and returns all it got until the other side ended. */
function exchange(port: number, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect({ host: '::1', port });
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
    s.end(data);
  });
}

const have6 = await ipv6Listenable();

describe('IPv6 port proxies', { skip: !have6 && 'no IPv6 on this host' }, () => {
  let upstream: Server;
  let upPort: number;

  before(async () => {
    // Reads everything, and only then answers (after the client's FIN) with a digest and ends.
    upstream = createServer({ allowHalfOpen: true }, (s) => {
      const hash = createHash('sha256');
      let n = 0;
      s.on('data', (c: Buffer) => {
        hash.update(c);
        n += c.length;
      });
      s.on('end', () => s.end(`${n} ${hash.digest('hex')}`));
    });
    await new Promise<void>((r) => upstream.listen({ host: '127.0.0.1', port: 0 }, () => r()));
    upPort = (upstream.address() as AddressInfo).port;
  });
  after(() => new Promise((r) => upstream.close(r)));

  it('forwards TCP: the client half-closes and still gets the whole reply', async () => {
    const port = await freePort();
    const proxy = await openTcpProxy({ host: '::', port }, { host: '127.0.0.1', port: upPort }, log);
    try {
      const data = randomBytes(8 << 20);
      const reply = (await exchange(port, data)).toString();
      assert.equal(reply, `${data.length} ${createHash('sha256').update(data).digest('hex')}`);
      assert.equal(await probeBind('tcp', '0.0.0.0', port), 'ok', 'v6-only: IPv4 on the same port stays free for the DNAT');
    } finally {
      await proxy.close();
    }
  });

  it('forwards TCP the other way: the container half-closes and still gets what the client sends after', async () => {
    const got = new Promise<string>((resolve) => {
      const srv = createServer({ allowHalfOpen: true }, (s) => {
        let text = '';
        s.end('bye');
        s.on('data', (c: Buffer) => (text += c.toString()));
        s.on('end', () => {
          srv.close();
          resolve(text);
        });
      });
      srv.listen({ host: '127.0.0.1', port: 0 }, () => resolvePort((srv.address() as AddressInfo).port));
    });
    let resolvePort!: (p: number) => void;
    const target = await new Promise<number>((r) => (resolvePort = r));
    const port = await freePort();
    const proxy = await openTcpProxy({ host: '::1', port }, { host: '127.0.0.1', port: target }, log);
    const c = connect({ host: '::1', port, allowHalfOpen: true });
    c.on('data', () => {});
    c.on('end', () => c.end('sent after the server ended'));
    assert.equal(await got, 'sent after the server ended');
    await proxy.close();
  });

  it('closes the client when the container refuses, and cuts open connections on close', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen({ host: '127.0.0.1', port: 0 }, () => r()));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const port = await freePort();
    await sleep(20);
    const before = handles();
    const refused = await openTcpProxy({ host: '::1', port }, { host: '127.0.0.1', port: deadPort }, log);
    const r = await exchange(port, Buffer.from('x')).then((b) => b.length, (e: NodeJS.ErrnoException) => e.code);
    assert.ok(r === 0 || r === 'ECONNRESET', String(r));
    await refused.close();

    const proxy = await openTcpProxy({ host: '::1', port }, { host: '127.0.0.1', port: upPort }, log);
    const held: Socket = connect({ host: '::1', port });
    const cut = new Promise((resolve) => held.on('close', resolve));
    held.on('error', () => {});
    held.write('partial');
    for (let i = 0; i < 50 && proxy.active() < 2; i++) await sleep(10);
    assert.equal(proxy.active(), 2, 'the client and its upstream connection');
    await proxy.close();
    await cut;
    assert.equal(proxy.active(), 0);
    assert.equal(await probeBind('tcp', '::1', port), 'ok', 'the port is free again');
    await sleep(20);
    assert.deepEqual(handles(), before, 'no server, socket or timer left');
  });

  it('forwards UDP per client and ends idle flows', async () => {
    const echo = createSocket('udp4');
    echo.on('message', (m, r) => echo.send(`echo:${m.toString()}`, r.port, r.address));
    await new Promise<void>((r) => echo.bind(0, '127.0.0.1', () => r()));
    const port = await freePort();
    await sleep(20);
    const before = handles();
    const proxy = await openUdpProxy({ host: '::', port }, { host: '127.0.0.1', port: echo.address().port }, log, 300);
    const ask = (s: UdpSocket, text: string) => new Promise<string>((resolve) => {
      s.once('message', (m) => resolve(m.toString()));
      s.send(text, port, '::1');
    });
    const a = createSocket('udp6');
    const b = createSocket('udp6');
    try {
      assert.deepEqual(await Promise.all([ask(a, 'a'), ask(b, 'b')]), ['echo:a', 'echo:b']);
      assert.equal(await ask(a, 'again'), 'echo:again');
      assert.equal(proxy.active(), 2, 'a flow per client');
      await sleep(600);
      assert.equal(proxy.active(), 0, 'idle flows are closed');
      assert.equal(await ask(a, 'later'), 'echo:later', 'a new flow after the idle one went');
      assert.equal(await probeBind('udp', '0.0.0.0', port), 'ok', 'v6-only');
    } finally {
      a.close();
      b.close();
      await proxy.close();
    }
    assert.equal(proxy.active(), 0);
    await sleep(20);
    assert.deepEqual(handles(), before, 'no socket or idle timer left');
    echo.close();
  });

  it('keeps the set in line with what is published', async () => {
    const p1 = await freePort();
    const p2 = await freePort();
    const proxies = new PortProxies(log);
    const tcp = { proto: 'tcp' as const, hostIp: '::1', hostPort: p1, containerIp: '127.0.0.1', containerPort: upPort };
    const udp = { proto: 'udp' as const, hostIp: '::', hostPort: p2, containerIp: '127.0.0.1', containerPort: 9 };
    assert.deepEqual(await proxies.sync([tcp, udp]), []);
    assert.equal(proxies.listening().length, 2);
    assert.equal((await exchange(p1, Buffer.from('hi'))).toString().split(' ')[0], '2');
    const holder = createServer();
    await new Promise<void>((r) => holder.listen({ host: '::1', port: 0, ipv6Only: true }, () => r()));
    const taken = { ...tcp, hostPort: (holder.address() as AddressInfo).port };
    const failed = await proxies.sync([udp, taken]);
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.error.code, 'EADDRINUSE');
    assert.deepEqual(proxies.listening().map((l) => l.port), [`[::]:${p2}/udp`], 'the dropped one closed, the taken one not open');
    await proxies.close();
    assert.deepEqual(proxies.listening(), []);
    await new Promise((r) => holder.close(r));
  });
});
