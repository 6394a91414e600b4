// Small pure rules the classic builder applies when an instruction changes the image config.
import { posix } from 'node:path';

/** WORKDIR: a relative path is taken from the current working directory ("/" when unset). */
export function resolveWorkdir(current: string, requested: string): string {
  if (requested === '') throw new Error('cannot normalize nothing');
  return requested.startsWith('/') ? posix.normalize(requested).replace(/(.)\/$/, '$1') : posix.join('/', current, requested).replace(/(.)\/$/, '$1');
}

/**
 * EXPOSE: port specs ("80", "8000-8002/udp", "53/UDP") to the config's ExposedPorts keys
 * ("80/tcp", "8000/udp", ...), with Docker's errors for bad specs.
 */
export function exposedPorts(specs: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of specs) {
    const parts = raw.split(':');
    // ip:host:container — only the container part is exposed.
    const containerPart = parts[parts.length - 1] as string;
    const slash = containerPart.indexOf('/');
    const port = slash < 0 ? containerPart : containerPart.slice(0, slash);
    let proto = slash < 0 ? 'tcp' : containerPart.slice(slash + 1) || 'tcp';
    if (port === '') throw new Error(`no port specified: ${raw}<empty>`);
    proto = proto.toLowerCase();
    if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') throw new Error(`invalid proto: ${proto}`);
    const m = /^(\d+)(?:-(\d+))?$/.exec(port);
    const start = m ? Number(m[1]) : NaN;
    const end = m?.[2] !== undefined ? Number(m[2]) : start;
    if (!m || start > 65535 || end > 65535 || end < start) throw new Error(`invalid containerPort: ${port}`);
    for (let p = start; p <= end; p++) {
      const key = `${p}/${proto}`;
      if (!out.includes(key)) out.push(key);
    }
  }
  return out;
}
