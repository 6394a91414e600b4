// TCP forwarding for one published port: accepts on a v6-only socket and opens a connection to
// the container per client, piping both ways. Each direction ends on its own (half-close: a
// client that shuts down its sending side still gets the rest of the reply), and an error or
// reset on either side cuts both.
import { connect, createServer, type Socket } from 'node:net';
import type { Logger } from '../types.js';
import type { HostPort, PortProxy } from './types.js';

export async function openTcpProxy(listen: HostPort, target: HostPort, log: Logger): Promise<PortProxy> {
  const open = new Set<Socket>();
  const track = (s: Socket) => {
    open.add(s);
    s.once('close', () => open.delete(s));
  };
  // noDelay on both sides, as Go's sockets (docker-proxy) have: the proxy must not add Nagle's
  // delay to a request/response exchange that the client and the container already pace.
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true });
    track(client);
    track(upstream);
    client.on('error', () => upstream.destroy());
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      log('debug', `proxy [${listen.host}]:${listen.port}/tcp: ${target.host}:${target.port}: ${err.code ?? err.message}`);
      client.destroy();
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: listen.host, port: listen.port, ipv6Only: true, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log('warn', `proxy [${listen.host}]:${listen.port}/tcp: ${err.message}`));
  return {
    active: () => open.size,
    close: async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      const cut = [...open].map((s) => new Promise((resolve) => s.once('close', resolve)));
      for (const s of open) s.destroy();
      await Promise.all([stopped, ...cut]);
    },
  };
}
