// Port forwarding over an upgraded SPDY connection, as kubelet serves it: for each forwarded TCP
// connection the client opens two streams, "error" and "data", both carrying the "port" and the
// same "requestID" header. Once both are there, the data stream is forwarded to the port; a
// failure is written as text on the error stream. Many requests, to several ports, share one
// connection, which lasts until the client closes it.
import { debuglog } from 'node:util';
import type { SpdyConnection } from './spdy/connection.js';
import type { SpdyStream } from './spdy/stream.js';

const debug = debuglog('berth:streaming');

interface Pair {
  requestId: string;
  data?: SpdyStream;
  error?: SpdyStream;
  timer: NodeJS.Timeout;
}

/** Why a stream cannot be part of a port-forward request, or undefined if it can. */
export function invalidStreamReason(stream: SpdyStream): string | undefined {
  const port = stream.header('port');
  if (!port) return '"port" header is required';
  if (!/^\d+$/.test(port) || Number(port) > 65535) return `unable to parse "${port}" as a port`;
  if (Number(port) < 1) return `port "${port}" must be > 0`;
  const type = stream.header('streamType');
  if (!type) return '"streamType" header is required';
  if (type !== 'error' && type !== 'data') return `invalid stream type "${type}"`;
  return undefined;
}

/** The request id of a stream; old clients send none, and kubelet derives one from the stream id. */
function requestIdOf(stream: SpdyStream): string {
  const id = stream.header('requestID');
  if (id) return id;
  return String(stream.header('streamType') === 'error' ? stream.id : stream.id - 2);
}

/**
 * Serves port-forward requests on `conn` until it closes. `forward` carries one request's data
 * stream to the port and settles when done; its rejection message goes to the error stream.
 */
export function servePortForward(
  conn: SpdyConnection,
  podSandboxId: string,
  creationTimeoutMs: number,
  forward: (port: number, stream: SpdyStream) => Promise<void>,
): Promise<void> {
  const pairs = new Map<string, Pair>();

  const onStream = (stream: SpdyStream): void => {
    const reason = invalidStreamReason(stream);
    if (reason) {
      debug('port-forward stream rejected: %s', reason);
      stream.reset();
      return;
    }
    const requestId = requestIdOf(stream);
    let pair = pairs.get(requestId);
    if (!pair) {
      const created: Pair = { requestId, timer: setTimeout(() => timeOut(created), creationTimeoutMs) };
      pairs.set(requestId, created);
      pair = created;
    }
    void conn.accept(stream).catch(() => undefined);
    const type = stream.header('streamType') as 'data' | 'error';
    if (pair[type]) {
      pair.error?.write(`error processing stream for request ${requestId}: ${type} stream already assigned`);
      stream.reset();
      return;
    }
    pair[type] = stream;
    if (pair.data && pair.error) {
      clearTimeout(pair.timer);
      pairs.delete(requestId);
      run(pair.data, pair.error).catch((err: unknown) => debug('port-forward request %s failed: %s', requestId, String(err)));
    }
  };

  const timeOut = (pair: Pair): void => {
    pairs.delete(pair.requestId);
    pair.error?.end(`(request=${pair.requestId}) timed out waiting for streams`);
    pair.data?.reset();
  };

  const run = async (data: SpdyStream, error: SpdyStream): Promise<void> => {
    // The client sends nothing on the error stream (it closes its side at once).
    error.resume();
    const port = Number(data.header('port'));
    try {
      await forward(port, data);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      error.write(`error forwarding port ${port} to pod ${podSandboxId}, uid : ${message}`);
    }
    // What the client still sends after the forward ended is dropped, so the connection reads on.
    data.resume();
    if (!data.writableEnded) data.end();
    error.end();
  };

  return new Promise((resolve) => {
    conn.on('stream', onStream);
    conn.once('close', () => {
      conn.off('stream', onStream);
      for (const pair of pairs.values()) clearTimeout(pair.timer);
      pairs.clear();
      resolve();
    });
  });
}
