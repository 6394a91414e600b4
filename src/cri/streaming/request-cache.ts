// Pending streaming requests by single-use token, as kubelet keeps them: the CRI call stores the
// request and returns a URL with the token; the client's connection to that URL takes it out.
// Tokens are 8 random URL-safe characters and expire after a minute; at most 1,000 wait at once.
import { randomBytes } from 'node:crypto';
import { BerthError } from '../../common/errors.js';
import type { AttachRequest, ExecRequest, PortForwardRequest } from './requests.js';

export type PendingRequest =
  | { kind: 'exec'; request: ExecRequest }
  | { kind: 'attach'; request: AttachRequest }
  | { kind: 'portforward'; request: PortForwardRequest };

export interface RequestCacheOptions {
  ttlMs?: number;
  maxInFlight?: number;
  /** The clock, for tests. */
  now?: () => number;
}

export class RequestCache {
  // A Map iterates in insertion order, and entries share one TTL: the first entry expires first.
  private readonly entries = new Map<string, { pending: PendingRequest; expiresAt: number }>();
  private readonly ttlMs: number;
  private readonly maxInFlight: number;
  private readonly now: () => number;

  constructor(options: RequestCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.maxInFlight = options.maxInFlight ?? 1000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  insert(pending: PendingRequest): string {
    this.collect();
    if (this.entries.size >= this.maxInFlight) {
      throw new BerthError('UNAVAILABLE', `too many streaming requests in flight (${this.maxInFlight}): retry later`);
    }
    for (let tries = 0; tries < 10; tries++) {
      const token = randomBytes(6).toString('base64url');
      if (this.entries.has(token)) continue;
      this.entries.set(token, { pending, expiresAt: this.now() + this.ttlMs });
      return token;
    }
    throw new BerthError('INTERNAL', 'failed to generate a unique streaming token');
  }

  /** Takes the request out; undefined when the token is unknown, used or expired. */
  consume(token: string): PendingRequest | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    this.entries.delete(token);
    return this.now() > entry.expiresAt ? undefined : entry.pending;
  }

  private collect(): void {
    const now = this.now();
    for (const [token, entry] of this.entries) {
      if (now <= entry.expiresAt) return;
      this.entries.delete(token);
    }
  }
}
