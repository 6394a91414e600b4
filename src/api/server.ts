// The Engine API server: HTTP on unix sockets (mode 0660, group "berth" when it exists) or TCP
// with client-certificate TLS; the /v1.xx prefix read and checked against the versions served;
// each request routed, its errors turned into Docker's JSON errors; connection upgrades (attach,
// exec start) handed to their handler with the raw connection.
import { existsSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { BerthError } from '../common/errors.js';
import { claimSocketPath, restrictSocket, socketAnswers } from '../sys/unix-socket.js';
import type { Engine } from '../engine/engine.js';
import { HttpError, Query, sendError, statusOf } from './http.js';
import { Router, type Ctx } from './router.js';
import { buildRoutes } from './routes/build.js';
import { containerFileRoutes } from './routes/container-files.js';
import { containerRoutes } from './routes/containers.js';
import { execRoutes } from './routes/exec.js';
import { imageRoutes } from './routes/images.js';
import { networkRoutes } from './routes/networks.js';
import { systemRoutes } from './routes/system.js';
import { volumeRoutes } from './routes/volumes.js';

export const API_VERSION = '1.45';
export const MIN_API_VERSION = '1.24';

const versionNumber = (v: string) => {
  const [a, b] = v.split('.').map(Number);
  return a! * 1000 + b!;
};

/** Splits "/v1.41/containers/json" into the version and the path. */
export function splitVersion(path: string): { version?: string; path: string } {
  const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(path);
  return m ? { version: m[1]!, path: m[2]! } : { path };
}

export class ApiServer {
  private readonly router = new Router();
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Duplex>();

  constructor(private readonly engine: Engine, private readonly log: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void = () => {}) {
    systemRoutes(this.router);
    buildRoutes(this.router);
    imageRoutes(this.router);
    containerRoutes(this.router);
    containerFileRoutes(this.router);
    execRoutes(this.router);
    volumeRoutes(this.router, (ctx) => ctx.engine.volumes);
    networkRoutes(this.router);
  }

  private context(req: IncomingMessage): { ctx: Omit<Ctx, 'res' | 'socket' | 'head'>; route?: ReturnType<Router['match']> } {
    const url = new URL(req.url ?? '/', 'http://berth');
    const { version, path } = splitVersion(url.pathname);
    if (version) {
      if (versionNumber(version) > versionNumber(API_VERSION)) throw new HttpError(400, `client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
      if (versionNumber(version) < versionNumber(MIN_API_VERSION)) throw new HttpError(400, `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
    }
    const route = this.router.match(req.method ?? 'GET', path);
    return { ctx: { req, params: route && route !== 'method-not-allowed' ? route.params : {}, query: new Query(url.searchParams), version: version ?? API_VERSION, engine: this.engine }, route };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    res.setHeader('Api-Version', API_VERSION);
    res.setHeader('Server', `berth/${API_VERSION} (linux)`);
    res.setHeader('Docker-Experimental', 'false');
    res.setHeader('Ostype', 'linux');
    try {
      const { ctx, route } = this.context(req);
      if (route === 'method-not-allowed') throw new HttpError(405, `method ${req.method} not allowed on ${req.url}`);
      if (!route) throw new HttpError(404, `page not found`);
      await route.handler({ ...ctx, res });
    } catch (err) {
      this.logFailure(req, err);
      if (!res.writableEnded) sendError(res, err);
    } finally {
      this.log('debug', `${req.method} ${req.url} ${res.statusCode} ${Date.now() - started} ms`);
    }
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    this.log('debug', `${req.method} ${req.url} (upgrade)`);
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    try {
      const { ctx, route } = this.context(req);
      if (!route || route === 'method-not-allowed') throw new HttpError(404, 'page not found');
      await route.handler({ ...ctx, socket, head });
    } catch (err) {
      this.logFailure(req, err);
      if (socket.writable) {
        const body = JSON.stringify({ message: err instanceof Error ? err.message : String(err) });
        socket.end(`HTTP/1.1 ${statusOf(err)} Error\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nApi-Version: ${API_VERSION}\r\n\r\n${body}`);
      }
    }
  }

  private logFailure(req: IncomingMessage, err: unknown): void {
    const status = statusOf(err);
    if (status >= 500 || !(err instanceof BerthError || err instanceof HttpError)) this.log('error', `${req.method} ${req.url}: ${(err as Error).stack ?? err}`);
    else this.log('debug', `${req.method} ${req.url}: ${status} ${(err as Error).message}`);
  }

  private make(tls?: { ca: string; cert: string; key: string }): Server {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    const server = tls
      // allowHalfOpen: a hijacked client that ends its side (no stdin) still reads the output.
      ? createHttpsServer({ ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key), requestCert: true, rejectUnauthorized: true, allowHalfOpen: true }, handler)
      : createHttpServer(handler);
    server.on('upgrade', (req, socket, head) => void this.upgrade(req, socket, head));
    server.on('clientError', answerClientError);
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    server.keepAliveTimeout = 30_000;
    server.requestTimeout = 0; // logs -f, events and attach stream for as long as they like
    server.headersTimeout = 60_000;
    this.servers.push(server);
    return server;
  }

  /** Listens on "unix:///path" or "tcp://host:port" (TCP needs `tls`: client certificates). */
  async listen(address: string, opts: { group?: string; tls?: { ca: string; cert: string; key: string } } = {}): Promise<void> {
    if (address.startsWith('unix://')) {
      const path = address.slice('unix://'.length);
      await claimSocketPath(path);
      const server = this.make();
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, () => resolve()));
      restrictSocket(path, opts.group);
      return;
    }
    if (address.startsWith('tcp://')) {
      if (!opts.tls) throw new BerthError('INVALID_ARGUMENT', `refusing to listen on ${address} without TLS: give --tlsverify with --tlscacert, --tlscert and --tlskey`);
      const url = new URL(address.replace(/^tcp:/, 'https:'));
      const server = this.make(opts.tls);
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(Number(url.port || 2376), url.hostname, () => resolve()));
      return;
    }
    throw new BerthError('INVALID_ARGUMENT', `unsupported listen address "${address}": use unix:///path or tcp://host:port`);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((s) => new Promise((r) => s.close(r))));
  }
}

/**
 * A request Node's parser refuses (a body cut short, headers too large, not HTTP at all): Node's
 * own answer is a bare "400 Bad Request"; Docker's clients print the JSON message, so it gets one.
 * When an answer to an earlier request on the connection is under way, that one goes out instead:
 * ending (not destroying) the connection lets out what is queued, which Node's default drops.
 */
function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const body = JSON.stringify({ message: `bad HTTP request: ${err.message}` });
  const answer = (socket as Socket).bytesWritten > 0 ? ''
    : `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nApi-Version: ${API_VERSION}\r\nConnection: close\r\n\r\n${body}`;
  // Destroyed once written, as Node's own answer is: a handler still reading the request's body
  // must see it end (a cp holding its container frozen, say), not wait on a half-open socket.
  socket.end(answer, () => socket.destroy());
}

/** Fails when a live daemon already serves `address` (checked before the engine is opened). */
export async function checkAddressFree(address: string): Promise<void> {
  if (!address.startsWith('unix://')) return;
  const path = address.slice('unix://'.length);
  if (existsSync(path) && (await socketAnswers(path))) throw new BerthError('ALREADY_EXISTS', `another daemon is listening on ${path}: stop it first, or give this one its own -H and --exec-root`);
}
