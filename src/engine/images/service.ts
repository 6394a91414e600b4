// The engine's images (Docker's view over containerd-style records): an image is identified by
// its config digest (Docker's image ID); names point at it (tags "repo:tag" and digest references
// "repo@sha256:…", full references in the store); an image left without a name stays as a
// dangling record (<none>:<none>) until it is removed or pruned. Removal follows Docker's rules
// (untag first, in-use conflicts, -f), then garbage collection takes what nothing reaches.
import { BerthError, notFound } from '../../common/errors.js';
import { familiarName, formatReference, parseReference, type ImageReference } from '../../image/reference.js';
import type { Descriptor } from '../../image/manifest.js';
import { collectGarbage, type GcResult } from '../../supervisor/content/gc.js';
import type { ImageRecord, ImageStore } from '../../supervisor/images/store.js';
import { pullImage, type PullDeps, type PullProgress } from '../../supervisor/images/pull.js';
import { pushImage, type PushProgress } from './push.js';
import type { RegistryClient } from '../../registry/client.js';
import { readImage, type ImageContent } from '../../supervisor/images/read-image.js';

export interface ImageServiceDeps extends PullDeps {
  registry: RegistryClient;
  images: ImageStore;
  /** The supervisor namespace the engine's images live in ("moby"). */
  namespace: string;
  /** The platform images are read and pulled for (default linux/amd64). */
  platform?: string;
  /** The containers made from an image (by ID): the engine's containers answer. */
  usedBy?: (imageId: string) => Array<{ id: string; running: boolean }>;
  /** Snapshot keys in use besides images' own (containers' writable layers), kept by GC. */
  snapshotsInUse?: () => string[];
  /** The supervisor's collection over every namespace, returning this namespace's result. */
  collectGarbage?: () => GcResult;
}

export interface LocalImage extends ImageContent {
  id: string;
  records: ImageRecord[];
  /** Familiar "repo:tag" names. */
  repoTags: string[];
  /** Familiar "repo@sha256:…" names. */
  repoDigests: string[];
  /** When the image was first recorded here (the config's own date may be absent or fixed). */
  recordedAt: string;
  /** When a tag last moved onto it. */
  lastTagTime?: string;
  /** Only the build cache keeps it (Docker's intermediate images: shown by `images -a` only). */
  intermediate: boolean;
}

export type RemoveResult = Array<{ Untagged: string } | { Deleted: string }>;

const DANGLING = 'moby-dangling@';
/** The build cache's records: a step's cache key → the image it made (an intermediate image). */
const BUILD = 'moby-build@';
const isBuildRecord = (name: string) => name.startsWith(BUILD);
/** Records that are no name a user gave: a dangling image's, or the build cache's. */
const isDangling = (name: string) => name.startsWith(DANGLING) || isBuildRecord(name);
const HEX_ID = /^(?:sha256:)?([a-f0-9]{1,64})$/;

export class ImageService {
  /** Bytes per committed snapshot (immutable, so computed once). */
  private readonly usageCache = new Map<string, number>();
  /** What a target reaches (content is immutable by digest): read once, not on every lookup. */
  private readonly contentCache = new Map<string, ImageContent>();

  constructor(readonly deps: ImageServiceDeps) {}

  private get ns(): string {
    return this.deps.namespace;
  }

  /** Every image, with the names that point at it. Records whose content is gone are skipped. */
  list(): LocalImage[] {
    const byId = new Map<string, LocalImage>();
    for (const r of this.deps.images.list(this.ns)) {
      let c = this.contentCache.get(r.target.digest);
      if (!c) {
        try {
          c = readImage(this.deps.content, r.target, this.deps.platform);
        } catch {
          continue;
        }
        this.contentCache.set(r.target.digest, c);
      }
      let img = byId.get(c.configDigest);
      if (!img) byId.set(c.configDigest, (img = { ...c, id: c.configDigest, records: [], repoTags: [], repoDigests: [], recordedAt: r.createdAt, intermediate: true }));
      if (!isBuildRecord(r.name)) img.intermediate = false;
      img.records.push(r);
      if (r.createdAt < img.recordedAt) img.recordedAt = r.createdAt;
      if (isDangling(r.name)) continue;
      const ref = parseReference(r.name, { defaultTag: false });
      if (ref.tag) {
        img.repoTags.push(familiarName(ref));
        if (!img.lastTagTime || r.updatedAt > img.lastTagTime) img.lastTagTime = r.updatedAt;
      } else img.repoDigests.push(familiarName(ref));
    }
    for (const img of byId.values()) {
      img.repoTags.sort();
      img.repoDigests.sort();
    }
    return [...byId.values()];
  }

  /** Resolves what a user typed: a full or short image ID, a name, or name@digest. */
  get(text: string): LocalImage {
    const all = this.list();
    const hex = HEX_ID.exec(text);
    if (hex && hex[1]!.length === 64) {
      const img = all.find((i) => i.id === `sha256:${hex[1]}`);
      if (img) return img;
    }
    let ref: ImageReference | undefined;
    try {
      ref = parseReference(text);
    } catch {
      // not a name: maybe a short ID
    }
    if (ref) {
      const full = formatReference(ref);
      const img = all.find((i) => i.records.some((r) => r.name === full));
      if (img) return img;
      // repo@digest also finds an image pulled by tag whose target (or manifest) has that digest
      if (ref.digest) {
        const byDigest = all.find((i) => (i.target.digest === ref!.digest || i.manifestDigest === ref!.digest) && i.records.some((r) => !isDangling(r.name) && parseReference(r.name, { defaultTag: false }).repository === ref!.repository));
        if (byDigest) return byDigest;
      }
    }
    if (hex && !text.includes(':')) {
      const matches = all.filter((i) => i.id.startsWith(`sha256:${hex[1]}`));
      if (matches.length === 1) return matches[0]!;
      if (matches.length > 1) throw new BerthError('INVALID_ARGUMENT', `image ID prefix "${text}" is ambiguous: it matches ${matches.length} images`);
    }
    throw notFound(`No such image: ${text}`);
  }

  /** The image a record targets by `digest` (what import, load and commit just wrote). */
  byTarget(digest: string): LocalImage {
    const img = this.list().find((i) => i.records.some((r) => r.target.digest === digest));
    if (!img) throw notFound(`no image has target ${digest}`);
    return img;
  }

  /**
   * Points `name` (a full reference) at `target`. The image the name pointed at before keeps a
   * dangling record if nothing else names it, as Docker leaves <none>:<none> behind.
   */
  setName(name: string, target: Descriptor): void {
    const old = this.deps.images.find(this.ns, name);
    this.deps.images.put(this.ns, { name, target, labels: old?.labels });
    const dangling = this.deps.images.find(this.ns, `${DANGLING}${target.digest}`);
    if (dangling) this.deps.images.delete(this.ns, dangling.name);
    if (old && old.target.digest !== target.digest) this.keepIfUnnamed(old.target);
  }

  /** Records an image that has no name (docker import/load without a tag). */
  addUnnamed(target: Descriptor): void {
    this.keepIfUnnamed(target);
  }

  private keepIfUnnamed(target: Descriptor): void {
    if (this.deps.images.list(this.ns).some((r) => r.target.digest === target.digest && !isBuildRecord(r.name))) return;
    this.deps.images.put(this.ns, { name: `${DANGLING}${target.digest}`, target });
  }

  /** Pulls and records the image under its name, and under name@digest. */
  async pull(text: string, opts: { platform?: string; onProgress?: (p: PullProgress) => void; registry?: RegistryClient } = {}): Promise<LocalImage> {
    const ref = parseReference(text);
    const before = this.deps.images.find(this.ns, formatReference(ref));
    let pulled;
    try {
      pulled = await pullImage({ ...this.deps, registry: opts.registry ?? this.deps.registry }, ref, { platform: opts.platform ?? this.deps.platform, onProgress: opts.onProgress });
    } catch (err) {
      // What a failed pull fetched goes now, not at some later collection: on a full disk the
      // next command needs that space back (a new pull starts its downloads over anyway).
      this.collectGarbage();
      throw err;
    }
    try {
      this.setName(formatReference(ref), pulled.target);
      if (!ref.digest) this.setName(formatReference({ ...ref, tag: undefined, digest: pulled.target.digest }), pulled.target);
    } finally {
      this.deps.leases.delete(pulled.leaseId);
    }
    const fresh = before?.target.digest !== pulled.target.digest;
    opts.onProgress?.({ status: `Status: ${fresh ? 'Downloaded newer image' : 'Image is up to date'} for ${familiarName(ref)}` });
    return this.get(formatReference(ref));
  }

  /**
   * `docker push NAME[:TAG]`: the tag given, or every tag of the repository when there is none
   * (the API's push without a tag). Each pushed digest becomes a repo@digest name.
   */
  async push(name: string, opts: { tag?: string; onProgress?: (p: PushProgress) => void; registry?: RegistryClient } = {}): Promise<void> {
    const ref = parseReference(name, { defaultTag: false });
    if (ref.digest) throw new BerthError('INVALID_ARGUMENT', `cannot push a digest reference "${name}": push a tag`);
    const repo = `${ref.registry}/${ref.repository}:`;
    const tags = opts.tag || ref.tag ? [opts.tag || ref.tag!] : this.deps.images.list(this.ns).filter((r) => r.name.startsWith(repo)).map((r) => r.name.slice(repo.length)).sort();
    if (tags.length === 0) throw notFound(`An image does not exist locally with the tag: ${familiarName(ref)}`);
    for (const tag of tags) {
      const dest = { ...ref, tag };
      const img = this.deps.images.find(this.ns, formatReference(dest));
      if (!img) throw notFound(`An image does not exist locally with the tag: ${familiarName(dest)}`);
      const pushed = await pushImage({ content: this.deps.content, registry: opts.registry ?? this.deps.registry }, readImage(this.deps.content, img.target, this.deps.platform), dest, opts.onProgress);
      this.setName(formatReference({ ...ref, tag: undefined, digest: pushed.digest }), pushed);
    }
  }

  /** `docker tag SOURCE TARGET`. */
  tag(source: string, target: string): void {
    const img = this.get(source);
    const ref = parseReference(target);
    if (ref.digest) throw new BerthError('INVALID_ARGUMENT', `refusing to create a tag with a digest reference: "${target}"`);
    this.setName(formatReference(ref), img.target);
  }

  /** `docker rmi`: untags, and deletes the image once no name is left, following Docker's conflicts. */
  remove(text: string, opts: { force?: boolean } = {}): RemoveResult {
    const img = this.get(text);
    const out: RemoveResult = [];
    const users = this.deps.usedBy?.(img.id) ?? [];
    const running = users.find((u) => u.running);
    const stopped = users.find((u) => !u.running);
    const short = img.id.slice('sha256:'.length, 'sha256:'.length + 12);
    const named = this.nameRecord(img, text);
    if (named) {
      const ref = parseReference(named.name, { defaultTag: false });
      const others = img.records.filter((r) => !isDangling(r.name) && r.name !== named.name);
      const sameRepoDigests = ref.tag ? others.filter((r) => { const o = parseReference(r.name, { defaultTag: false }); return !o.tag && o.repository === ref.repository && o.registry === ref.registry; }) : [];
      const sameRepoTags = others.filter((r) => { const o = parseReference(r.name, { defaultTag: false }); return o.tag && o.repository === ref.repository && o.registry === ref.registry; });
      // A tag that is the last of its repository takes that repository's digest references along.
      const untag = [named, ...(sameRepoTags.length ? [] : sameRepoDigests)];
      const remaining = others.filter((r) => !untag.includes(r));
      if (remaining.length === 0 && !opts.force && (running || stopped)) {
        throw new BerthError('FAILED_PRECONDITION', `conflict: unable to remove repository reference "${text}" (must force) - container ${(running ?? stopped)!.id.slice(0, 12)} is using its referenced image ${short}`);
      }
      for (const r of untag) {
        this.deps.images.delete(this.ns, r.name);
        out.push({ Untagged: familiarName(parseReference(r.name, { defaultTag: false })) });
      }
      if (remaining.length > 0) return out;
      if (running || stopped) {
        this.keepIfUnnamed(img.target); // forced: the name goes, the image stays for its containers
        return out;
      }
    } else {
      if (running) throw new BerthError('FAILED_PRECONDITION', `conflict: unable to delete ${short} (cannot be forced) - image is being used by running container ${running.id.slice(0, 12)}`);
      if (stopped && !opts.force) throw new BerthError('FAILED_PRECONDITION', `conflict: unable to delete ${short} (must be forced) - image is being used by stopped container ${stopped.id.slice(0, 12)}`);
      const repos = new Set(img.records.filter((r) => !isDangling(r.name)).map((r) => { const o = parseReference(r.name, { defaultTag: false }); return `${o.registry}/${o.repository}`; }));
      if (repos.size > 1 && !opts.force) throw new BerthError('FAILED_PRECONDITION', `conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories`);
      for (const r of img.records) {
        this.deps.images.delete(this.ns, r.name);
        if (!isDangling(r.name)) out.push({ Untagged: familiarName(parseReference(r.name, { defaultTag: false })) });
      }
    }
    for (const r of img.records) if (this.deps.images.find(this.ns, r.name)) this.deps.images.delete(this.ns, r.name);
    out.push({ Deleted: img.id });
    const gc = this.collectGarbage();
    for (const key of gc.removedSnapshots) if (img.chainIds.includes(key)) out.push({ Deleted: key });
    return out;
  }

  /** The record a user's text named (not an ID), if it named one. */
  private nameRecord(img: LocalImage, text: string): ImageRecord | undefined {
    if (HEX_ID.test(text) && (text.startsWith('sha256:') || img.id.startsWith(`sha256:${text}`))) return undefined;
    let ref: ImageReference;
    try {
      ref = parseReference(text);
    } catch {
      return undefined;
    }
    const full = formatReference(ref);
    return img.records.find((r) => r.name === full) ?? (ref.digest ? img.records.find((r) => !isDangling(r.name) && !parseReference(r.name, { defaultTag: false }).tag && parseReference(r.name, { defaultTag: false }).repository === ref.repository) : undefined);
  }

  /** `docker image prune`: dangling images, or with `all` every image no container uses. */
  prune(opts: { all?: boolean; until?: Date; labels?: (labels: Record<string, string>) => boolean } = {}): { ImagesDeleted: RemoveResult; SpaceReclaimed: number } {
    const before = this.bytesOnDisk();
    const deleted: RemoveResult = [];
    for (const img of this.list()) {
      if (!opts.all && (img.repoTags.length > 0 || img.intermediate)) continue;
      if ((this.deps.usedBy?.(img.id) ?? []).length > 0) continue;
      if (opts.until && new Date(img.config.created ?? img.recordedAt) >= opts.until) continue;
      if (opts.labels && !opts.labels(img.config.config?.Labels ?? {})) continue;
      deleted.push(...this.remove(img.id, { force: true }));
    }
    return { ImagesDeleted: deleted, SpaceReclaimed: Math.max(0, before - this.bytesOnDisk()) };
  }

  /** The image a build step with this cache key made, if it is still here. */
  buildCacheGet(key: string): LocalImage | undefined {
    const r = this.deps.images.find(this.ns, `${BUILD}${key}`);
    if (!r) return undefined;
    try {
      return this.byTarget(r.target.digest);
    } catch {
      return undefined; // its content went
    }
  }

  buildCachePut(key: string, target: Descriptor): void {
    this.deps.images.put(this.ns, { name: `${BUILD}${key}`, target });
  }

  /** `docker builder prune`: the build cache's records go, and what only they kept. */
  pruneBuildCache(): { CachesDeleted: string[]; SpaceReclaimed: number } {
    const before = this.bytesOnDisk();
    const deleted: string[] = [];
    for (const r of this.deps.images.list(this.ns)) {
      if (!isBuildRecord(r.name)) continue;
      this.deps.images.delete(this.ns, r.name);
      deleted.push(r.name.slice(BUILD.length));
    }
    this.collectGarbage();
    return { CachesDeleted: deleted, SpaceReclaimed: Math.max(0, before - this.bytesOnDisk()) };
  }

  /**
   * Content and snapshots that no image, lease or container reaches go: the supervisor's
   * collection of every namespace when there is one, else this namespace's alone.
   */
  collectGarbage(): GcResult {
    const result = this.deps.collectGarbage?.() ?? collectGarbage({ content: this.deps.content, leases: this.deps.leases, roots: this.deps.images.list(this.ns).map((r) => r.target.digest), snapshotter: this.deps.snapshotter, snapshotRoots: this.deps.snapshotsInUse?.() ?? [] });
    for (const key of result.removedSnapshots) this.usageCache.delete(key);
    if (result.removedBlobs.length) this.contentCache.clear();
    return result;
  }

  /** Bytes of one committed layer snapshot. */
  layerSize(chainId: string): number {
    let n = this.usageCache.get(chainId);
    if (n === undefined) {
      try {
        n = this.deps.snapshotter.usage(chainId).size;
      } catch {
        return 0;
      }
      this.usageCache.set(chainId, n);
    }
    return n;
  }

  /** The unpacked size of an image: its layers' bytes on disk. */
  size(img: LocalImage): number {
    return img.chainIds.reduce((sum, c) => sum + this.layerSize(c), 0);
  }

  /** Every byte the image store holds: blobs, ingests and committed layers. */
  bytesOnDisk(): number {
    const blobs = this.deps.content.list().reduce((s, b) => s + b.size, 0);
    const ingests = this.deps.content.listIngests().reduce((s, i) => s + i.offset, 0);
    const layers = this.deps.snapshotter.list().filter((s) => s.kind === 'committed').reduce((s, x) => s + this.layerSize(x.key), 0);
    return blobs + ingests + layers;
  }
}
