// Where and how the client reaches a registry: its base URL (HTTPS; plain HTTP only for insecure
// registries), the TLS material of each host from certs.d, the mirrors to read from first, and
// what a user is told when a certificate does not verify.
//
// The scheme follows Docker: a registry is reached over HTTPS, and an insecure one (listed in
// `insecure`, or on loopback: 127.0.0.0/8, localhost) is tried over HTTPS first and over plain HTTP
// when it does not speak TLS. One difference: Docker also skips certificate checks for loopback;
// berth checks them there unless the host is listed in `insecure`, so a local TLS registry with an
// unknown CA is an error (put its CA in certs.d) rather than silently trusted.
import type { IncomingMessage } from 'node:http';
import { BerthError, errnoOf } from '../common/errors.js';
import { DEFAULT_CERTS_DIR, loadCerts, tlsFailure } from './certs.js';
import { send, type HttpOptions, type TlsOptions } from './http.js';

export interface EndpointOptions {
  /** Hosts (host:port) that may use plain HTTP and whose certificates are not checked; loopback may use plain HTTP unlisted. */
  insecure?: string[];
  /** Docker's certs.d layout: `<certsDir>/<host:port>/ca.crt`, `client.cert`, `client.key`. */
  certsDir?: string;
  /** Another CA certificate for a host (host:port as connected to: docker.io is registry-1.docker.io), besides certs.d. */
  ca?: (registry: string) => Buffer | undefined;
  /** Registry host → mirror base URLs ("http://127.0.0.1:5001"), read from in order before the registry. */
  mirrors?: Record<string, string[]>;
}

/** The host a registry name is served from: docker.io is registry-1.docker.io. */
export function registryHost(registry: string): string {
  return registry === 'docker.io' ? 'registry-1.docker.io' : registry;
}

function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, '');
  return name === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

export class Endpoints {
  private readonly bases = new Map<string, string>();
  private readonly tlsByHost = new Map<string, TlsOptions>();

  constructor(private readonly opts: EndpointOptions = {}) {}

  get certsDir(): string {
    return this.opts.certsDir ?? DEFAULT_CERTS_DIR;
  }

  /** The mirrors to read `registry` from, in order. */
  mirrors(registry: string): string[] {
    return (this.opts.mirrors?.[registry] ?? []).map((m) => m.replace(/\/+$/, ''));
  }

  /** `https://host` or, for an insecure registry that does not speak TLS, `http://host`. */
  async base(registry: string): Promise<string> {
    const host = registryHost(registry);
    const known = this.bases.get(host);
    if (known) return known;
    if (!this.opts.insecure?.includes(host) && !isLoopback(host)) return `https://${host}`;
    // Probe /v2/ as Docker pings it: any HTTP answer means TLS works.
    let base = `https://${host}`;
    try {
      (await this.send(new URL(`${base}/v2/`))).resume();
    } catch (err) {
      const cause = err instanceof BerthError ? err.cause : err;
      // Refused, timed out or a certificate problem is the answer; any other failure of the
      // connection (the server answered the TLS hello in plain HTTP, or hung up) means plain HTTP.
      if (!(err instanceof BerthError) || err.code !== 'UNAVAILABLE' || !cause || errnoOf(cause) === 'ECONNREFUSED') throw err;
      base = `http://${host}`;
    }
    this.bases.set(host, base);
    return base;
  }

  /** What connections to `host` trust and present: certs.d, the `ca` option, `insecure`. */
  tls(host: string): TlsOptions {
    let tls = this.tlsByHost.get(host);
    if (!tls) {
      tls = loadCerts(this.certsDir, host);
      const extra = this.opts.ca?.(host);
      if (extra) tls.ca = [...(tls.ca ?? []), extra];
      if (this.opts.insecure?.includes(host)) tls.rejectUnauthorized = false;
      this.tlsByHost.set(host, tls);
    }
    return tls;
  }

  /** A request with the host's TLS options; a certificate problem says what to do about it. */
  async send(url: URL, o: HttpOptions = {}): Promise<IncomingMessage> {
    const tls = url.protocol === 'https:' ? this.tls(url.host) : undefined;
    try {
      return await send(url, { ...o, tls });
    } catch (err) {
      const cause = err instanceof BerthError ? err.cause : err;
      const hostDir = `${this.certsDir}/${url.host}`;
      // OpenSSL's errors carry a short `reason` beside a long message.
      const reason = (cause as { reason?: string } | undefined)?.reason ?? (cause instanceof Error ? cause.message : String(cause));
      if (tlsFailure(cause) === 'untrusted') {
        throw new BerthError('FAILED_PRECONDITION', `${url.host}: the registry's TLS certificate is not trusted (${reason}): put the CA certificate that signed it at ${hostDir}/ca.crt, or mark ${url.host} as an insecure registry`, { cause });
      }
      if (tlsFailure(cause) === 'refused') {
        throw new BerthError('FAILED_PRECONDITION', `${url.host} refused the TLS connection (${reason}): if it wants a client certificate, put it and its key at ${hostDir}/client.cert and ${hostDir}/client.key`, { cause });
      }
      throw err;
    }
  }
}
