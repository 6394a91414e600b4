// The CRI streaming server: the HTTP endpoint that kubelet, crictl and critest connect to after
// Exec, Attach or PortForward returned them a URL. Each URL holds a single-use token for the
// request it was made for; the connection upgrades to SPDY/3.1 (or, for exec and attach, to a
// WebSocket) and speaks Kubernetes' remote command or port-forward protocol over it
// (remote-command.ts, remote-command-websocket.ts, port-forward.ts), while the StreamingRuntime
// moves the bytes to and from containers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { debuglog } from 'node:util';
import { precondition } from '../../common/errors.js';
import { RequestCache, type PendingRequest } from './request-cache.js';
import { validateAttach, validateExec, validatePortForward, type AttachRequest, type ExecRequest, type PortForwardRequest } from './requests.js';
import {
  PORT_FORWARD_PROTOCOLS, REMOTE_COMMAND_PROTOCOLS, checkSpdyUpgrade, negotiate, refusalResponse, switchingProtocolsResponse,
  type Refusal, type RemoteCommandProtocol,
} from './upgrade.js';
import { SpdyConnection } from './spdy/connection.js';
import { serveRemoteCommand } from './remote-command.js';
import { serveWebSocketRemoteCommand } from './remote-command-websocket.js';
import { chooseWebSocketProtocol, isWebSocketUpgrade, webSocketAcceptResponse, WEBSOCKET_REMOTE_COMMAND_PROTOCOLS } from './websocket/handshake.js';
import type { Outcome } from './exit-status.js';
import { servePortForward } from './port-forward.js';
import { serveWebSocketPortForward, WEBSOCKET_PORT_FORWARD_PROTOCOLS } from './port-forward-websocket.js';
import type { StreamingIo, StreamingRuntime } from './runtime.js';

const debug = debuglog('berth:streaming');

export interface StreamingServerOptions {
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Port to listen on (default 0: an ephemeral port). */
  port?: number;
  /** How long a client has to open its streams after the upgrade (default 30 s, as kubelet). */
  streamCreationTimeoutMs?: number;
  /** How long a connection may stay silent before it is closed (default 4 h, as kubelet). */
  streamIdleTimeoutMs?: number;
  /** How long a URL's token stays valid (default 1 min, as kubelet). */
  tokenTtlMs?: number;
  /** The scheme://host:port clients are given, when not the listening address (e.g. on 0.0.0.0). */
  baseUrl?: string;
}

export class StreamingServer {
  private readonly http: Server;
  private readonly cache: RequestCache;
  private readonly sockets = new Set<Socket>();
  /** Upgraded connections (SPDY sessions and WebSockets), cut by stop(). */
  private readonly connections = new Set<{ destroy(): void }>();
  private readonly creationTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  private base: string | undefined;

  constructor(private readonly runtime: StreamingRuntime, private readonly options: StreamingServerOptions = {}) {
    this.cache = new RequestCache({ ttlMs: options.tokenTtlMs ?? 60_000 });
    this.creationTimeoutMs = options.streamCreationTimeoutMs ?? 30_000;
    this.idleTimeoutMs = options.streamIdleTimeoutMs ?? 4 * 3600_000;
    this.http = createServer((req, res) => this.onPlainRequest(req, res));
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket as Socket, head));
    this.http.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** Starts listening; resolves with the base URL (http://HOST:PORT). */
  async start(): Promise<string> {
    const host = this.options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.options.port ?? 0, host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    const { port } = this.http.address() as AddressInfo;
    this.base = this.options.baseUrl?.replace(/\/+$/, '') ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    return this.base;
  }

  /** Stops listening and cuts every connection (their sessions end as if the clients left). */
  async stop(): Promise<void> {
    for (const conn of this.connections) conn.destroy();
    const closed = [...this.sockets].map((socket) => new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.destroy();
    }));
    if (this.http.listening) await new Promise<void>((resolve) => this.http.close(() => resolve()));
    await Promise.all(closed);
  }

  get baseUrl(): string {
    if (this.base === undefined) throw precondition('the streaming server is not started');
    return this.base;
  }

  /** Upgraded connections, open sockets and pending tokens, for leak checks. */
  get stats(): { connections: number; sockets: number; pendingRequests: number } {
    return { connections: this.connections.size, sockets: this.sockets.size, pendingRequests: this.cache.size };
  }

  getExec(request: ExecRequest): { url: string } {
    validateExec(request);
    return { url: this.urlFor({ kind: 'exec', request }) };
  }

  getAttach(request: AttachRequest): { url: string } {
    validateAttach(request);
    return { url: this.urlFor({ kind: 'attach', request }) };
  }

  getPortForward(request: PortForwardRequest): { url: string } {
    validatePortForward(request);
    return { url: this.urlFor({ kind: 'portforward', request }) };
  }

  private urlFor(pending: PendingRequest): string {
    const base = this.baseUrl;
    return `${base}/${pending.kind}/${this.cache.insert(pending)}`;
  }

  /** The pending request a URL path names, consuming its token; undefined answers 404. */
  private take(req: IncomingMessage): PendingRequest | undefined {
    if (req.method !== 'GET' && req.method !== 'POST') return undefined;
    const path = (req.url ?? '/').split('?')[0]!;
    const m = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]+)$/.exec(path);
    if (!m) return undefined;
    const pending = this.cache.consume(m[2]!);
    return pending?.kind === m[1] ? pending : undefined;
  }

  // A request without an upgrade still uses up its token, as in kubelet.
  private onPlainRequest(req: IncomingMessage, res: ServerResponse): void {
    const pending = this.take(req);
    const refusal: Refusal = pending
      ? (checkSpdyUpgrade(req.headers) ?? { status: 400, message: 'unable to upgrade: missing upgrade headers in request' })
      : { status: 404, message: '404 page not found' };
    res.writeHead(refusal.status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', ...refusal.headers });
    res.end(`${refusal.message}\n`);
  }

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const pending = this.take(req);
    if (!pending) return refuse(socket, { status: 404, message: '404 page not found' });
    if (isWebSocketUpgrade(req.headers)) return this.onWebSocket(req, socket, head, pending);
    const protocols = pending.kind === 'portforward' ? PORT_FORWARD_PROTOCOLS : REMOTE_COMMAND_PROTOCOLS;
    const negotiated = negotiate(req.headers, protocols);
    if (!('protocol' in negotiated)) return refuse(socket, negotiated);
    const notSpdy = checkSpdyUpgrade(req.headers);
    if (notSpdy) return refuse(socket, notSpdy);

    socket.write(switchingProtocolsResponse(negotiated.protocol));
    const conn = new SpdyConnection(socket, 'server', { idleTimeoutMs: this.idleTimeoutMs });
    this.track(conn);
    const session = pending.kind === 'portforward'
      ? servePortForward(conn, pending.request.podSandboxId, this.creationTimeoutMs, (port, stream) => this.runtime.portForward(pending.request.podSandboxId, port, stream))
      : serveRemoteCommand(conn, negotiated.protocol as RemoteCommandProtocol, pending.request, this.creationTimeoutMs, this.runnerFor(pending));
    session.catch((err: unknown) => {
      debug('streaming session failed: %s', err instanceof Error ? err.message : String(err));
      conn.destroy();
    });
    conn.feed(head);
  }

  private onWebSocket(req: IncomingMessage, socket: Socket, head: Buffer, pending: PendingRequest): void {
    if (pending.kind === 'portforward') {
      // Over a WebSocket the ports are the CRI request's: the channels exist from the start.
      const { podSandboxId, port: ports } = pending.request;
      if (ports.length === 0) return refuse(socket, { status: 400, message: 'unable to upgrade: port-forward over WebSocket needs the ports in the PortForward request' });
      const chosenPf = chooseWebSocketProtocol(req.headers, WEBSOCKET_PORT_FORWARD_PROTOCOLS);
      if (!('protocol' in chosenPf)) return refuse(socket, chosenPf);
      socket.write(webSocketAcceptResponse(req.headers['sec-websocket-key']!, chosenPf.protocol));
      this.track(serveWebSocketPortForward(socket, head, chosenPf.protocol, podSandboxId, ports, this.idleTimeoutMs, (port, stream) => this.runtime.portForward(podSandboxId, port, stream)));
      return;
    }
    const chosen = chooseWebSocketProtocol(req.headers, Object.keys(WEBSOCKET_REMOTE_COMMAND_PROTOCOLS));
    if (!('protocol' in chosen)) return refuse(socket, chosen);
    socket.write(webSocketAcceptResponse(req.headers['sec-websocket-key']!, chosen.protocol));
    this.track(serveWebSocketRemoteCommand(socket, head, chosen.protocol, pending.request, this.idleTimeoutMs, this.runnerFor(pending)));
  }

  private track(conn: { destroy(): void; once(event: 'close', listener: () => void): unknown }): void {
    this.connections.add(conn);
    conn.once('close', () => this.connections.delete(conn));
  }

  /** Runs an exec or attach request on the runtime and tells how it ended. */
  private runnerFor(pending: Extract<PendingRequest, { kind: 'exec' | 'attach' }>): (io: StreamingIo) => Promise<Outcome> {
    if (pending.kind === 'exec') {
      const { containerId, cmd } = pending.request;
      return async (io) => {
        let exitCode: number;
        try {
          ({ exitCode } = await this.runtime.exec(containerId, cmd, io));
        } catch (err) {
          throw new Error(`error executing command in container: ${err instanceof Error ? err.message : String(err)}`);
        }
        return exitCode === 0 ? { kind: 'success' } : { kind: 'exit', exitCode, command: cmd };
      };
    }
    const { containerId } = pending.request;
    return async (io) => {
      try {
        await this.runtime.attach(containerId, io);
      } catch (err) {
        throw new Error(`error attaching to container: ${err instanceof Error ? err.message : String(err)}`);
      }
      return { kind: 'success' };
    };
  }
}

function refuse(socket: Socket, refusal: Refusal): void {
  socket.end(refusalResponse(refusal));
}
