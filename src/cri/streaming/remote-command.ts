// exec and attach over an upgraded SPDY connection, as kubelet serves them: the client opens one
// stream per channel (error, stdin, stdout, stderr, resize), each marked by its "streamType"
// header; once all expected streams are there the command runs with them, and its outcome goes on
// the error stream before the connection closes. runSession, the part after the streams are
// there, is shared with the WebSocket transport (remote-command-websocket.ts).
import { finished } from 'node:stream/promises';
import type { Readable, Writable } from 'node:stream';
import { debuglog } from 'node:util';
import type { SpdyConnection } from './spdy/connection.js';
import type { SpdyStream } from './spdy/stream.js';
import { errorStreamMessage, type Outcome } from './exit-status.js';
import { terminalSizes } from './resize.js';
import type { RemoteCommandProtocol } from './upgrade.js';
import type { StreamingIo } from './runtime.js';

const debug = debuglog('berth:streaming');

export interface ChannelRequest {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

interface Channels {
  error?: SpdyStream;
  stdin?: SpdyStream;
  stdout?: SpdyStream;
  stderr?: SpdyStream;
  resize?: SpdyStream;
}

const STREAM_TYPES = ['error', 'stdin', 'stdout', 'stderr', 'resize'] as const;

/** 4 for v4.channel.k8s.io ... 1 for channel.k8s.io. */
export function protocolVersion(protocol: RemoteCommandProtocol): number {
  const m = /^v(\d)\./.exec(protocol);
  return m ? Number(m[1]) : 1;
}

/** The connection a session runs over (SPDY or WebSocket): it says when it is gone. */
export interface SessionTransport {
  readonly isClosed: boolean;
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

/** A session's channels, each there only when the request asked for it. */
export interface SessionChannels {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  error?: Writable;
  resize?: Readable;
}

/**
 * Serves one exec or attach session on a SPDY connection: waits for the client's streams, then
 * runs the command (see runSession). Resolves when the connection is done.
 */
export async function serveRemoteCommand(
  conn: SpdyConnection,
  protocol: RemoteCommandProtocol,
  request: ChannelRequest,
  creationTimeoutMs: number,
  run: (io: StreamingIo) => Promise<Outcome>,
): Promise<void> {
  const version = protocolVersion(protocol);
  const channels = await waitForChannels(conn, request, version >= 3, creationTimeoutMs);
  if (!channels) {
    conn.destroy();
    return;
  }
  // Nothing is read from these streams, but their readers must not hold the connection paused.
  for (const unread of [channels.error, channels.stdout, channels.stderr]) unread?.resume();
  // channel.k8s.io (v1) servers close stdin's write side at once; later versions must not, since
  // client-go then closes stdin.
  if (version === 1) channels.stdin?.end();
  await runSession(conn, channels, request.tty, version, run);
  // SPDY streams are duplex: their other halves end too.
  await Promise.all([endAndFlush(channels.stdin), endAndFlush(channels.resize)]);
  conn.close();
}

/**
 * Runs the command with the session's channels and reports its outcome on the error channel
 * (`version` 4 and later: a JSON Status; before: a failure's text). The caller closes the
 * transport afterwards.
 */
export async function runSession(
  transport: SessionTransport,
  channels: SessionChannels,
  tty: boolean,
  version: number,
  run: (io: StreamingIo) => Promise<Outcome>,
): Promise<void> {
  const aborter = new AbortController();
  const onClose = (): void => aborter.abort(new Error('the client closed the streaming connection'));
  transport.once('close', onClose);
  const io: StreamingIo = {
    tty,
    signal: aborter.signal,
    ...(channels.stdin && { stdin: channels.stdin }),
    ...(channels.stdout && { stdout: channels.stdout }),
    ...(channels.stderr && { stderr: channels.stderr }),
    ...(channels.resize && tty && { resize: terminalSizes(channels.resize) }),
  };

  let outcome: Outcome;
  try {
    outcome = await run(io);
  } catch (err) {
    outcome = { kind: 'error', message: err instanceof Error ? err.message : String(err) };
  }
  transport.off('close', onClose);
  if (transport.isClosed) return;

  await Promise.all([endAndFlush(channels.stdout), endAndFlush(channels.stderr)]);
  const message = errorStreamMessage(outcome, version);
  if (channels.error && message) channels.error.write(message);
  await endAndFlush(channels.error);
}

async function endAndFlush(stream: Writable | undefined): Promise<void> {
  if (!stream || stream.destroyed) return;
  if (!stream.writableEnded) stream.end();
  await finished(stream, { readable: false }).catch(() => undefined);
}

/** Collects the streams the client opens until all expected ones are there (undefined on timeout). */
function waitForChannels(conn: SpdyConnection, request: ChannelRequest, resizable: boolean, timeoutMs: number): Promise<Channels | undefined> {
  const expected = 1 + Number(request.stdin) + Number(request.stdout) + Number(request.stderr) + Number(request.tty && resizable);
  const channels: Channels = {};
  let received = 0;
  let settled = false;
  return new Promise((resolve) => {
    const done = (result: Channels | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.off('close', onClose);
      // A stream the request did not ask for (client-go opens stderr whenever it has somewhere to
      // write it, whatever the CRI request said) is opened and closed at once while the session
      // runs: the client reads an empty channel instead of failing. kubelet never answers it, and
      // the client gives up after 30 s; here too, if output already floods the client, its SPDY
      // workers block on the unread stdout and miss the answer. Requests that match the client's
      // streams (crictl's and critest's do) never get here.
      conn.off('stream', onStream);
      conn.on('stream', (extra) => {
        conn.accept(extra).then(() => {
          extra.resume();
          extra.end();
        }, () => undefined);
      });
      resolve(result);
    };
    const onClose = (): void => done(undefined);
    const onStream = (stream: SpdyStream): void => {
      const type = stream.header('streamType');
      if (!STREAM_TYPES.includes(type as (typeof STREAM_TYPES)[number])) {
        debug('unexpected stream type %s', type);
        conn.accept(stream).then(() => stream.resume(), () => undefined);
        return;
      }
      channels[type as keyof Channels] = stream;
      void conn.accept(stream).then(() => {
        if (++received === expected) done(channels);
      }, () => done(undefined));
    };
    const timer = setTimeout(() => {
      debug('timed out waiting for the client to create streams');
      done(undefined);
    }, timeoutMs);
    conn.on('stream', onStream);
    conn.once('close', onClose);
  });
}
