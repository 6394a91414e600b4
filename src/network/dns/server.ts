// The embedded DNS server of one user-defined network, in the berthd process: UDP and TCP on the
// network's gateway address, port 53. Names the network layer knows (containers, aliases, short
// IDs) are answered here; everything else is forwarded unchanged to the host's resolvers and
// their answer relayed, NXDOMAIN included. When no resolver answers, the client gets SERVFAIL
// at once rather than a timeout.
import { createSocket, type Socket } from 'node:dgram';
import { connect, createServer, isIPv6, type Server, type Socket as TcpSocket } from 'node:net';
import type { Logger } from '../types.js';
import { buildResponse, errorResponse, messageId, parseQuery, RCODE, rcodeOf, type Answer, type Question } from './message.js';

export interface DnsServerOptions {
  address: string;
  /** 53 unless a test says otherwise. */
  port?: number;
  /** Records for a name the server owns (an empty list: the name exists, no record of that type), or undefined to forward. */
  lookup(q: Question, from: string): Answer[] | undefined;
  /** Where to forward `from`'s other queries ("ip" or "ip:port"); [] when it may not reach outside. */
  upstreams(from: string): string[];
  log: Logger;
  /** How long to wait for each upstream server (default 2000 ms). */
  timeoutMs?: number;
}

const MAX_UPSTREAMS = 3;
const MAX_INFLIGHT = 512;
const UDP_MAX = 512;

function splitUpstream(s: string): { host: string; port: number } {
  const m = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(s) ?? /^\[([^\]]+)\]:(\d+)$/.exec(s);
  return m ? { host: m[1]!, port: Number(m[2]) } : { host: s, port: 53 };
}

function forwardUdp(upstream: string, msg: Buffer, timeoutMs: number): Promise<Buffer | undefined> {
  const { host, port } = splitUpstream(upstream);
  return new Promise((resolve) => {
    const sock = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    const id = messageId(msg);
    const done = (r: Buffer | undefined) => {
      clearTimeout(timer);
      sock.close();
      resolve(r);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on('error', () => done(undefined));
    sock.on('message', (reply, rinfo) => {
      if (rinfo.address === host && rinfo.port === port && messageId(reply) === id) done(reply);
    });
    sock.send(msg, port, host, (err) => err && done(undefined));
  });
}

/** Splits a TCP stream into length-prefixed DNS messages. */
function frames(onMessage: (m: Buffer) => void): (chunk: Buffer) => void {
  let buf = Buffer.alloc(0);
  return (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const len = buf.readUInt16BE(0);
      onMessage(buf.subarray(2, 2 + len));
      buf = buf.subarray(2 + len);
    }
  };
}

function framed(m: Buffer): Buffer {
  const h = Buffer.alloc(2);
  h.writeUInt16BE(m.length);
  return Buffer.concat([h, m]);
}

function forwardTcp(upstream: string, msg: Buffer, timeoutMs: number): Promise<Buffer | undefined> {
  const { host, port } = splitUpstream(upstream);
  return new Promise((resolve) => {
    const conn = connect({ host, port });
    const done = (r: Buffer | undefined) => {
      clearTimeout(timer);
      conn.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    conn.on('error', () => done(undefined));
    conn.on('close', () => done(undefined));
    conn.on('data', frames((m) => done(m)));
    conn.write(framed(msg));
  });
}

export class DnsServer {
  private udp?: Socket;
  private tcp?: Server;
  private readonly conns = new Set<TcpSocket>();
  private inflight = 0;

  constructor(private readonly o: DnsServerOptions) {}

  get address(): string {
    return this.o.address;
  }

  /** Binds UDP and TCP; throws (with nothing left open) when the address or port is unavailable. */
  async start(): Promise<void> {
    const port = this.o.port ?? 53;
    const udp = createSocket({ type: isIPv6(this.o.address) ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address: this.o.address, port, exclusive: true }, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    udp.on('error', (err) => this.o.log('warn', `embedded DNS ${this.o.address}: ${err.message}`));
    udp.on('message', (msg, rinfo) => {
      void this.handle(msg, rinfo.address, UDP_MAX).then((r) => r && udp.send(r, rinfo.port, rinfo.address));
    });
    const tcp = createServer((conn) => {
      this.conns.add(conn);
      conn.setTimeout(10_000, () => conn.destroy());
      conn.on('close', () => this.conns.delete(conn));
      conn.on('error', () => conn.destroy());
      const from = conn.remoteAddress ?? '';
      conn.on('data', frames((m) => void this.handle(m, from, 65535, true).then((r) => r && !conn.destroyed && conn.write(framed(r)))));
    });
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: this.o.address, port, exclusive: true }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      udp.close();
      throw err;
    }
    this.udp = udp;
    this.tcp = tcp;
  }

  async close(): Promise<void> {
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = undefined;
    this.tcp = undefined;
    for (const c of this.conns) c.destroy();
    if (udp) await new Promise<void>((r) => udp.close(() => r()));
    if (tcp) await new Promise<void>((r) => tcp.close(() => r()));
  }

  /** The answer to one message from `from`, or undefined when it deserves none. */
  async handle(msg: Buffer, from: string, maxSize: number, overTcp = false): Promise<Buffer | undefined> {
    const q = parseQuery(msg);
    if (!q) return errorResponse(msg, RCODE.FORMERR);
    if (q.opcode !== 0) return buildResponse(q, RCODE.NOTIMP, [], maxSize, false);
    let local: Answer[] | undefined;
    try {
      local = this.o.lookup(q.question, from);
    } catch (err) {
      this.o.log('error', `embedded DNS ${this.o.address}: lookup of ${q.question.name} failed: ${(err as Error).message}`);
      return buildResponse(q, RCODE.SERVFAIL, [], maxSize, false);
    }
    if (local) return buildResponse(q, RCODE.NOERROR, local, maxSize);
    if (this.inflight >= MAX_INFLIGHT) return buildResponse(q, RCODE.REFUSED, [], maxSize, false);
    this.inflight++;
    try {
      return (await this.forward(msg, from, overTcp)) ?? buildResponse(q, RCODE.SERVFAIL, [], maxSize, false);
    } finally {
      this.inflight--;
    }
  }

  /** Tries up to three upstreams in order; a SERVFAIL or REFUSED moves on to the next, as Docker does. */
  private async forward(msg: Buffer, from: string, overTcp: boolean): Promise<Buffer | undefined> {
    const timeout = this.o.timeoutMs ?? 2000;
    let fallback: Buffer | undefined;
    for (const up of this.o.upstreams(from).slice(0, MAX_UPSTREAMS)) {
      const reply = overTcp ? await forwardTcp(up, msg, timeout) : await forwardUdp(up, msg, timeout);
      if (!reply) {
        this.o.log('debug', `embedded DNS ${this.o.address}: no answer from ${up}`);
        continue;
      }
      const rc = rcodeOf(reply);
      if (rc === RCODE.SERVFAIL || rc === RCODE.REFUSED) {
        fallback ??= reply;
        continue;
      }
      return reply;
    }
    return fallback;
  }
}
