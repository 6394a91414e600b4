// One HTTP(S) request with a streamed body, for the registry client: node's http/https, so a
// per-registry CA can be given, with a deadline on the response headers.
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { BerthError } from '../common/errors.js';

export interface HttpOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: Buffer | AsyncIterable<Buffer>;
  ca?: Buffer;
  timeoutMs?: number;
}

export function send(url: URL, o: HttpOptions = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method: o.method ?? 'GET', headers: o.headers, ca: o.ca });
    const timer = setTimeout(() => req.destroy(new BerthError('UNAVAILABLE', `${url.host}: no answer within ${(o.timeoutMs ?? 30_000) / 1000} s`)), o.timeoutMs ?? 30_000);
    req.once('response', (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    req.once('error', (err) => {
      clearTimeout(timer);
      reject(err instanceof BerthError ? err : new BerthError('UNAVAILABLE', `${url.host}: ${err.message}`));
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
