// Routes as Docker's router has them: a method and a path with {name} parameters, each parameter
// one path segment (so "../" can never reach a handler as part of a name).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { invalid } from '../common/errors.js';
import type { Engine } from '../engine/engine.js';
import type { Query } from './http.js';

export interface Ctx {
  req: IncomingMessage;
  /** Undefined for a connection upgrade (attach, exec start): then `socket` is the connection. */
  res?: ServerResponse;
  socket?: Duplex;
  head?: Buffer;
  params: Record<string, string>;
  query: Query;
  /** The API version the client speaks (negotiated or from the path). */
  version: string;
  engine: Engine;
}

export type Handler = (ctx: Ctx) => Promise<void> | void;

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, path: string, handler: Handler): this {
    const keys: string[] = [];
    // {name} matches one segment; {name:*} the rest of the path (only for image names with slashes).
    const source = path.replace(/[.]/g, '\\.').replace(/\{(\w+)(:\*)?\}/g, (_, key: string, rest?: string) => {
      keys.push(key);
      return rest ? '(.+)' : '([^/]+)';
    });
    this.routes.push({ method, pattern: new RegExp(`^${source}/?$`), keys, handler });
    return this;
  }

  match(method: string, path: string): { handler: Handler; params: Record<string, string> } | 'method-not-allowed' | undefined {
    let other = false;
    for (const r of this.routes) {
      const m = r.pattern.exec(path);
      if (!m) continue;
      if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) {
        other = true;
        continue;
      }
      const params: Record<string, string> = {};
      r.keys.forEach((k, i) => (params[k] = decodeParam(m[i + 1]!)));
      return { handler: r.handler, params };
    }
    return other ? 'method-not-allowed' : undefined;
  }
}

/** A path parameter unescaped. A broken escape (%zz) is the client's mistake, a 400 as Go's URL parser makes it, not a 500. */
function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw invalid(`invalid URL escape in path parameter "${raw.slice(0, 200)}"`);
  }
}
