// UDP forwarding for one published port, as docker-proxy does it: a v6-only socket receives the
// clients' datagrams; each client (address and port) gets a flow, a socket of its own towards the
// container, so the container's replies can be told apart and sent back to the right client from
// the published port. A flow with no datagram either way for `idleMs` (docker-proxy's 90 s
// conntrack timeout) is closed.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Logger } from '../types.js';
import type { HostPort, PortProxy } from './types.js';

export const UDP_IDLE_MS = 90_000;

interface Flow {
  socket: Socket;
  timer: NodeJS.Timeout;
}

export async function openUdpProxy(listen: HostPort, target: HostPort, log: Logger, idleMs = UDP_IDLE_MS): Promise<PortProxy> {
  const flows = new Map<string, Flow>();
  const front = createSocket({ type: 'udp6', ipv6Only: true });
  const end = (key: string) => {
    const flow = flows.get(key);
    if (!flow) return;
    flows.delete(key);
    clearTimeout(flow.timer);
    flow.socket.close();
  };
  const flowOf = (client: RemoteInfo): Flow => {
    const key = `[${client.address}]:${client.port}`;
    const known = flows.get(key);
    if (known) return known;
    const socket = createSocket('udp4');
    const flow: Flow = { socket, timer: setTimeout(() => end(key), idleMs) };
    socket.on('message', (msg, from) => {
      // Only the container answers on this flow.
      if (from.address !== target.host || from.port !== target.port) return;
      flow.timer.refresh();
      front.send(msg, client.port, client.address);
    });
    // An ICMP error (nothing listening in the container yet) is not the end of the flow.
    socket.on('error', (err: NodeJS.ErrnoException) => log('debug', `proxy [${listen.host}]:${listen.port}/udp flow ${key}: ${err.code ?? err.message}`));
    flows.set(key, flow);
    return flow;
  };
  front.on('message', (msg, client) => {
    const flow = flowOf(client);
    flow.timer.refresh();
    flow.socket.send(msg, target.port, target.host);
  });
  await new Promise<void>((resolve, reject) => {
    front.once('error', (err) => {
      front.close();
      reject(err);
    });
    front.bind({ address: listen.host, port: listen.port, exclusive: true }, () => {
      front.removeAllListeners('error');
      resolve();
    });
  });
  front.on('error', (err) => log('warn', `proxy [${listen.host}]:${listen.port}/udp: ${err.message}`));
  return {
    active: () => flows.size,
    close: () => new Promise<void>((resolve) => {
      for (const key of [...flows.keys()]) end(key);
      front.close(() => resolve());
    }),
  };
}
