// exec and attach over a WebSocket, as kubelet serves them to clients that do not speak SPDY:
// the channels exist from the start (no streams to wait for), kubelet's empty "connected" message
// goes out on the first output channel, and the outcome goes on the error channel (channel 3).
import type { Socket } from 'node:net';
import { WsChannelConnection } from './websocket/channel-connection.js';
import { WEBSOCKET_REMOTE_COMMAND_PROTOCOLS } from './websocket/handshake.js';
import { runSession, type ChannelRequest } from './remote-command.js';
import type { Outcome } from './exit-status.js';
import type { StreamingIo } from './runtime.js';

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;

/** Runs one session on the upgraded `socket` (protocol already chosen), then closes it. */
export function serveWebSocketRemoteCommand(
  socket: Socket,
  head: Buffer,
  protocol: string,
  request: ChannelRequest,
  idleTimeoutMs: number,
  run: (io: StreamingIo) => Promise<Outcome>,
): WsChannelConnection {
  const { base64, version } = WEBSOCKET_REMOTE_COMMAND_PROTOCOLS[protocol] ?? { base64: false, version: 1 };
  const stderr = request.stderr && !request.tty;
  const conn = new WsChannelConnection(socket, {
    base64,
    readChannels: [...(request.stdin ? [STDIN] : []), RESIZE],
    writeChannels: [...(request.stdout ? [STDOUT] : []), ...(stderr ? [STDERR] : []), ERROR],
    closeChannel: version >= 5,
    idleTimeoutMs,
  });
  // Without a terminal, sizes are read and dropped, so they never hold the connection paused.
  if (!request.tty) conn.reader(RESIZE)!.resume();
  conn.feed(head);
  const firstOutput = request.stdout ? STDOUT : stderr ? STDERR : ERROR;
  void conn.sendOn(firstOutput, Buffer.alloc(0));
  const channels = {
    ...(request.stdin && { stdin: conn.reader(STDIN)! }),
    ...(request.stdout && { stdout: conn.writer(STDOUT)! }),
    ...(stderr && { stderr: conn.writer(STDERR)! }),
    error: conn.writer(ERROR)!,
    resize: conn.reader(RESIZE)!,
  };
  // v5 differs from v4 only in the close channel: its error channel carries the same Status.
  runSession(conn, channels, request.tty, Math.min(version, 4), run)
    .catch(() => undefined)
    .then(() => conn.close());
  return conn;
}
