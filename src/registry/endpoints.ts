// Where and how the client reaches a registry: the hosts to ask, in order, and what each may be
// asked (containerd's hosts.toml, or Docker's mirrors), each host's base URL (HTTPS; plain HTTP
// only for insecure registries), the TLS material of each host from certs.d, and what a user is
// told when a certificate does not verify.
//
// The scheme follows Docker: a registry is reached over HTTPS, and an insecure one (listed in
// `insecure`, or on loopback: 127.0.0.0/8, localhost) is tried over HTTPS first and over plain HTTP
// when it does not speak TLS. One difference: Docker also skips certificate checks for loopback;
// berth checks them there unless the host is listed in `insecure`, so a local TLS registry with an
// unknown CA is an error (put its CA in certs.d) rather than silently trusted.
//
// A registry with a hosts.toml (hosts.ts) is reached through the hosts it lists, then its server;
// its Docker mirrors are then not used. The certs.d files of each host connected to still apply,
// with the hosts.toml's own `ca`, `client` and `skip_verify` on top.
import type { IncomingMessage } from 'node:http';
import { statSync } from 'node:fs';
import { BerthError, errnoOf } from '../common/errors.js';
import { DEFAULT_CERTS_DIR, loadCerts, tlsFailure, withNamedFiles } from './certs.js';
import { ALL_CAPABILITIES, findHostsFile, readHostsFile, type Capability, type HostSettings } from './hosts.js';
import { send, type HttpOptions, type TlsOptions } from './http.js';

/** One host requests for a registry go to: a mirror, or the registry (its server) itself. */
export interface Endpoint {
  /** The host connected to ("host:port"). */
  host: string;
  /**
   * The API root paths are appended to: "https://registry-1.docker.io/v2" (override_path: any
   * path). A function, as the registry's own scheme may take a probe to learn (insecure registries).
   */
  root: () => Promise<string>;
  capabilities: ReadonlySet<Capability>;
  /** The registry's name, sent as `?ns=` (containerd's mirror convention): the host serves another registry's names. */
  namespace?: string;
  /** Extra request headers from hosts.toml. */
  header: Record<string, string[]>;
  /** TLS for connections to the root's host; undefined: the certs.d material of the host connected to. */
  tls?: TlsOptions;
  connectTimeoutMs?: number;
  /** The name whose credentials answer the host's challenges: the registry's own for the registry. */
  credentialsFor: string;
  /** Where the host is configured, for messages: `<file> [host."…"]`. */
  configuredIn?: string;
}

export interface RegistryEndpoints {
  /** The hosts in the order they are tried: mirrors first, the registry last. */
  hosts: Endpoint[];
  /** The hosts.toml they come from, if one applies. */
  file?: string;
}

export interface EndpointOptions {
  /** Hosts (host:port) that may use plain HTTP and whose certificates are not checked; loopback may use plain HTTP unlisted. */
  insecure?: string[];
  /** Docker's certs.d layout: `<certsDir>/<host:port>/ca.crt`, `client.cert`, `client.key`. */
  certsDir?: string;
  /** Another CA certificate for a host (host:port as connected to: docker.io is registry-1.docker.io), besides certs.d. */
  ca?: (registry: string) => Buffer | undefined;
  /** Registry host → mirror base URLs ("http://127.0.0.1:5001"), read from in order before the registry, unless it has a hosts.toml. */
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
  /** Parsed hosts.toml files and the endpoints made from them, by file; re-read when the file changes. */
  private readonly fromFiles = new Map<string, { stamp: string; endpoints: RegistryEndpoints }>();

  constructor(private readonly opts: EndpointOptions = {}) {}

  get certsDir(): string {
    return this.opts.certsDir ?? DEFAULT_CERTS_DIR;
  }

  /**
   * The hosts to reach `registry` through, in order: those of its hosts.toml (read again when it
   * changes, as containerd does), or else its Docker mirrors and then the registry. A bad
   * hosts.toml is an INVALID_ARGUMENT error naming the file and the key.
   */
  forRegistry(registry: string): RegistryEndpoints {
    const file = findHostsFile(this.certsDir, registry);
    if (!file) return this.dockerEndpoints(registry);
    let stamp: string;
    try {
      const st = statSync(file);
      stamp = `${registry} ${st.mtimeMs} ${st.size} ${st.ino}`;
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return this.dockerEndpoints(registry); // removed meanwhile
      throw err;
    }
    const key = `${registry}\0${file}`;
    const cached = this.fromFiles.get(key);
    if (cached?.stamp === stamp) return cached.endpoints;
    // A bad file throws here, and is read again on the next pull (perhaps mended by then).
    const endpoints: RegistryEndpoints = { hosts: readHostsFile(file).hosts.map((s) => this.fileEndpoint(registry, file, s)), file };
    this.fromFiles.set(key, { stamp, endpoints });
    return endpoints;
  }

  private fileEndpoint(registry: string, file: string, s: HostSettings): Endpoint {
    const named = s.root;
    // A server the file leaves unnamed is the registry, reached as without a hosts.toml.
    const host = named ? new URL(named).host : registryHost(registry);
    const root = named ? async () => named : async () => `${await this.base(registry)}${s.overridePath ? '' : '/v2'}`;
    const configuredIn = `${file} ${s.table}`;
    const ownHost = host === registryHost(registry);
    return {
      host,
      root,
      capabilities: new Set(s.capabilities),
      namespace: ownHost ? undefined : registry,
      header: s.header ?? {},
      // Used only when the connection is HTTPS.
      tls: withNamedFiles(this.tls(host), s, configuredIn),
      connectTimeoutMs: s.dialTimeoutMs,
      credentialsFor: ownHost ? registry : host,
      configuredIn,
    };
  }

  /** Docker's way: each mirror (for reads: tags and content), then the registry for everything. */
  private dockerEndpoints(registry: string): RegistryEndpoints {
    const mirrors: Endpoint[] = (this.opts.mirrors?.[registry] ?? []).map((m) => {
      const root = `${m.replace(/\/+$/, '')}/v2`;
      const host = new URL(root).host;
      return { host, root: async () => root, capabilities: new Set<Capability>(['pull', 'resolve']), header: {}, credentialsFor: host };
    });
    const root = async () => `${await this.base(registry)}/v2`;
    const server: Endpoint = { host: registryHost(registry), root, capabilities: new Set(ALL_CAPABILITIES), header: {}, credentialsFor: registry };
    return { hosts: [...mirrors, server] };
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

  /**
   * A request with the host's TLS options (`via`'s, for its own host); a certificate problem says
   * what to do about it.
   */
  async send(url: URL, o: HttpOptions = {}, via?: Endpoint): Promise<IncomingMessage> {
    const own = via?.host === url.host;
    const tls = url.protocol !== 'https:' ? undefined : own && via.tls ? via.tls : this.tls(url.host);
    try {
      return await send(url, { ...o, tls, connectTimeoutMs: own ? via.connectTimeoutMs : undefined });
    } catch (err) {
      const cause = err instanceof BerthError ? err.cause : err;
      const hostDir = `${this.certsDir}/${url.host}`;
      // OpenSSL's errors carry a short `reason` beside a long message.
      const reason = (cause as { reason?: string } | undefined)?.reason ?? (cause instanceof Error ? cause.message : String(cause));
      if (tlsFailure(cause) === 'untrusted') {
        const orFile = own && via.configuredIn ? `, or name it with "ca" (or set skip_verify) in ${via.configuredIn}` : `, or mark ${url.host} as an insecure registry`;
        throw new BerthError('FAILED_PRECONDITION', `${url.host}: the registry's TLS certificate is not trusted (${reason}): put the CA certificate that signed it at ${hostDir}/ca.crt${orFile}`, { cause });
      }
      if (tlsFailure(cause) === 'refused') {
        const orFile = own && via.configuredIn ? `, or name them with "client" in ${via.configuredIn}` : '';
        throw new BerthError('FAILED_PRECONDITION', `${url.host} refused the TLS connection (${reason}): if it wants a client certificate, put it and its key at ${hostDir}/client.cert and ${hostDir}/client.key${orFile}`, { cause });
      }
      throw err;
    }
  }
}
