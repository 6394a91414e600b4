// The Docker Engine API client: HTTP/1.1 over a unix socket or TCP, the API version negotiated on
// the first call (min of the daemon's API-Version and ours), JSON in and out, streamed bodies, and
// hijacked connections for attach and exec.
import http from 'node:http';
import net from 'node:net';
import { Readable, type Duplex } from 'node:stream';
import { debuglog } from 'node:util';
import { ApiError, DaemonUnreachableError, messageOf } from './errors.js';
import type { DaemonHost } from './host.js';

const debug = debuglog('berth:client');

/** The newest Engine API version this client speaks. */
export const MAX_API_VERSION = '1.45';
/** What a daemon that does not say its version is assumed to speak (Docker's fallback). */
export const FALLBACK_API_VERSION = '1.24';

export type QueryValue = string | number | boolean | undefined | null | readonly string[];
export type Query = Record<string, QueryValue>;

export interface RequestOptions {
  query?: Query;
  /** A JSON body. */
  body?: unknown;
  /** A raw body (a tar stream or bytes), sent as is with `contentType`. */
  rawBody?: Readable | Buffer | string;
  contentType?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Do not prefix the path with /v1.xx (only /_ping). */
  unversioned?: boolean;
}

export interface PingResult {
  apiVersion?: string;
  osType?: string;
  experimental: boolean;
}

/** A hijacked attach/exec connection: `stream` carries output in and stdin out. */
export interface Hijacked {
  stream: Duplex;
  /** False when the daemon answered with a plain response body instead of upgrading: output only. */
  upgraded: boolean;
  /** Content type the daemon announced (raw-stream or multiplexed-stream). */
  contentType: string;
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** Query parameters in key order, as Go's url.Values.Encode writes them (true is "1"). */
export function encodeQuery(query: Query | undefined): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) for (const item of v as readonly string[]) params.append(k, item);
    else if (typeof v === 'boolean') params.append(k, v ? '1' : '0');
    else params.append(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** Docker's filter query value: {"key": {"value": true}}. */
export function encodeFilters(filters: Record<string, readonly string[]> | undefined): string | undefined {
  if (!filters || Object.keys(filters).length === 0) return undefined;
  const out: Record<string, Record<string, boolean>> = {};
  for (const [k, values] of Object.entries(filters)) {
    out[k] = {};
    for (const v of values) out[k]![v] = true;
  }
  return JSON.stringify(out);
}

export interface EngineClientOptions {
  host: DaemonHost;
  /** A fixed API version (DOCKER_API_VERSION): no negotiation. */
  apiVersion?: string;
  userAgent?: string;
}

export class EngineClient {
  readonly host: DaemonHost;
  private readonly agent: http.Agent;
  private readonly userAgent: string;
  private version: string | undefined;
  private negotiation: Promise<string> | undefined;

  constructor(opts: EngineClientOptions) {
    this.host = opts.host;
    this.version = opts.apiVersion;
    this.userAgent = opts.userAgent ?? 'berth-client';
    this.agent = new http.Agent({ keepAlive: true });
  }

  /** Closes idle connections (a CLI calls this before it exits). */
  close(): void {
    this.agent.destroy();
  }

  private target(): http.RequestOptions {
    return this.host.kind === 'unix'
      ? { socketPath: this.host.path, host: 'localhost' }
      : { host: this.host.host, port: this.host.port };
  }

  private connect(): net.Socket {
    return this.host.kind === 'unix'
      ? net.connect({ path: this.host.path, allowHalfOpen: true })
      : net.connect({ host: this.host.host, port: this.host.port, allowHalfOpen: true });
  }

  private unreachable(err: unknown): Error {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES' || code === 'ENOTSOCK') {
      return new DaemonUnreachableError(this.host.url, code, err);
    }
    return err as Error;
  }

  /** GET /_ping: is a daemon there, and which API version does it speak. */
  async ping(signal?: AbortSignal): Promise<PingResult> {
    const res = await this.send('GET', '/_ping', { unversioned: true, signal });
    res.resume();
    const h = res.headers;
    return {
      apiVersion: typeof h['api-version'] === 'string' ? h['api-version'] : undefined,
      osType: typeof h['ostype'] === 'string' ? h['ostype'] : undefined,
      experimental: h['docker-experimental'] === 'true',
    };
  }

  /** The API version requests use: negotiated once, min(daemon's, ours). */
  async apiVersion(): Promise<string> {
    if (this.version) return this.version;
    this.negotiation ??= this.ping().then((p) => {
      const server = p.apiVersion ?? FALLBACK_API_VERSION;
      this.version = compareVersions(server, MAX_API_VERSION) < 0 ? server : MAX_API_VERSION;
      debug('negotiated API version %s (daemon %s)', this.version, p.apiVersion);
      return this.version;
    });
    return this.negotiation;
  }

  private async fullPath(path: string, opts: RequestOptions): Promise<string> {
    const prefix = opts.unversioned ? '' : `/v${await this.apiVersion()}`;
    return `${prefix}${path}${encodeQuery(opts.query)}`;
  }

  private headersFor(opts: RequestOptions): Record<string, string> {
    const headers: Record<string, string> = { 'User-Agent': this.userAgent, ...opts.headers };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    else if (opts.rawBody !== undefined) headers['Content-Type'] = opts.contentType ?? 'application/x-tar';
    return headers;
  }

  private writeBody(req: http.ClientRequest, opts: RequestOptions): void {
    if (opts.body !== undefined) {
      const data = Buffer.from(JSON.stringify(opts.body));
      req.setHeader('Content-Length', data.length);
      req.end(data);
    } else if (opts.rawBody instanceof Readable) {
      opts.rawBody.on('error', (err) => req.destroy(err));
      opts.rawBody.pipe(req);
    } else if (opts.rawBody !== undefined) {
      const data = Buffer.from(opts.rawBody);
      req.setHeader('Content-Length', data.length);
      req.end(data);
    } else {
      req.end();
    }
  }

  /** Sends a request; resolves with the response once its headers arrive, whatever its status. */
  private async send(method: string, path: string, opts: RequestOptions): Promise<http.IncomingMessage> {
    const fullPath = await this.fullPath(path, opts);
    debug('%s %s', method, fullPath);
    return new Promise((resolve, reject) => {
      const req = http.request({ ...this.target(), agent: this.agent, method, path: fullPath, headers: this.headersFor(opts), signal: opts.signal });
      req.once('error', (err) => reject(this.unreachable(err)));
      req.once('response', resolve);
      this.writeBody(req, opts);
    });
  }

  /** A request whose error statuses (>= 400) become an ApiError; the body is left to the caller. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<http.IncomingMessage> {
    const res = await this.send(method, path, opts);
    if ((res.statusCode ?? 500) >= 400) throw await errorFrom(res);
    return res;
  }

  /** A request whose JSON answer is returned (undefined for an empty body, e.g. 204). */
  async json<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    const text = await readText(res);
    if (!text.trim()) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(res.statusCode ?? 500, `the daemon answered ${method} ${path} with something that is not JSON: ${text.slice(0, 200)}`);
    }
  }

  /** A request whose body is returned as text, exactly as the daemon sent it. */
  async text(method: string, path: string, opts: RequestOptions = {}): Promise<string> {
    return readText(await this.request(method, path, opts));
  }

  /** A request whose body is drained and ignored; returns the status (204, 304…). */
  async call(method: string, path: string, opts: RequestOptions = {}): Promise<number> {
    const res = await this.request(method, path, opts);
    res.resume();
    await new Promise((r) => res.once('end', r).once('close', r));
    return res.statusCode ?? 0;
  }

  /**
   * POST with `Connection: Upgrade, Upgrade: tcp`: on 101 the connection becomes a raw
   * bidirectional stream (half-closable: end() sends FIN and output keeps coming).
   */
  async hijack(method: string, path: string, opts: RequestOptions = {}): Promise<Hijacked> {
    const fullPath = await this.fullPath(path, opts);
    debug('%s %s (hijack)', method, fullPath);
    const headers: Record<string, string> = { ...this.headersFor(opts), Connection: 'Upgrade', Upgrade: 'tcp' };
    if (opts.body === undefined && opts.rawBody === undefined) headers['Content-Type'] = 'text/plain';
    return new Promise((resolve, reject) => {
      const req = http.request({ ...this.target(), method, path: fullPath, headers, signal: opts.signal, createConnection: () => this.connect() });
      req.once('error', (err) => reject(this.unreachable(err)));
      req.once('upgrade', (res, socket, head) => {
        if (head.length) socket.unshift(head);
        resolve({ stream: socket, upgraded: true, contentType: String(res.headers['content-type'] ?? '') });
      });
      req.once('response', (res) => {
        if ((res.statusCode ?? 500) >= 400) {
          errorFrom(res).then(reject, reject);
          return;
        }
        resolve({ stream: res as unknown as Duplex, upgraded: false, contentType: String(res.headers['content-type'] ?? '') });
      });
      this.writeBody(req, opts);
    });
  }
}

export async function readText(res: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function errorFrom(res: http.IncomingMessage): Promise<ApiError> {
  const status = res.statusCode ?? 500;
  return new ApiError(status, messageOf(status, await readText(res)));
}
