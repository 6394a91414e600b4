// A client for the OCI distribution API (the registry side of pull and push): manifests by tag or
// digest, blobs streamed and checked against their digest as they arrive, uploads that skip blobs
// the registry has and mount them from another repository when it can. Plain HTTP only for
// registries named insecure (and, as Docker, 127.0.0.0/8 and localhost); authentication answers
// the registry's challenge (auth.ts).
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { BerthError, notFound } from '../common/errors.js';
import { hasher, parseDigest } from '../common/digest.js';
import { formatReference, type ImageReference } from '../image/reference.js';
import { MediaType } from '../image/manifest.js';
import { answerChallenge, type Credentials } from './auth.js';
import { readBody, send } from './http.js';

export interface RegistryOptions {
  /** Hosts (host:port) reached over plain HTTP. */
  insecure?: string[];
  credentials?: (registry: string) => Credentials | undefined;
  ca?: (registry: string) => Buffer | undefined;
}

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

const ACCEPT = [MediaType.ociIndex, MediaType.dockerManifestList, MediaType.ociManifest, MediaType.dockerManifest].join(', ');

export class RegistryClient {
  /** Authorization headers that worked, per registry and repository. */
  private readonly auth = new Map<string, string>();

  constructor(private readonly opts: RegistryOptions = {}) {}

  private base(registry: string): string {
    const host = registry === 'docker.io' ? 'registry-1.docker.io' : registry;
    const name = host.replace(/:\d+$/, '');
    const plain = this.opts.insecure?.includes(host) || name === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(name);
    return `${plain ? 'http' : 'https'}://${host}`;
  }

  /** A request to the registry; a 401 is answered once with the challenge's credentials. */
  private async request(ref: ImageReference, method: string, path: string, headers: OutgoingHttpHeaders = {}, body?: Buffer | AsyncIterable<Buffer>): Promise<IncomingMessage> {
    const url = path.startsWith('http') ? new URL(path) : new URL(`${this.base(ref.registry)}${path}`);
    const key = `${ref.registry}/${ref.repository}`;
    const ca = this.opts.ca?.(ref.registry);
    const attempt = () => send(url, { method, headers: { ...headers, ...(this.auth.has(key) ? { authorization: this.auth.get(key) } : {}) }, body, ca });
    let res = await attempt();
    const challenge = res.headers['www-authenticate'];
    if (res.statusCode === 401 && challenge && !(body && !Buffer.isBuffer(body))) {
      res.resume();
      this.auth.set(key, await answerChallenge(challenge, this.opts.credentials?.(ref.registry), ca));
      res = await attempt();
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
    if (res.statusCode === 404) throw notFound(`${what} for ${name} not found in ${ref.registry}${detail ? ` (${detail})` : ''}: check the name and tag`);
    if (res.statusCode === 401 || res.statusCode === 403) throw new BerthError('FAILED_PRECONDITION', `${ref.registry} refused ${what} for ${name} (${res.statusCode}${detail ? `: ${detail}` : ''}): log in, or check the repository exists and you may use it`);
    throw new BerthError('UNAVAILABLE', `${ref.registry} answered ${res.statusCode} to ${what} for ${name}${detail ? `: ${detail}` : ''}`);
  }

  /** The manifest or index the reference names (its digest wins over its tag). */
  async getManifest(ref: ImageReference, digest = ref.digest): Promise<FetchedManifest> {
    const res = await this.request(ref, 'GET', `/v2/${ref.repository}/manifests/${digest ?? ref.tag ?? 'latest'}`, { accept: ACCEPT });
    if (res.statusCode !== 200) return this.fail(res, ref, 'manifest');
    const bytes = await readBody(res, 4 << 20);
    const algorithm = digest ? parseDigest(digest).algorithm : 'sha256';
    const actual = `${algorithm}:${hasher(algorithm).update(bytes).digest('hex')}`;
    if (digest && actual !== digest) throw new BerthError('FAILED_PRECONDITION', `manifest for ${formatReference(ref)}: ${ref.registry} sent content with digest ${actual}, want ${digest}`);
    return { bytes, mediaType: (res.headers['content-type'] ?? '').split(';')[0]!.trim(), digest: actual };
  }

  /** The blob's bytes as they arrive; the stream fails at its end if size or digest are wrong. */
  async *getBlob(ref: ImageReference, digest: string, size?: number): AsyncGenerator<Buffer> {
    const res = await this.request(ref, 'GET', `/v2/${ref.repository}/blobs/${digest}`);
    if (res.statusCode !== 200) await this.fail(res, ref, `blob ${digest}`);
    const hash = hasher(parseDigest(digest).algorithm);
    let n = 0;
    for await (const chunk of res) {
      hash.update(chunk as Buffer);
      n += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
    const actual = `${parseDigest(digest).algorithm}:${hash.digest('hex')}`;
    if (size !== undefined && n !== size) throw new BerthError('FAILED_PRECONDITION', `blob ${digest} of ${formatReference(ref)}: got ${n} bytes, want ${size}: the download was cut short`);
    if (actual !== digest) throw new BerthError('FAILED_PRECONDITION', `blob ${digest} of ${formatReference(ref)}: ${ref.registry} sent content with digest ${actual}`);
  }

  async hasBlob(ref: ImageReference, digest: string): Promise<boolean> {
    const res = await this.request(ref, 'HEAD', `/v2/${ref.repository}/blobs/${digest}`);
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
    if (await this.hasBlob(ref, digest)) return 'exists';
    const query = mountFrom ? `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(mountFrom)}` : '';
    const start = await this.request(ref, 'POST', `/v2/${ref.repository}/blobs/uploads/${query}`, { 'content-length': 0 }, Buffer.alloc(0));
    start.resume();
    if (start.statusCode === 201) return 'mounted';
    if (start.statusCode !== 202 || !start.headers.location) return this.fail(start, ref, `upload of blob ${digest}`);
    const location = new URL(start.headers.location, this.base(ref.registry));
    location.searchParams.set('digest', digest);
    const put = await this.request(ref, 'PUT', location.toString(), { 'content-type': 'application/octet-stream', 'content-length': size }, bytes());
    if (put.statusCode !== 201) return this.fail(put, ref, `upload of blob ${digest}`);
    put.resume();
    return 'uploaded';
  }

  /** Puts a manifest under the reference's tag (or digest); returns the digest the registry gives. */
  async putManifest(ref: ImageReference, bytes: Buffer, mediaType: string): Promise<string> {
    const res = await this.request(ref, 'PUT', `/v2/${ref.repository}/manifests/${ref.tag ?? ref.digest ?? 'latest'}`, { 'content-type': mediaType, 'content-length': bytes.length }, bytes);
    if (res.statusCode !== 201) return this.fail(res, ref, 'manifest upload');
    res.resume();
    return String(res.headers['docker-content-digest'] ?? '');
  }
}
