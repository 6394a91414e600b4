// The CRI's images, kept as containerd's CRI keeps them in namespace k8s.io: one image record per
// name (the tag, repo@digest, and the image ID itself), all pointing at one target. An image is
// known by its ID (the config digest) and reported with its tags and digests; a reference in a
// call may be a name, an ID, or a unique ID prefix.
import { statfsSync } from 'node:fs';
import { BerthError, notFound } from '../common/errors.js';
import type { ImageConfig } from '../image/config.js';
import { formatReference, parseReference, type ImageReference } from '../image/reference.js';
import type { Credentials } from '../registry/auth.js';
import type { RegistryClient } from '../registry/client.js';
import { pullImage } from '../supervisor/images/pull.js';
import { readImage, type ImageContent } from '../supervisor/images/read-image.js';
import type { ImageRecord } from '../supervisor/images/store.js';
import type { Supervisor } from '../supervisor/supervisor.js';

export interface CriImage {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
  config: ImageConfig;
  /** The chain ID of the top layer: the parent of a container's snapshot. */
  topChainId?: string;
  pinned: boolean;
}

export const PINNED_LABEL = 'io.cri-containerd.pinned';
const MANAGED = { 'io.cri-containerd.image': 'managed' };

export class CriImages {
  constructor(private readonly supervisor: Supervisor, private readonly ns: string, private readonly registry: (auth?: Credentials) => RegistryClient) {}

  private content(): ReturnType<Supervisor['content']> {
    return this.supervisor.content(this.ns);
  }

  /** Every image, by ID, with the names that point at it. */
  list(): CriImage[] {
    const byId = new Map<string, { content: ImageContent; records: ImageRecord[] }>();
    for (const r of this.supervisor.images.list(this.ns)) {
      let img: ImageContent;
      try {
        img = readImage(this.content(), r.target);
      } catch {
        continue; // content collected or never pulled: not an image the CRI can use
      }
      const e = byId.get(img.configDigest) ?? { content: img, records: [] };
      e.records.push(r);
      byId.set(img.configDigest, e);
    }
    return [...byId.values()].map(({ content, records }) => this.describe(content, records));
  }

  private describe(img: ImageContent, records: ImageRecord[]): CriImage {
    const repoTags: string[] = [];
    const repoDigests: string[] = [];
    for (const r of records) {
      if (r.name.startsWith('sha256:')) continue;
      let ref: ImageReference;
      try {
        ref = parseReference(r.name, { defaultTag: false });
      } catch {
        continue;
      }
      if (ref.digest) repoDigests.push(r.name);
      else if (ref.tag) {
        repoTags.push(r.name);
        repoDigests.push(formatReference({ ...ref, tag: undefined, digest: img.target.digest }));
      }
    }
    const size = img.manifest.layers.reduce((n, l) => n + l.size, img.manifest.config.size);
    return {
      id: img.configDigest, repoTags: [...new Set(repoTags)].sort(), repoDigests: [...new Set(repoDigests)].sort(), size, config: img.config,
      topChainId: img.chainIds.at(-1), pinned: records.some((r) => r.labels[PINNED_LABEL] === 'pinned'),
    };
  }

  /** An image by name, ID or ID prefix; undefined when there is none. */
  find(ref: string): CriImage | undefined {
    if (!ref) throw new BerthError('INVALID_ARGUMENT', 'image reference must not be empty');
    const all = this.list();
    const id = ref.startsWith('sha256:') ? ref : /^[0-9a-f]{12,64}$/.test(ref) ? `sha256:${ref}` : undefined;
    if (id) {
      const byId = all.filter((i) => i.id.startsWith(id));
      if (byId.length === 1) return byId[0];
    }
    let name: string;
    try {
      name = formatReference(parseReference(ref));
    } catch {
      return undefined;
    }
    return all.find((i) => i.repoTags.includes(name) || i.repoDigests.includes(name));
  }

  get(ref: string): CriImage {
    const img = this.find(ref);
    if (!img) throw notFound(`failed to resolve image "${ref}": not found`);
    return img;
  }

  /** Pulls `ref` into the namespace and names it; returns the image ID (what containerd answers). */
  async pull(refText: string, auth?: Credentials): Promise<string> {
    const ref = parseReference(refText);
    const deps = {
      content: this.content(), leases: this.supervisor.leases(this.ns), snapshotter: this.supervisor.snapshotter(this.ns),
      whiteouts: this.supervisor.snapshotterName === 'overlayfs' ? 'overlay' as const : 'remove' as const, registry: this.registry(auth),
    };
    let pulled;
    try {
      pulled = await pullImage(deps, ref);
    } catch (err) {
      throw pullFailure(refText, ref, err);
    }
    try {
      const names = [formatReference(ref), formatReference({ ...ref, tag: undefined, digest: pulled.target.digest }), pulled.config.digest];
      for (const name of new Set(names)) this.supervisor.images.put(this.ns, { name, target: pulled.target, labels: MANAGED });
    } finally {
      deps.leases.delete(pulled.leaseId);
    }
    return pulled.config.digest;
  }

  /** Removes every name of the image (containerd's RemoveImage); a missing image is no error. */
  remove(ref: string): void {
    const img = this.find(ref);
    if (!img) return;
    for (const r of this.supervisor.images.list(this.ns)) {
      try {
        if (readImage(this.content(), r.target).configDigest === img.id) this.supervisor.images.delete(this.ns, r.name);
      } catch {
        // unreadable record: not this image
      }
    }
    this.supervisor.scheduleGc();
  }

  /** The snapshotter's filesystem and what the image layers use of it. */
  fsUsage(): { mountpoint: string; usedBytes: number; inodesUsed: number } {
    const root = this.supervisor.snapshotterRoot;
    let used = 0;
    let inodes = 0;
    for (const s of this.supervisor.snapshotter(this.ns).list()) {
      if (s.kind !== 'committed') continue;
      try {
        const u = this.supervisor.snapshotter(this.ns).usage(s.key);
        used += u.size;
        inodes += u.inodes;
      } catch {
        // removed meanwhile
      }
    }
    statfsSync(root); // the filesystem must be there
    return { mountpoint: root, usedBytes: used, inodesUsed: inodes };
  }
}

/**
 * A failed pull in containerd's words ("failed to pull and unpack image"), with what to do when no
 * registry answered; the error's code stays (UNAVAILABLE for a registry that is not there).
 */
function pullFailure(refText: string, ref: ImageReference, err: unknown): Error {
  const message = `failed to pull and unpack image "${refText}": ${(err as Error).message}`;
  if (!(err instanceof BerthError)) return new Error(message, { cause: err });
  const hint = err.code === 'UNAVAILABLE' ? `: no registry answered at ${ref.registry}; check the image name, and that the registry runs and is reachable from the node (or name a mirror for it in the certs.d hosts.toml)` : '';
  return new BerthError(err.code, `${message}${hint}`, { cause: err });
}
