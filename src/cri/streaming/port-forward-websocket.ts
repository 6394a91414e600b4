// Port forwarding over a WebSocket, as kubelet serves it: the ports come from the CRI request,
// and each port i gets channel 2i for data (both ways) and 2i+1 for errors; the server's first
// message on each is the port, as 2 bytes little-endian. One TCP connection per port; the
// WebSocket closes when every forward is done.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WsChannelConnection } from './websocket/channel-connection.js';

export const WEBSOCKET_PORT_FORWARD_PROTOCOLS = ['v4.channel.k8s.io', 'v4.base64.channel.k8s.io'];

export function serveWebSocketPortForward(
  socket: Socket,
  head: Buffer,
  protocol: string,
  podSandboxId: string,
  ports: number[],
  idleTimeoutMs: number,
  forward: (port: number, stream: Duplex) => Promise<void>,
): WsChannelConnection {
  const conn = new WsChannelConnection(socket, {
    base64: protocol.includes('base64'),
    readChannels: ports.map((_, i) => 2 * i),
    writeChannels: ports.flatMap((_, i) => [2 * i, 2 * i + 1]),
    closeChannel: false,
    idleTimeoutMs,
  });
  conn.feed(head);
  const forwards = ports.map(async (port, i) => {
    const portBytes = Buffer.alloc(2);
    portBytes.writeUInt16LE(port);
    void conn.sendOn(2 * i, portBytes);
    void conn.sendOn(2 * i + 1, portBytes);
    const data = conn.duplex(2 * i)!;
    const error = conn.writer(2 * i + 1)!;
    try {
      await forward(port, data);
    } catch (err) {
      error.write(`error forwarding port ${port} to pod ${podSandboxId}, uid : ${err instanceof Error ? err.message : String(err)}`);
    }
    data.resume();
    data.end();
    error.end();
  });
  void Promise.allSettled(forwards).then(() => conn.close());
  return conn;
}
