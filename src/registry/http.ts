// One HTTP(S) request with a streamed body, for the registry client: node's http/https, so a
// per-registry CA and client certificate can be given, with a deadline on the response headers.
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { BerthError } from '../common/errors.js';

/** What an HTTPS connection trusts and presents (certs.ts finds it in certs.d). */
export interface TlsOptions {
  /** CA certificates; when given they replace node's defaults, so certs.ts adds those back. */
  ca?: Array<string | Buffer>;
  cert?: Buffer[];
  key?: Buffer[];
  /** false for registries marked insecure: any certificate is accepted, as Docker does. */
  rejectUnauthorized?: boolean;
}

export interface HttpOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: Buffer | AsyncIterable<Buffer>;
  tls?: TlsOptions;
  timeoutMs?: number;
  /** How long connecting may take (a hosts.toml's dial_timeout); the response deadline still applies. */
  connectTimeoutMs?: number;
}

export type Send = (url: URL, o?: HttpOptions) => Promise<IncomingMessage>;

/** Sends the request; a failure to connect is an UNAVAILABLE BerthError whose cause is node's error. */
export function send(url: URL, o: HttpOptions = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const https = url.protocol === 'https:';
    const req = (https ? httpsRequest : httpRequest)(url, { method: o.method ?? 'GET', headers: o.headers, ...(https ? o.tls : {}) });
    const timer = setTimeout(() => req.destroy(new BerthError('UNAVAILABLE', `${url.host}: no answer within ${(o.timeoutMs ?? 30_000) / 1000} s`)), o.timeoutMs ?? 30_000);
    if (o.connectTimeoutMs !== undefined) {
      const limit = o.connectTimeoutMs;
      req.once('socket', (socket) => {
        if (!socket.connecting) return;
        const dial = setTimeout(() => req.destroy(new BerthError('UNAVAILABLE', `${url.host}: could not connect within ${limit / 1000} s`)), limit);
        socket.once('connect', () => clearTimeout(dial));
        socket.once('close', () => clearTimeout(dial));
      });
    }
    req.once('response', (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    req.once('error', (err) => {
      clearTimeout(timer);
      reject(err instanceof BerthError ? err : new BerthError('UNAVAILABLE', `${url.host}: ${err.message}`, { cause: err }));
    });
    if (o.body === undefined) req.end();
    else if (Buffer.isBuffer(o.body)) req.end(o.body);
    else Readable.from(o.body).pipe(req);
  });
}

export async function readBody(res: IncomingMessage, limit = 16 << 20): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of res) {
    n += (chunk as Buffer).length;
    if (n > limit) {
      res.destroy();
      throw new BerthError('INVALID_ARGUMENT', `a registry response is larger than ${limit} bytes`);
    }
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts);
}
