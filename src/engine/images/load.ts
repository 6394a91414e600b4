// `docker load`: a docker-archive (manifest.json; Docker's own `docker save`, old and new) or an
// OCI image layout (index.json; skopeo, buildx, containerd). Every regular file of the archive
// goes straight into the content store by its digest, so no name in the archive ever becomes a
// host path (a hostile "../" has nowhere to go); links inside the archive are followed by name.
// Then the images are assembled from those blobs, their layers unpacked and their names recorded.
import { BerthError, invalid } from '../../common/errors.js';
import { hasher, parseDigest } from '../../common/digest.js';
import { decompressed } from '../../image/apply-layer.js';
import { chainIds } from '../../image/chain-id.js';
import { parseImageConfig } from '../../image/config.js';
import { MediaType, parseManifest, type Descriptor } from '../../image/manifest.js';
import { familiarName, formatReference, parseReference } from '../../image/reference.js';
import { readTar } from '../../image/tar-reader.js';
import { posix } from 'node:path';
import { randomBytes } from 'node:crypto';
import { hasSnapshot, mergeLabels, unpackMissing, withLease, type LayerDeps } from '../../supervisor/images/layers.js';
import type { ImageService } from './service.js';
import { committedDigest } from '../../supervisor/content/store.js';
import { writeImage, type ImageLayer } from '../../supervisor/images/write-image.js';

/** The archive's files: regular files as blob digests, links as the names they point at. */
interface ArchiveFiles {
  files: Map<string, { digest: string; size: number }>;
  links: Map<string, string>;
}

const clean = (name: string) => posix.normalize(`/${name}`).slice(1).replace(/\/$/, '');

async function ingestArchive(deps: LayerDeps, source: AsyncIterable<Buffer>, leaseId: string): Promise<ArchiveFiles> {
  const out: ArchiveFiles = { files: new Map(), links: new Map() };
  for await (const e of readTar(source)) {
    const name = clean(e.header.name);
    if (e.header.type === 'symlink') out.links.set(name, clean(posix.join(posix.dirname(name), e.header.linkname)));
    else if (e.header.type === 'link') out.links.set(name, clean(e.header.linkname));
    if (e.header.type !== 'file') {
      for await (const _ of e.body); // skip its body
      continue;
    }
    const ref = `load-${leaseId}-${randomBytes(6).toString('hex')}`;
    deps.leases.addResource(leaseId, { type: 'ingest', id: ref });
    const w = await deps.content.writer(ref);
    try {
      for await (const chunk of e.body) await w.write(chunk);
      const size = w.offset;
      const digest = await committedDigest(w.commit());
      deps.leases.addResource(leaseId, { type: 'content', id: digest });
      out.files.set(name, { digest, size });
    } catch (err) {
      await w.close().catch(() => {});
      throw err;
    }
  }
  return out;
}

/** The blob behind an archive path, links followed (a bounded number of times). */
function lookup(a: ArchiveFiles, name: string): { digest: string; size: number } {
  let n = clean(name);
  for (let hops = 0; hops < 16; hops++) {
    const f = a.files.get(n);
    if (f) return f;
    const next = a.links.get(n);
    if (next === undefined) break;
    n = next;
  }
  throw invalid(`invalid archive: "${name}" is missing`);
}

/** A layer blob's media type, from its first bytes. */
async function layerMediaType(deps: LayerDeps, digest: string): Promise<string> {
  for await (const chunk of deps.content.reader(digest, { start: 0, end: 3 })) {
    const b = chunk as Buffer;
    if (b[0] === 0x1f && b[1] === 0x8b) return MediaType.ociLayerGzip;
    if (b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd) return MediaType.ociLayerZstd;
    break;
  }
  return MediaType.ociLayer;
}

/**
 * Checks the blobs of layers that are unpacked already (and so will not be unpacked again, which
 * is where a diff ID is otherwise checked): an archive must not pair a known layer with other bytes.
 */
async function verifyUnpacked(deps: LayerDeps, layers: readonly ImageLayer[]): Promise<void> {
  const chain = chainIds(layers.map((l) => l.diffId));
  for (const [i, l] of layers.entries()) {
    if (!hasSnapshot(deps.snapshotter, chain[i]!) || l.descriptor.digest === l.diffId) continue;
    const h = hasher();
    for await (const chunk of decompressed(deps.content.reader(l.descriptor.digest))) h.update(chunk);
    if (`sha256:${h.digest('hex')}` !== l.diffId) throw invalid(`invalid archive: layer ${l.descriptor.digest} does not hold ${l.diffId}`);
  }
}

/** Loads the images in the archive; reports "Loaded image: NAME" or "Loaded image ID: ID" for each. */
export async function loadImages(svc: ImageService, source: AsyncIterable<Buffer>, onProgress: (p: { stream: string }) => void = () => {}): Promise<string[]> {
  const loaded: string[] = [];
  const say = (line: string) => {
    loaded.push(line);
    onProgress({ stream: `${line}\n` });
  };
  await withLease(svc.deps.leases, { 'berth.load': '' }, async (leaseId) => {
    const archive = await ingestArchive(svc.deps, decompressed(source), leaseId);
    // Both when the archive is both (berth's and Docker 25's saves): the OCI side keeps digests.
    if (archive.files.has('index.json') && archive.files.has('oci-layout')) await loadOciLayout(svc, archive, leaseId, say);
    else if (archive.files.has('manifest.json')) await loadDockerArchive(svc, archive, leaseId, say);
    else throw invalid('invalid archive: it has neither manifest.json (docker save) nor oci-layout and index.json (OCI layout)');
  });
  svc.collectGarbage(); // the archive's other files (json, VERSION) held by the lease until now
  return loaded;
}

function readJson(svc: ImageService, archive: ArchiveFiles, name: string): unknown {
  try {
    return JSON.parse(svc.deps.content.read(lookup(archive, name).digest).toString());
  } catch (err) {
    if (err instanceof BerthError) throw err;
    throw invalid(`invalid archive: ${name} is not JSON`);
  }
}

async function loadDockerArchive(svc: ImageService, archive: ArchiveFiles, leaseId: string, say: (line: string) => void): Promise<void> {
  const entries = readJson(svc, archive, 'manifest.json');
  if (!Array.isArray(entries)) throw invalid('invalid archive: manifest.json is not a list');
  for (const [i, e] of (entries as Array<{ Config?: unknown; RepoTags?: unknown; Layers?: unknown }>).entries()) {
    if (typeof e?.Config !== 'string' || !Array.isArray(e.Layers) || !e.Layers.every((l) => typeof l === 'string')) throw invalid(`invalid archive: manifest.json entry ${i} needs Config and Layers`);
    const configBlob = lookup(archive, e.Config);
    const configBytes = svc.deps.content.read(configBlob.digest);
    const config = parseImageConfig(configBytes, `${e.Config} in the archive`);
    const layerPaths = e.Layers as string[];
    if (config.rootfs.diff_ids.length !== layerPaths.length) throw invalid(`invalid archive: ${e.Config} lists ${config.rootfs.diff_ids.length} layers, manifest.json ${layerPaths.length}`);
    const layers: ImageLayer[] = [];
    for (const [j, p] of layerPaths.entries()) {
      const blob = lookup(archive, p);
      const mediaType = await layerMediaType(svc.deps, blob.digest);
      const diffId = config.rootfs.diff_ids[j]!;
      if (mediaType === MediaType.ociLayer && blob.digest !== diffId) throw invalid(`invalid archive: layer ${p} has digest ${blob.digest}, the config wants ${diffId}`);
      layers.push({ descriptor: { mediaType, digest: blob.digest, size: blob.size }, diffId });
    }
    await verifyUnpacked(svc.deps, layers);
    const target = await writeImage(svc.deps, leaseId, configBytes, layers);
    const tags = Array.isArray(e.RepoTags) ? (e.RepoTags as unknown[]).filter((t): t is string => typeof t === 'string') : [];
    for (const t of tags) {
      const ref = parseReference(t);
      svc.setName(formatReference(ref), target);
      say(`Loaded image: ${t}`);
    }
    if (tags.length === 0) {
      svc.addUnnamed(target);
      say(`Loaded image ID: ${configBlob.digest}`);
    }
  }
}

/** An OCI layout: index.json's manifests (or nested indexes) are the images, named by their annotations. */
async function loadOciLayout(svc: ImageService, archive: ArchiveFiles, leaseId: string, say: (line: string) => void): Promise<void> {
  const top = parseManifest(svc.deps.content.read(lookup(archive, 'index.json').digest), MediaType.ociIndex);
  if (top.kind !== 'index') throw invalid('invalid archive: index.json is not an index');
  const blob = (d: Descriptor) => {
    const { algorithm, hex } = parseDigest(d.digest);
    const f = lookup(archive, `blobs/${algorithm}/${hex}`);
    if (f.digest !== d.digest) throw invalid(`invalid archive: blobs/${algorithm}/${hex} has digest ${f.digest}`);
    return svc.deps.content.read(d.digest);
  };
  for (const d of top.index.manifests) {
    let parsed = parseManifest(blob(d), d.mediaType);
    let manifestDigest = d.digest;
    if (parsed.kind === 'index') {
      const idx = parsed.index;
      const here = idx.manifests.filter((m) => archive.files.has(`blobs/sha256/${m.digest.slice('sha256:'.length)}`));
      const chosen = here.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64') ?? here[0];
      if (!chosen) throw invalid(`invalid archive: index ${d.digest} has none of its manifests`);
      mergeLabels(svc.deps.content, d.digest, { [`containerd.io/gc.ref.content.m.${idx.manifests.indexOf(chosen)}`]: chosen.digest });
      parsed = parseManifest(blob(chosen), chosen.mediaType);
      manifestDigest = chosen.digest;
      if (parsed.kind !== 'manifest') throw invalid(`invalid archive: ${chosen.digest} is not a manifest`);
    }
    const m = parsed.manifest;
    const config = parseImageConfig(blob(m.config), `config ${m.config.digest} in the archive`);
    for (const l of m.layers) blob(l);
    const chain = chainIds(config.rootfs.diff_ids);
    if (chain.length !== m.layers.length) throw invalid(`invalid archive: config ${m.config.digest} lists ${chain.length} layers, its manifest ${m.layers.length}`);
    await verifyUnpacked(svc.deps, m.layers.map((l, i) => ({ descriptor: l, diffId: config.rootfs.diff_ids[i]! })));
    await unpackMissing(svc.deps, m.layers, config.rootfs.diff_ids, chain, leaseId);
    const labels: Record<string, string> = { 'containerd.io/gc.ref.content.config': m.config.digest };
    m.layers.forEach((l, i) => (labels[`containerd.io/gc.ref.content.l.${i}`] = l.digest));
    mergeLabels(svc.deps.content, manifestDigest, labels);
    if (chain.length) mergeLabels(svc.deps.content, m.config.digest, { [`containerd.io/gc.ref.snapshot.${svc.deps.snapshotter.name}`]: chain.at(-1)! });
    const target: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
    const name = imageName(d.annotations ?? {});
    if (name) {
      svc.setName(name, target);
      say(`Loaded image: ${familiarName(parseReference(name))}`);
    } else {
      svc.addUnnamed(target);
      say(`Loaded image ID: ${m.config.digest}`);
    }
  }
}

/** The name an OCI layout gives a manifest: containerd's full name, or a ref.name that is a full reference. */
function imageName(annotations: Record<string, string>): string | undefined {
  for (const text of [annotations['io.containerd.image.name'], annotations['org.opencontainers.image.ref.name']]) {
    if (!text || !/[/:]/.test(text)) continue; // a bare tag ("1.0") names no repository
    try {
      return formatReference(parseReference(text));
    } catch {
      // not a reference: try the next
    }
  }
  return undefined;
}
