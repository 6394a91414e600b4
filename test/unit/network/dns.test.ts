// The DNS wire format subset, resolv.conf handling, and the embedded server on a loopback port
// with a fake upstream.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { aRecord, answerAddresses, buildQuery, buildResponse, parseQuery, ptrToIp, RCODE, rcodeOf, readName, TYPE } from '../../../src/network/dns/message.js';
import { containerResolvConf, parseResolvConf } from '../../../src/network/dns/resolvconf.js';
import { DnsServer } from '../../../src/network/dns/server.js';

describe('dns messages', () => {
  it('round-trips a query and an answer', () => {
    const q = parseQuery(buildQuery(0x1234, 'Web.Example.', TYPE.A))!;
    assert.equal(q.id, 0x1234);
    assert.deepEqual(q.question, { name: 'web.example', type: 1, qclass: 1 });
    const r = buildResponse(q, RCODE.NOERROR, [aRecord('10.0.0.2', 600), aRecord('10.0.0.3', 600)]);
    assert.equal(r.readUInt16BE(0), 0x1234);
    assert.equal(r.readUInt16BE(2) & 0x8000, 0x8000, 'QR');
    assert.equal(r.readUInt16BE(2) & 0x0100, 0x0100, 'RD copied');
    assert.deepEqual(answerAddresses(r), ['10.0.0.2', '10.0.0.3']);
  });
  it('truncates to the size limit with TC', () => {
    const q = parseQuery(buildQuery(1, 'many', TYPE.A))!;
    const r = buildResponse(q, RCODE.NOERROR, Array.from({ length: 40 }, (_, i) => aRecord(`10.0.0.${i + 2}`, 600)), 512);
    assert.ok(r.length <= 512);
    assert.equal(r.readUInt16BE(2) & 0x0200, 0x0200);
    assert.equal(answerAddresses(r).length, r.readUInt16BE(6));
  });
  it('reads compressed names and refuses loops and garbage', () => {
    const buf = Buffer.from([0, 0, 3, 0x61, 0x62, 0x63, 0, 0xc0, 2]);
    assert.deepEqual(readName(buf, 7), { name: 'abc', end: 9 });
    assert.equal(readName(Buffer.from([0xc0, 0]), 0), undefined);
    assert.equal(parseQuery(Buffer.from([1, 2, 3])), undefined);
    const response = buildResponse(parseQuery(buildQuery(1, 'x', 1))!, 0);
    assert.equal(parseQuery(response), undefined, 'a response is not a query');
  });
  it('maps PTR names', () => {
    assert.equal(ptrToIp('2.0.17.172.in-addr.arpa'), '172.17.0.2');
    assert.equal(ptrToIp('example.org'), undefined);
  });
});

describe('resolv.conf', () => {
  const host = parseResolvConf('# comment\nnameserver 127.0.0.53\nnameserver 192.0.2.53 # x\nsearch a.example b.example\noptions edns0 trust-ad\n');
  it('parses the host\'s', () => {
    assert.deepEqual(host, { nameservers: ['127.0.0.53', '192.0.2.53'], search: ['a.example', 'b.example'], options: ['edns0', 'trust-ad'] });
  });
  it('writes a container\'s as Docker does', () => {
    assert.equal(containerResolvConf(host, '10.1.0.1'), 'nameserver 10.1.0.1\nsearch a.example b.example\noptions edns0 trust-ad ndots:0\n');
    assert.equal(containerResolvConf(host, undefined), 'nameserver 192.0.2.53\nsearch a.example b.example\noptions edns0 trust-ad\n');
    assert.equal(containerResolvConf(parseResolvConf('nameserver 127.0.0.1\n'), undefined), 'nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
    assert.equal(containerResolvConf(host, undefined, { dns: ['1.1.1.1'], dnsSearch: ['.'], dnsOptions: ['ndots:2'] }), 'nameserver 1.1.1.1\noptions ndots:2\n');
  });
});

describe('DnsServer', () => {
  const upstream = createSocket('udp4');
  const servers: DnsServer[] = [];
  after(async () => {
    upstream.close();
    for (const s of servers) await s.close();
  });

  const ask = (port: number, name: string, type: number = TYPE.A): Promise<Buffer> => new Promise((resolve) => {
    const s = createSocket('udp4');
    s.on('message', (m) => {
      s.close();
      resolve(m);
    });
    s.send(buildQuery(7, name, type), port, '127.0.0.1');
  });

  it('answers its names, forwards the rest, and says SERVFAIL when no upstream answers', async () => {
    upstream.on('message', (msg, rinfo) => {
      const q = parseQuery(msg)!;
      const r = q.question.name === 'up.example' ? buildResponse(q, RCODE.NOERROR, [aRecord('192.0.2.1', 5)], 512, false) : buildResponse(q, RCODE.NXDOMAIN, [], 512, false);
      upstream.send(r, rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => upstream.bind(0, '127.0.0.1', () => r()));
    const upstreamPort = upstream.address().port;
    let ups = [`127.0.0.1:${upstreamPort}`];
    // A free port for the UDP and TCP pair.
    const probe = createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
    const port = probe.address().port;
    await new Promise<void>((r) => probe.close(() => r()));
    const s = new DnsServer({
      address: '127.0.0.1', port,
      lookup: (q) => (q.name === 'web' ? (q.type === TYPE.A ? [aRecord('10.0.0.2', 600)] : []) : undefined),
      upstreams: () => ups, log: () => {}, timeoutMs: 300,
    });
    servers.push(s);
    await s.start();
    const local = await ask(port, 'WEB');
    assert.equal(rcodeOf(local), RCODE.NOERROR);
    assert.deepEqual(answerAddresses(local), ['10.0.0.2']);
    const aaaa = await ask(port, 'web', TYPE.AAAA);
    assert.deepEqual([rcodeOf(aaaa), answerAddresses(aaaa)], [RCODE.NOERROR, []]);
    const fwd = await ask(port, 'up.example');
    assert.deepEqual(answerAddresses(fwd), ['192.0.2.1']);
    assert.equal(fwd.readUInt16BE(0), 7, 'the client\'s id');
    assert.equal(rcodeOf(await ask(port, 'nope.example')), RCODE.NXDOMAIN);
    ups = ['127.0.0.1:1'];
    assert.equal(rcodeOf(await ask(port, 'up.example')), RCODE.SERVFAIL);
    ups = [];
    assert.equal(rcodeOf(await ask(port, 'up.example')), RCODE.SERVFAIL);
    // TCP, length-prefixed.
    const tcpAnswer = await new Promise<Buffer>((resolve) => {
      const c = connect({ host: '127.0.0.1', port });
      const q = buildQuery(9, 'web', TYPE.A);
      const h = Buffer.alloc(2);
      h.writeUInt16BE(q.length);
      c.write(Buffer.concat([h, q]));
      let buf = Buffer.alloc(0);
      c.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          c.destroy();
          resolve(buf.subarray(2));
        }
      });
    });
    assert.deepEqual(answerAddresses(tcpAnswer), ['10.0.0.2']);
  });
});
