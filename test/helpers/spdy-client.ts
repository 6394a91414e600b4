// A SPDY streaming client for the tests, in the shape of client-go's remotecommand and
// portforward packages: upgrade the HTTP connection, open the channel streams one by one, pump
// stdin, collect stdout/stderr and the error stream.
import { connect, type Socket } from 'node:net';
import { SpdyConnection } from '../../src/cri/streaming/spdy/connection.js';
import type { SpdyStream } from '../../src/cri/streaming/spdy/stream.js';

export interface UpgradeResult {
  status: number;
  headers: Record<string, string>;
  /** The body of a refused upgrade. */
  body: string;
  conn?: SpdyConnection;
  socket: Socket;
}

/** Sends the upgrade request and returns the session, or the refusal. */
export function upgrade(url: string, protocols: string[], opts: { method?: string; upgradeTo?: string } = {}): Promise<UpgradeResult> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port) });
    let buffered = Buffer.alloc(0);
    let head: { status: number; headers: Record<string, string> } | undefined;
    socket.once('error', reject);
    socket.once('connect', () => {
      const lines = [
        `${opts.method ?? 'POST'} ${u.pathname} HTTP/1.1`,
        `Host: ${u.host}`,
        'Connection: Upgrade',
        `Upgrade: ${opts.upgradeTo ?? 'SPDY/3.1'}`,
        ...(protocols.length ? [`X-Stream-Protocol-Version: ${protocols.join(', ')}`] : []),
        'Content-Length: 0',
      ];
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      if (head) return;
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine, ...headerLines] = buffered.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).toLowerCase();
        headers[name] = headers[name] ? `${headers[name]}, ${line.slice(colon + 1).trim()}` : line.slice(colon + 1).trim();
      }
      head = { status: Number(statusLine!.split(' ')[1]), headers };
      const rest = buffered.subarray(end + 4);
      if (head.status === 101) {
        socket.off('data', onData);
        socket.off('error', reject);
        const conn = new SpdyConnection(socket, 'client', { closeGraceMs: 2000 });
        conn.feed(rest);
        resolve({ ...head, body: '', conn, socket });
      } else {
        buffered = rest;
      }
    };
    socket.on('data', onData);
    socket.once('close', () => {
      if (head && head.status !== 101) resolve({ ...head, body: buffered.toString('utf8'), socket });
      else if (!head) reject(new Error('the server closed the connection before answering'));
    });
  });
}

/** Reads a stream to its end (FIN or reset). */
export function readAll(stream: SpdyStream): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    const done = (): void => resolve(Buffer.concat(chunks));
    stream.once('end', done);
    stream.once('close', done);
  });
}

export interface RemoteCommandOptions {
  protocol?: string;
  /** Sent on stdin, which is then closed; 'open' keeps stdin open and returns it to the caller. */
  stdin?: Buffer | string;
  stdout?: boolean;
  stderr?: boolean;
  tty?: boolean;
  /** Terminal sizes sent on the resize stream (tty only). */
  resize?: Array<{ Width: number; Height: number }>;
  /** Called with the open streams before stdin is written, e.g. to cut the connection. */
  onStreams?: (streams: Record<string, SpdyStream>, conn: SpdyConnection) => void | Promise<void>;
}

export interface RemoteCommandResult {
  stdout: string;
  stderr: string;
  /** What the server wrote on the error stream (a JSON Status in v4). */
  error: string;
}

/** Runs one exec or attach session as client-go does. */
export async function remoteCommand(url: string, opts: RemoteCommandOptions): Promise<RemoteCommandResult> {
  const up = await upgrade(url, [opts.protocol ?? 'v4.channel.k8s.io']);
  if (!up.conn) throw new Error(`upgrade refused: ${up.status} ${up.body}`);
  const conn = up.conn;
  const streams: Record<string, SpdyStream> = {};
  const open = async (type: string): Promise<SpdyStream> => (streams[type] = await conn.createStream({ streamtype: [type] }));
  await open('error');
  if (opts.stdin !== undefined) await open('stdin');
  if (opts.stdout !== false) await open('stdout');
  if (opts.stderr !== false && !opts.tty) await open('stderr');
  if (opts.tty && opts.protocol !== 'v2.channel.k8s.io' && opts.protocol !== 'channel.k8s.io') await open('resize');

  const outputs = Promise.all([
    streams.stdout ? readAll(streams.stdout) : Promise.resolve(Buffer.alloc(0)),
    streams.stderr ? readAll(streams.stderr) : Promise.resolve(Buffer.alloc(0)),
    readAll(streams.error!),
  ]);
  await opts.onStreams?.(streams, conn);
  for (const size of opts.resize ?? []) streams.resize?.write(`${JSON.stringify(size)}\n`);
  if (streams.stdin) {
    streams.stdin.resume();
    streams.stdin.end(opts.stdin);
  }
  const [stdout, stderr, error] = await outputs;
  conn.destroy();
  return { stdout: stdout.toString(), stderr: stderr.toString(), error: error.toString() };
}

/** A port-forward session: one SPDY connection, any number of forwarded requests over it. */
export class PortForwardClient {
  private nextRequestId = 0;
  private constructor(readonly conn: SpdyConnection) {}

  static async connect(url: string): Promise<PortForwardClient> {
    const up = await upgrade(url, ['portforward.k8s.io']);
    if (!up.conn) throw new Error(`upgrade refused: ${up.status} ${up.body}`);
    return new PortForwardClient(up.conn);
  }

  /** Opens a request's two streams; send on `data`, read the reply from it and the error stream. */
  async open(port: number): Promise<{ data: SpdyStream; error: Promise<string> }> {
    const requestid = [String(this.nextRequestId++)];
    const errorStream = await this.conn.createStream({ streamtype: ['error'], port: [String(port)], requestid });
    errorStream.end();
    const error = readAll(errorStream).then((b) => b.toString());
    const data = await this.conn.createStream({ streamtype: ['data'], port: [String(port)], requestid });
    return { data, error };
  }

  /** Sends `message`, closes the sending side, returns the reply and the error stream's text. */
  async roundTrip(port: number, message: string): Promise<{ reply: string; error: string }> {
    const { data, error } = await this.open(port);
    const reply = readAll(data);
    data.end(message);
    return { reply: (await reply).toString(), error: await error };
  }

  close(): void {
    this.conn.destroy();
  }
}
