// Image references the way Docker reads them: [registry[:port]/]path[:tag][@digest], with
// docker.io as the default registry, "library/" for its one-component (official) names, and
// "latest" when neither a tag nor a digest is given.
import { invalid } from '../common/errors.js';

export const DEFAULT_REGISTRY = 'docker.io';
export const DEFAULT_TAG = 'latest';

export interface ImageReference {
  /** Registry host (and port): "docker.io", "127.0.0.1:5000". */
  registry: string;
  /** Repository path in the registry: "library/busybox". */
  repository: string;
  tag?: string;
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::\d+)?$/;

/**
 * Parses a reference. With `defaultTag` (the default), a reference with neither tag nor digest
 * gets "latest", as `docker pull busybox` does.
 */
export function parseReference(text: string, opts: { defaultTag?: boolean } = {}): ImageReference {
  const bad = (why: string) => invalid(`invalid reference format "${text}": ${why}`);
  if (!text || text.length > 512) throw bad('empty or too long');
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(`"${digest}" is not a digest`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`"${tag}" is not a valid tag`);
  }
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  let registry = DEFAULT_REGISTRY;
  let path = rest;
  // The first component is a registry when it looks like a host: a dot, a port, or localhost.
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    if (!HOST.test(first)) throw bad(`"${first}" is not a registry host`);
    registry = first === 'index.docker.io' || first === 'registry-1.docker.io' ? DEFAULT_REGISTRY : first;
    path = rest.slice(slash + 1);
  }
  if (path !== path.toLowerCase()) throw bad('repository name must be lowercase');
  const components = path.split('/');
  if (!components.every((c) => COMPONENT.test(c))) throw bad(`"${path}" is not a repository name`);
  if (registry === DEFAULT_REGISTRY && components.length === 1) path = `library/${path}`;
  if (path.length > 255) throw bad('repository name is longer than 255 characters');
  if (!tag && !digest && opts.defaultTag !== false) tag = DEFAULT_TAG;
  return { registry, repository: path, tag, digest };
}

/** The full form: "docker.io/library/busybox:latest". */
export function formatReference(r: ImageReference): string {
  return `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** The short form Docker shows: "busybox:latest", "user/app:1", "127.0.0.1:5000/app:1". */
export function familiarName(r: ImageReference): string {
  let name = `${r.registry}/${r.repository}`;
  if (r.registry === DEFAULT_REGISTRY) name = r.repository.startsWith('library/') ? r.repository.slice('library/'.length) : r.repository;
  return `${name}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}
