// A client for the OCI distribution API (the registry side of pull and push): manifests by tag or
// digest, blobs streamed and checked against their digest as they arrive, uploads that skip blobs
// the registry has and mount them from another repository when it can. Each request goes to the
// hosts that may serve it, in order (mirrors first, from a hosts.toml or Docker's mirrors); which
// hosts and how they are reached (HTTPS, insecure registries, certs.d) is endpoints.ts;
// authentication answers each host's challenge (auth.ts).
import { STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { debuglog } from 'node:util';
import { BerthError, notFound } from '../common/errors.js';
import { hasher, parseDigest } from '../common/digest.js';
import { formatReference, type ImageReference } from '../image/reference.js';
import { MediaType } from '../image/manifest.js';
import { AuthRefused, answerChallenge, type Credentials } from './auth.js';
import { Endpoints, type Endpoint, type EndpointOptions } from './endpoints.js';
import { readBody } from './http.js';

const debug = debuglog('berth:registry');

export interface RegistryOptions extends EndpointOptions {
  /** The credentials for a registry (or mirror) host; a lookup that fails is reported only if they were needed. */
  credentials?: (registry: string) => Credentials | undefined | Promise<Credentials | undefined>;
}

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

const ACCEPT = [MediaType.ociIndex, MediaType.dockerManifestList, MediaType.ociManifest, MediaType.dockerManifest].join(', ');

export class RegistryClient {
  /** Authorization headers that worked, per origin and repository. */
  private readonly auth = new Map<string, string>();
  private readonly endpoints: Endpoints;
  /** The mirror an error response came from, for its message. */
  private readonly answeredBy = new WeakMap<IncomingMessage, string>();

  constructor(private readonly opts: RegistryOptions = {}) {
    this.endpoints = new Endpoints(opts);
  }

  /** The credentials for `host`, or the error looking them up gave (a credential helper missing). */
  private async lookup(host: string): Promise<{ creds?: Credentials; error?: unknown }> {
    try {
      return { creds: await this.opts.credentials?.(host) };
    } catch (error) {
      return { error };
    }
  }

  /** `path` ("/library/busybox/manifests/latest") under the host's API root, with `?ns=` for a mirror. */
  private async urlOf(host: Endpoint, path: string): Promise<URL> {
    const url = new URL(`${await host.root()}${path}`);
    if (host.namespace) url.searchParams.set('ns', host.namespace);
    return url;
  }

  /** A request to one host of the registry; a 401 is answered once with the challenge's credentials. */
  private async request(ref: ImageReference, host: Endpoint, method: string, url: URL, headers: OutgoingHttpHeaders = {}, body?: Buffer | AsyncIterable<Buffer>): Promise<IncomingMessage> {
    const key = `${url.origin}/${ref.repository}`;
    const all = { ...host.header, ...headers };
    const attempt = () => this.endpoints.send(url, { method, headers: { ...all, ...(this.auth.has(key) ? { authorization: this.auth.get(key) } : {}) }, body }, host);
    let res = await attempt();
    const challenge = res.headers['www-authenticate'];
    if (res.statusCode === 401 && challenge && !(body && !Buffer.isBuffer(body))) {
      res.resume();
      const { creds, error } = await this.lookup(host.credentialsFor);
      try {
        this.auth.set(key, await answerChallenge(challenge, { registry: host.credentialsFor, credentials: creds, send: (u, o) => this.endpoints.send(u, o, host) }));
      } catch (err) {
        throw error && err instanceof AuthRefused ? error : err;
      }
      res = await attempt();
      if (error && (res.statusCode === 401 || res.statusCode === 403)) {
        res.resume();
        throw error;
      }
    }
    return res;
  }

  /**
   * A read, from each host that may serve it in order (`resolve`: a tag; `pull`: content by
   * digest) until one answers 200. A host that fails or lacks it gives way to the next. When none
   * has it, Docker mirrors leave the answer to the registry; with a hosts.toml, as containerd
   * does, the most telling answer wins: an error status over a 404 over a failed connection.
   */
  private async read(ref: ImageReference, need: 'resolve' | 'pull', method: string, path: string, headers: OutgoingHttpHeaders = {}): Promise<IncomingMessage> {
    const { hosts: all, file } = this.endpoints.forRegistry(ref.registry);
    const hosts = all.filter((h) => h.capabilities.has('pull') && h.capabilities.has(need));
    if (!hosts.length) throw new BerthError('FAILED_PRECONDITION', `no host in ${file} may be asked to ${need === 'resolve' ? 'resolve tags' : 'pull'} for ${ref.registry}: give one "${need}" in its capabilities`);
    let kept: { rank: number; res?: IncomingMessage; err?: unknown } | undefined;
    for (const [i, host] of hosts.entries()) {
      let outcome: NonNullable<typeof kept>;
      try {
        const url = await this.urlOf(host, path);
        const res = await this.followRedirects(await this.request(ref, host, method, url, headers), url, method, { ...host.header, ...headers }, host);
        if (res.statusCode === 200) {
          kept?.res?.resume();
          return res;
        }
        if (host.namespace) this.answeredBy.set(res, host.host);
        outcome = { rank: res.statusCode === 404 ? 2 : 3, res };
        debug('%s answered %d to %s %s', host.host, res.statusCode, method, path);
      } catch (err) {
        outcome = { rank: 1, err };
        debug('%s failed for %s %s: %s', host.host, method, path, (err as Error).message);
      }
      const last = i === hosts.length - 1;
      if (!kept || (file ? outcome.rank > kept.rank : last)) {
        kept?.res?.resume();
        kept = outcome;
      } else {
        outcome.res?.resume();
      }
    }
    if (kept!.res) return kept!.res;
    throw kept!.err;
  }

  /** The host pushes go to: the first that may be pushed to (the registry, but for a hosts.toml that says otherwise). */
  private async pushHost(ref: ImageReference): Promise<Endpoint> {
    const { hosts, file } = this.endpoints.forRegistry(ref.registry);
    const host = hosts.find((h) => h.capabilities.has('push'));
    if (!host) throw new BerthError('FAILED_PRECONDITION', `no host in ${file} may be pushed to for ${ref.registry}: give the server (or a host) "push" in its capabilities`);
    return host;
  }

  /**
   * Follows a read's redirects (registries send blobs from a storage or CDN URL), without the
   * registry's Authorization header: the URL carries its own signature.
   */
  private async followRedirects(res: IncomingMessage, from: URL, method: string, headers: OutgoingHttpHeaders, host: Endpoint): Promise<IncomingMessage> {
    for (let hops = 0; hops < 5 && [301, 302, 303, 307, 308].includes(res.statusCode ?? 0) && res.headers.location; hops++) {
      const next = new URL(res.headers.location, from);
      if (from.protocol === 'https:' && next.protocol === 'http:') break; // never downgrade
      from = next;
      res.resume();
      const { authorization: _dropped, ...rest } = headers;
      res = await this.endpoints.send(next, { method, headers: rest }, host);
    }
    return res;
  }

  private async fail(res: IncomingMessage, ref: ImageReference, what: string): Promise<never> {
    const text = (await readBody(res, 1 << 16).catch(() => Buffer.alloc(0))).toString();
    let detail = text.trim();
    try {
      const errs = (JSON.parse(text) as { errors?: Array<{ code: string; message: string }> }).errors;
      if (errs?.length) detail = errs.map((e) => `${e.code}: ${e.message}`).join('; ');
    } catch {
      // not JSON: the text as is
    }
    const name = formatReference(ref);
    const mirror = this.answeredBy.get(res);
    const registry = mirror ? `${ref.registry} (mirror ${mirror})` : ref.registry;
    if (res.statusCode === 404) throw notFound(`${what} for ${name} not found in ${registry}${detail ? ` (${detail})` : ''}: check the name and tag`);
    if (res.statusCode === 401 || res.statusCode === 403) throw new BerthError('FAILED_PRECONDITION', `${registry} refused ${what} for ${name} (${res.statusCode}${detail ? `: ${detail}` : ''}): log in, or check the repository exists and you may use it`);
    throw new BerthError('UNAVAILABLE', `${registry} answered ${res.statusCode} to ${what} for ${name}${detail ? `: ${detail}` : ''}`);
  }

  /** The manifest or index the reference names (its digest wins over its tag). */
  async getManifest(ref: ImageReference, digest = ref.digest): Promise<FetchedManifest> {
    // A tag is resolved only by hosts trusted to; a digest names its content, which any mirror may serve.
    const res = await this.read(ref, digest ? 'pull' : 'resolve', 'GET', `/${ref.repository}/manifests/${digest ?? ref.tag ?? 'latest'}`, { accept: ACCEPT });
    if (res.statusCode !== 200) return this.fail(res, ref, 'manifest');
    const bytes = await readBody(res, 4 << 20);
    const algorithm = digest ? parseDigest(digest).algorithm : 'sha256';
    const actual = `${algorithm}:${hasher(algorithm).update(bytes).digest('hex')}`;
    if (digest && actual !== digest) throw new BerthError('FAILED_PRECONDITION', `manifest for ${formatReference(ref)}: ${ref.registry} sent content with digest ${actual}, want ${digest}`);
    return { bytes, mediaType: (res.headers['content-type'] ?? '').split(';')[0]!.trim(), digest: actual };
  }

  /**
   * The blob's bytes as they arrive; the stream fails at its end if size or digest are wrong.
   * `verified: false` leaves the digest to a caller that hashes the bytes anyway (the content
   * store's writer does): hashing 100 MB twice costs a pull a tenth of its time.
   */
  async *getBlob(ref: ImageReference, digest: string, size?: number, o: { verified?: boolean } = {}): AsyncGenerator<Buffer> {
    const res = await this.read(ref, 'pull', 'GET', `/${ref.repository}/blobs/${digest}`);
    if (res.statusCode !== 200) await this.fail(res, ref, `blob ${digest}`);
    const hash = o.verified === false ? undefined : hasher(parseDigest(digest).algorithm);
    let n = 0;
    try {
      for await (const chunk of res) {
        hash?.update(chunk as Buffer);
        n += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
    } catch (err) {
      if (err instanceof BerthError) throw err;
      throw new BerthError('UNAVAILABLE', `blob ${digest} of ${formatReference(ref)}: the download broke off after ${n}${size !== undefined ? ` of ${size}` : ''} bytes (${(err as Error).message}): pull again`, { cause: err });
    }
    if (size !== undefined && n !== size) throw new BerthError('FAILED_PRECONDITION', `blob ${digest} of ${formatReference(ref)}: got ${n} bytes, want ${size}: the download was cut short`);
    if (!hash) return;
    const actual = `${parseDigest(digest).algorithm}:${hash.digest('hex')}`;
    if (actual !== digest) throw new BerthError('FAILED_PRECONDITION', `blob ${digest} of ${formatReference(ref)}: ${ref.registry} sent content with digest ${actual}`);
  }

  /** Whether the blob can be read (from a mirror or the registry); `push` asks the registry alone. */
  async hasBlob(ref: ImageReference, digest: string, o: { push?: boolean } = {}): Promise<boolean> {
    const path = `/${ref.repository}/blobs/${digest}`;
    const pushTo = o.push ? await this.pushHost(ref) : undefined;
    const res = pushTo ? await this.request(ref, pushTo, 'HEAD', await this.urlOf(pushTo, path)) : await this.read(ref, 'pull', 'HEAD', path);
    res.resume();
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404) return false;
    return this.fail(res, ref, `blob ${digest}`);
  }

  /**
   * Uploads a blob unless the registry has it; with `mountFrom` (a repository in the same
   * registry that has it) the registry links it instead of receiving the bytes. Returns what
   * happened.
   */
  async putBlob(ref: ImageReference, digest: string, size: number, bytes: () => AsyncIterable<Buffer>, mountFrom?: string): Promise<'exists' | 'mounted' | 'uploaded'> {
    if (await this.hasBlob(ref, digest, { push: true })) return 'exists';
    const host = await this.pushHost(ref);
    const startUrl = await this.urlOf(host, `/${ref.repository}/blobs/uploads/`);
    if (mountFrom) {
      startUrl.searchParams.set('mount', digest);
      startUrl.searchParams.set('from', mountFrom);
    }
    const start = await this.request(ref, host, 'POST', startUrl, { 'content-length': 0 }, Buffer.alloc(0));
    start.resume();
    if (start.statusCode === 201) return 'mounted';
    if (start.statusCode !== 202 || !start.headers.location) return this.fail(start, ref, `upload of blob ${digest}`);
    const location = new URL(start.headers.location, startUrl);
    location.searchParams.set('digest', digest);
    const put = await this.request(ref, host, 'PUT', location, { 'content-type': 'application/octet-stream', 'content-length': size }, bytes());
    if (put.statusCode !== 201) return this.fail(put, ref, `upload of blob ${digest}`);
    put.resume();
    return 'uploaded';
  }

  /** Puts a manifest under the reference's tag (or digest); returns the digest the registry gives. */
  async putManifest(ref: ImageReference, bytes: Buffer, mediaType: string): Promise<string> {
    const host = await this.pushHost(ref);
    const res = await this.request(ref, host, 'PUT', await this.urlOf(host, `/${ref.repository}/manifests/${ref.tag ?? ref.digest ?? 'latest'}`), { 'content-type': mediaType, 'content-length': bytes.length }, bytes);
    if (res.statusCode !== 201) return this.fail(res, ref, 'manifest upload');
    res.resume();
    return String(res.headers['docker-content-digest'] ?? '');
  }

  /**
   * What `docker login` asks the daemon (POST /auth): whether the registry accepts these
   * credentials, by answering the challenge of its /v2/ with them.
   */
  async checkLogin(registry: string, creds: Credentials): Promise<void> {
    const url = new URL(`${await this.endpoints.base(registry)}/v2/`);
    const first = await this.endpoints.send(url);
    first.resume();
    const challenge = first.headers['www-authenticate'];
    // A registry that asks for nothing accepts any login, as Docker reports it.
    if (first.statusCode === 200) return;
    if (first.statusCode !== 401 || !challenge) throw new BerthError('UNAVAILABLE', `${registry} answered ${first.statusCode} to GET /v2/: is it a registry?`);
    const unauthorized = new BerthError('FAILED_PRECONDITION', `login to ${registry} failed: unauthorized: incorrect username or password`);
    let authorization: string;
    try {
      authorization = await answerChallenge(challenge, { registry, credentials: creds, send: (u, o) => this.endpoints.send(u, o) });
    } catch (err) {
      throw err instanceof AuthRefused ? unauthorized : err;
    }
    const res = await this.endpoints.send(url, { headers: { authorization } });
    res.resume();
    // Docker's wording when the registry itself turns the credentials down (Basic auth)
    if (res.statusCode === 401 || res.statusCode === 403) throw new BerthError('FAILED_PRECONDITION', `login attempt to ${url.href} failed with status: ${res.statusCode} ${STATUS_CODES[res.statusCode]}`);
    if (res.statusCode !== 200) throw new BerthError('UNAVAILABLE', `${registry} answered ${res.statusCode} to GET /v2/ with credentials`);
  }
}

/** checkLogin with a client or the options to make one (the daemon's POST /auth). */
export function checkLogin(client: RegistryClient | RegistryOptions, registry: string, creds: Credentials): Promise<void> {
  return (client instanceof RegistryClient ? client : new RegistryClient(client)).checkLogin(registry, creds);
}
