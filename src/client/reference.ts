// Image references as the docker CLI reads them, just enough to know which registry an image
// comes from (for credentials) and to send pulls by their normalized name.
import { invalid } from '../common/errors.js';

export const DOCKER_HUB = 'docker.io';

export interface ImageRef {
  /** Registry host ("docker.io", "localhost:5000"). */
  domain: string;
  /** Repository path inside the registry ("library/busybox"). */
  path: string;
  tag?: string;
  digest?: string;
}

const NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

export function parseImageRef(ref: string): ImageRef {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(digest)) throw invalid(`invalid reference format: ${ref}`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!/^[\w][\w.-]{0,127}$/.test(tag)) throw invalid(`invalid reference format: ${ref}`);
  }
  let domain = DOCKER_HUB;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      domain = first;
      path = rest.slice(slash + 1);
    }
  }
  if (domain === 'index.docker.io') domain = DOCKER_HUB;
  if (domain === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  if (!NAME.test(path)) {
    // Go's reference names the repository as normalized ("library/UPPER" for Docker Hub's "UPPER")
    throw invalid(path !== path.toLowerCase() ? `invalid reference format: repository name (${path}) must be lowercase` : `invalid reference format: ${ref}`);
  }
  return { domain, path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** "docker.io/library/busybox" */
export const fullName = (r: ImageRef): string => `${r.domain}/${r.path}`;

/** "busybox", "user/app", "localhost:5000/app" */
export function familiarName(r: ImageRef): string {
  if (r.domain !== DOCKER_HUB) return fullName(r);
  return r.path.startsWith('library/') && r.path.split('/').length === 2 ? r.path.slice('library/'.length) : r.path;
}

/** "busybox:latest" — the familiar form with a tag (latest when none and no digest). */
export function familiarString(r: ImageRef): string {
  const tag = r.tag ?? (r.digest ? undefined : 'latest');
  return `${familiarName(r)}${tag ? `:${tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** "docker.io/library/busybox:latest" */
export function fullString(r: ImageRef): string {
  const tag = r.tag ?? (r.digest ? undefined : 'latest');
  return `${fullName(r)}${tag ? `:${tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}
