// HTTP plumbing for the Engine API: JSON bodies read with a size limit and type checks, Docker's
// error body {"message": …} with its status codes, query parameters as Docker reads them, and
// streams of JSON messages (pull, push, load, events, stats).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BerthError, invalid } from '../common/errors.js';

/** The largest JSON body accepted (a create body with every option is a few KiB). */
export const JSON_BODY_LIMIT = 4 << 20;

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export async function readJson(req: IncomingMessage, opts: { optional?: boolean } = {}): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > JSON_BODY_LIMIT) {
    req.resume();
    throw new HttpError(413, `request body of ${declared} bytes is larger than the ${JSON_BODY_LIMIT} allowed`);
  }
  const parts: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of req) {
      n += (chunk as Buffer).length;
      if (n > JSON_BODY_LIMIT) {
        req.destroy();
        throw new HttpError(413, `request body is larger than the ${JSON_BODY_LIMIT} bytes allowed`);
      }
      parts.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof HttpError) throw err;
    // The client went away mid-body: its mistake (a 400, logged as such), not the daemon's.
    throw new HttpError(400, `the request body was cut short: ${(err as Error).message}`);
  }
  const text = Buffer.concat(parts).toString().trim();
  if (!text) {
    if (opts.optional) return undefined;
    throw invalid('the request needs a JSON body');
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw invalid(`invalid JSON: ${(err as Error).message}`);
  }
}

export function statusOf(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  if (err instanceof BerthError) return err.httpStatus === 503 ? 500 : err.httpStatus;
  return 500;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': data.length });
  res.end(data);
}

export function sendError(res: ServerResponse, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  if (res.headersSent) {
    // A stream already under way: the error goes in it, as Docker's JSON messages carry errors.
    res.end(`${JSON.stringify({ errorDetail: { message }, error: message })}\r\n`);
    return;
  }
  const status = statusOf(err);
  if (status === 413) {
    // The rest of the body is not read: the connection goes, so it cannot be misread as a request.
    res.setHeader('Connection', 'close');
    res.once('finish', () => res.socket?.destroy());
  }
  sendJson(res, status, { message });
}

export function sendNoContent(res: ServerResponse, status = 204): void {
  res.writeHead(status);
  res.end();
}

/** Query parameters the way Docker's httputils reads them. */
export class Query {
  constructor(private readonly q: URLSearchParams) {}

  string(name: string): string | undefined {
    return this.q.get(name) ?? undefined;
  }

  all(name: string): string[] {
    return this.q.getAll(name);
  }

  /** "1", "true", "True" are true; "", "0", "false" and absence are false. */
  bool(name: string, fallback = false): boolean {
    const v = this.q.get(name);
    if (v === null) return fallback;
    return !['', '0', 'false', 'False', 'FALSE', 'no'].includes(v);
  }

  int(name: string): number | undefined {
    const v = this.q.get(name);
    if (v === null || v === '') return undefined;
    const n = Number(v);
    // Safe integers only: a bigger one has lost its digits (and a wait that long overflows any timer).
    if (!Number.isSafeInteger(n)) throw invalid(`invalid value for ${name}: "${v}" is not an integer in range`);
    return n;
  }

  json(name: string): unknown {
    const v = this.q.get(name);
    if (!v) return undefined;
    try {
      return JSON.parse(v);
    } catch {
      throw invalid(`invalid JSON in query parameter ${name}`);
    }
  }
}

/**
 * Writes a chunk of a streamed answer; false once the client is gone. A slow client is waited for
 * until it drains or leaves: waiting for a 'drain' that never comes would keep the source (an
 * export's open files in a container's rootfs, say) suspended forever, and its stop would then
 * fail to unmount a busy rootfs.
 */
export async function writeChunk(res: ServerResponse, chunk: Buffer | string): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return false;
  if (res.write(chunk)) return true;
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', drained);
      res.off('close', closed);
      resolve(ok);
    };
    const drained = () => done(true);
    const closed = () => done(false);
    res.once('drain', drained).once('close', closed);
  });
}

/** Starts a stream of JSON messages (one per line, as Docker sends them). */
export function startJsonStream(res: ServerResponse): (message: unknown) => void {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  return (message) => {
    res.write(`${JSON.stringify(message)}\r\n`);
  };
}
