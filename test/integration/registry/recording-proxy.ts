// A small HTTP server on 127.0.0.1 in front of a test registry, for the hosts.toml tests: it
// records every request (method, URL with query, raw headers) and forwards it, optionally under
// another path (a mirror whose API root is not /v2), or answers every request with one status (a
// mirror that is broken).
import { createServer, request, type IncomingMessage } from 'node:http';

export interface SeenRequest {
  method: string;
  /** Path and query as received: "/v2/pause/manifests/3.9?ns=registry.k8s.io". */
  url: string;
  /** The header lines as sent, names lower-cased: [["x-custom", "a"], ["x-custom", "b"], …]. */
  headers: Array<[string, string]>;
}

export interface RecordingProxy {
  host: string;
  url: string;
  seen: SeenRequest[];
  stop(): Promise<void>;
}

export interface ProxyOptions {
  /** The path to forward a request's path to; undefined answers 404. Default: unchanged. */
  rewrite?: (path: string) => string | undefined;
  /** Answer every request with this status instead of forwarding. */
  status?: number;
}

/** A recording proxy forwarding to `target` ("127.0.0.1:PORT", plain HTTP). */
export async function startProxy(target: string, opts: ProxyOptions = {}): Promise<RecordingProxy> {
  const seen: SeenRequest[] = [];
  const [targetHost, targetPort] = target.split(':') as [string, string];
  const server = createServer((req: IncomingMessage, res) => {
    const headers: Array<[string, string]> = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!.toLowerCase(), req.rawHeaders[i + 1]!]);
    seen.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers });
    if (opts.status) {
      req.resume();
      res.writeHead(opts.status, { 'content-type': 'text/plain' }).end('broken on purpose\n');
      return;
    }
    const path = opts.rewrite ? opts.rewrite(req.url ?? '/') : req.url;
    if (path === undefined) {
      req.resume();
      res.writeHead(404).end();
      return;
    }
    // The Host header stays the proxy's, so the registry's Location headers point back here.
    const upstream = request({ host: targetHost, port: Number(targetPort), method: req.method, path, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', (err) => res.writeHead(502).end(err.message));
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    host,
    url: `http://${host}`,
    seen,
    stop: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
