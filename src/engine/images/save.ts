// `docker save`: images as one tar that is both an OCI image layout (oci-layout, index.json,
// blobs/sha256/…, which skopeo and containerd read) and a docker-archive (manifest.json and
// repositories, which every `docker load` reads), the way Docker 25 writes it. Blobs go in as the
// content store has them, so manifests and digests survive the trip; Docker's loader inflates
// compressed layers itself.
import { parseDigest } from '../../common/digest.js';
import { familiarName, formatReference, parseReference } from '../../image/reference.js';
import type { Descriptor } from '../../image/manifest.js';
import { tarEntry, tarHeader, tarPadding, TAR_END } from '../../image/tar-writer.js';
import { distributable } from '../../supervisor/images/read-image.js';
import type { ImageService, LocalImage } from './service.js';

interface SavedImage {
  img: LocalImage;
  /** Full references this save names the image by. */
  names: string[];
}

const blobPath = (digest: string) => {
  const { algorithm, hex } = parseDigest(digest);
  return `blobs/${algorithm}/${hex}`;
};

/**
 * What `names` select, as Docker reads them: an ID or name@digest is that image; a name with a
 * tag is that tag; a bare repository name is every tag of the repository.
 */
function select(svc: ImageService, names: readonly string[]): SavedImage[] {
  const out = new Map<string, SavedImage>();
  const add = (img: LocalImage, name?: string) => {
    const s = out.get(img.id) ?? { img, names: [] };
    if (name && !s.names.includes(name)) s.names.push(name);
    out.set(img.id, s);
  };
  for (const text of names) {
    let ref;
    try {
      ref = parseReference(text, { defaultTag: false });
    } catch {
      ref = undefined;
    }
    if (ref && !ref.tag && !ref.digest) {
      const repo = `${ref.registry}/${ref.repository}:`;
      const tagged = svc.list().flatMap((img) => img.records.filter((r) => r.name.startsWith(repo)).map((r) => ({ img, name: r.name })));
      if (tagged.length) {
        for (const t of tagged) add(t.img, t.name);
        continue;
      }
    }
    const img = svc.get(text);
    add(img, ref?.tag ? formatReference(ref) : undefined);
  }
  return [...out.values()];
}

export async function* saveImages(svc: ImageService, names: readonly string[]): AsyncGenerator<Buffer> {
  const images = select(svc, names); // resolved before the first byte: an unknown name fails cleanly
  const { content } = svc.deps;
  const written = new Set<string>();
  const index: Descriptor[] = [];
  const manifestJson: Array<{ Config: string; RepoTags: string[] | null; Layers: string[] }> = [];
  const repositories: Record<string, Record<string, string>> = {};
  const mtime = new Date(0);
  yield tarEntry({ name: 'blobs/', type: 'dir', mode: 0o755, mtime });
  yield tarEntry({ name: 'blobs/sha256/', type: 'dir', mode: 0o755, mtime });

  for (const { img, names: refs } of images) {
    const d = distributable(content, img);
    const blobs = [...(d.manifests.length ? d.manifests.flatMap((m) => [m.d, ...m.blobs]) : [img.manifest.config, ...img.manifest.layers]), d.top];
    for (const b of blobs) {
      if (written.has(b.digest)) continue;
      written.add(b.digest);
      const size = content.info(b.digest).size;
      yield tarHeader({ name: blobPath(b.digest), type: 'file', size, mode: 0o444, mtime });
      for await (const chunk of content.reader(b.digest)) yield chunk as Buffer;
      yield tarPadding(size);
    }
    const top = { mediaType: d.top.mediaType, digest: d.top.digest, size: d.topBytes.length };
    if (refs.length === 0) index.push(top);
    for (const name of refs) {
      const ref = parseReference(name);
      index.push({ ...top, annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': ref.tag! } });
      const repo = familiarName({ ...ref, tag: undefined });
      (repositories[repo] ??= {})[ref.tag!] = img.id.slice('sha256:'.length);
    }
    manifestJson.push({
      Config: blobPath(img.manifest.config.digest),
      RepoTags: refs.length ? refs.map((n) => familiarName(parseReference(n))) : null,
      Layers: img.manifest.layers.map((l) => blobPath(l.digest)),
    });
  }
  const file = (name: string, value: unknown) => tarEntry({ name, type: 'file', mode: 0o644, mtime }, Buffer.from(JSON.stringify(value)));
  yield file('oci-layout', { imageLayoutVersion: '1.0.0' });
  yield file('index.json', { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: index });
  yield file('manifest.json', manifestJson);
  yield file('repositories', repositories);
  yield TAR_END;
}
