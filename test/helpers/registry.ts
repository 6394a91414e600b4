// Debian's docker-registry (distribution 2.8) on a free 127.0.0.1 port with its own storage,
// for tests that pull and push for real. `stop()` ends it and removes its storage.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupDir, waitFor } from './runtime.js';

export interface TestRegistry {
  host: string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startRegistry(): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-registry-'));
  const port = await freePort();
  const config = join(dir, 'config.yml');
  writeFileSync(config, [
    'version: 0.1',
    'log: { level: error }',
    `storage: { filesystem: { rootdirectory: ${join(dir, 'data')} }, delete: { enabled: true } }`,
    `http: { addr: 127.0.0.1:${port} }`,
    '',
  ].join('\n'));
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const host = `127.0.0.1:${port}`;
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
      return fetch(`http://${host}/v2/`).then((r) => r.ok, () => false);
    }, 10_000);
  } catch (err) {
    child.kill('SIGKILL');
    cleanupDir(dir);
    throw err;
  }
  return {
    host,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('close', r)));
      cleanupDir(dir);
    },
  };
}

export interface PushedImage {
  /** The reference the image was pushed under ("HOST/REPO:TAG"). */
  name: string;
  indexDigest: string;
  manifestDigest: string;
  diffIds: string[];
}

/**
 * Pushes an image made of `layers` (uncompressed tars, sent gzipped) as an OCI index with a
 * linux/amd64 manifest, the way `docker buildx` publishes one.
 */
export async function pushTestImage(host: string, repoTag: string, layers: Buffer[]): Promise<PushedImage> {
  const { RegistryClient } = await import('../../src/registry/client.js');
  const { parseReference } = await import('../../src/image/reference.js');
  const { MediaType } = await import('../../src/image/manifest.js');
  const { digestOf } = await import('../../src/common/digest.js');
  const { gzipSync } = await import('node:zlib');
  const client = new RegistryClient();
  const ref = parseReference(`${host}/${repoTag}`);
  const once = async function* (b: Buffer) {
    yield b;
  };
  const blobs = layers.map((l) => gzipSync(l));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: layers.map((l) => digestOf(l)) } }));
  for (const b of [config, ...blobs]) await client.putBlob(ref, digestOf(b), b.length, () => once(b));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: digestOf(config), size: config.length },
    layers: blobs.map((b) => ({ mediaType: MediaType.ociLayerGzip, digest: digestOf(b), size: b.length })),
  }));
  await client.putManifest({ ...ref, tag: undefined, digest: digestOf(manifest) }, manifest, MediaType.ociManifest);
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MediaType.ociIndex,
    manifests: [{ mediaType: MediaType.ociManifest, digest: digestOf(manifest), size: manifest.length, platform: { os: 'linux', architecture: 'amd64' } }],
  }));
  await client.putManifest(ref, index, MediaType.ociIndex);
  return { name: `${host}/${repoTag}`, indexDigest: digestOf(index), manifestDigest: digestOf(manifest), diffIds: layers.map((l) => digestOf(l)) };
}
