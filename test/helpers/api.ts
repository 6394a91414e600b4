// Plain HTTP to a test daemon's Engine API over its unix socket (no SDK between the test and the
// wire), and the busybox test image imported through the API itself.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxRootfs } from './busybox.js';
import { cleanupDir } from './runtime.js';

export interface Answer {
  status: number;
  body: string;
  /** The body's bytes (a tar, say). */
  raw: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

/** One request; the whole answer (a stream is read to its end). */
export function call(socketPath: string, method: string, path: string, body?: Buffer | string, headers: Record<string, string | number> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        const raw = Buffer.concat(parts);
        resolve({ status: res.statusCode!, body: raw.toString(), raw, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The parsed JSON body of a 2xx answer; anything else fails with the status and body. */
export async function callJson<T>(socketPath: string, method: string, path: string, body?: unknown): Promise<T> {
  const a = await call(socketPath, method, path, body === undefined ? undefined : JSON.stringify(body));
  if (a.status >= 300) throw new Error(`${method} ${path}: ${a.status} ${a.body}`);
  return (a.body ? JSON.parse(a.body) : undefined) as T;
}

/** A busybox root filesystem as an uncompressed tar. */
export function busyboxTar(): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bbtar-'));
  try {
    makeBusyboxRootfs(join(dir, 'rootfs'));
    return execFileSync('tar', ['-C', join(dir, 'rootfs'), '--numeric-owner', '-cf', '-', '.'], { maxBuffer: 1 << 28 });
  } finally {
    cleanupDir(dir);
  }
}

/** Imports busybox as `name` (POST /images/create?fromSrc=-, as `docker import`); its image ID. */
export async function importBusybox(socketPath: string, name: string, tar = busyboxTar()): Promise<string> {
  const [repo, tag] = name.split(':');
  const a = await call(socketPath, 'POST', `/images/create?fromSrc=-&repo=${encodeURIComponent(repo!)}&tag=${tag ?? 'latest'}&changes=${encodeURIComponent('CMD ["sh"]')}`, tar, { 'Content-Type': 'application/x-tar' });
  const id = /"status":"(sha256:[0-9a-f]{64})"/.exec(a.body)?.[1];
  if (a.status !== 200 || !id) throw new Error(`import of ${name} failed: ${a.status} ${a.body}`);
  return id;
}
