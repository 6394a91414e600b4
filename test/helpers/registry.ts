// Debian's docker-registry (distribution 2.8) on a free 127.0.0.1 port with its own storage,
// for tests that pull and push for real; with options, over TLS (optionally asking for client
// certificates) and behind htpasswd or token authentication. `stop()` ends it and removes its storage.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupDir, runCommand, waitFor } from './runtime.js';

export interface TestRegistry {
  host: string;
  /** "http://HOST" or, with `tls`, "https://HOST". */
  url: string;
  stop(): Promise<void>;
}

export interface RegistryConfig {
  /** Serve HTTPS with these PEM files; with `clientCas`, only to clients with a certificate they signed. */
  tls?: { certificate: string; key: string; clientCas?: string[] };
  /** Basic authentication against an htpasswd file (bcrypt, as `htpasswd -B` writes). */
  htpasswd?: string;
  /** Bearer token authentication: JWTs from `realm`, signed by a key whose certificate is in `rootCertBundle`. */
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
  /** Serve inside this network namespace (a test daemon's), where the daemon's 127.0.0.1 is. */
  netns?: string;
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

function accepts(port: number, netns?: string): Promise<boolean> {
  if (netns) {
    const probe = `require('net').connect(${port}, '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(1))`;
    return runCommand('nsenter', [`--net=${netns}`, '--', process.execPath, '-e', probe], { timeoutMs: 5000 }).then((r) => r.code === 0);
  }
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startRegistry(opts: RegistryConfig = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-registry-'));
  const port = await freePort();
  const config = join(dir, 'config.yml');
  // JSON is YAML, and spares quoting paths by hand.
  const auth = opts.htpasswd ? { htpasswd: { realm: 'basic-realm', path: opts.htpasswd } }
    : opts.token ? { token: { realm: opts.token.realm, service: opts.token.service, issuer: opts.token.issuer, rootcertbundle: opts.token.rootCertBundle } }
      : undefined;
  const tls = opts.tls && { certificate: opts.tls.certificate, key: opts.tls.key, ...(opts.tls.clientCas ? { clientcas: opts.tls.clientCas } : {}) };
  writeFileSync(config, `${JSON.stringify({
    version: '0.1',
    log: { level: 'error' },
    storage: { filesystem: { rootdirectory: join(dir, 'data') }, delete: { enabled: true } },
    http: { addr: `127.0.0.1:${port}`, ...(tls ? { tls } : {}) },
    ...(auth ? { auth } : {}),
  }, null, 2)}\n`);
  const argv = ['docker-registry', 'serve', config];
  const child = opts.netns ? spawn('nsenter', [`--net=${opts.netns}`, '--', ...argv], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const host = `127.0.0.1:${port}`;
  try {
    // Listening is enough: over TLS, or with auth, an HTTP probe would need the test's CA or credentials.
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
      return accepts(port, opts.netns);
    }, 10_000);
  } catch (err) {
    child.kill('SIGKILL');
    cleanupDir(dir);
    throw err;
  }
  return {
    host,
    url: `${opts.tls ? 'https' : 'http'}://${host}`,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('close', r)));
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
