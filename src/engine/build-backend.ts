// The engine's side of a build (src/build/backend.ts): step containers are the engine's own
// containers (labelled, so a daemon killed mid-build removes them at its next start), commits
// write images like `docker commit` does but with the builder's config and history line, and
// the step cache is the image store's build records (Docker's intermediate images).
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { digestOf } from '../common/digest.js';
import { chainIds } from '../image/chain-id.js';
import { TAR_END } from '../image/tar-writer.js';
import type { ContainerConfig, ImageConfig } from '../image/config.js';
import { formatReference, parseReference } from '../image/reference.js';
import { mountAll, unmountAll } from '../sys/mount.js';
import type { BuildBackend, BuildImage, MountedRootfs, StepCommit, StepContainer } from '../build/backend.js';
import { CacheMountStore } from '../build/cache-mounts.js';
import { changesTar } from './containers/commit.js';
import { readLogs } from './containers/logs.js';
import type { ContainerService } from './containers/service.js';
import { hasSnapshot, storeLayerTar, withLease } from '../supervisor/images/layers.js';
import type { ImageService, LocalImage } from './images/service.js';
import { configFor, writeImage, type ImageLayer } from '../supervisor/images/write-image.js';

/** The diff ID of a layer with no entries (the tar's end blocks only). */
const EMPTY_LAYER_DIFF_ID = digestOf(TAR_END);

/** The label on every build step container: removed at daemon start if a build was cut short. */
export const BUILD_STEP_LABEL = 'berth.build.step';

const asBuildImage = (img: LocalImage): BuildImage => ({ id: img.id, config: img.config });

export class EngineBuildBackend implements BuildBackend {
  constructor(
    private readonly containers: ContainerService,
    private readonly images: ImageService,
    private readonly execRoot: string,
    /** Where RUN --mount=type=cache directories live (under the data root). */
    cacheMountRoot: string,
  ) {
    this.cacheMounts = new CacheMountStore(cacheMountRoot);
  }

  readonly cacheMounts: CacheMountStore;

  async image(ref: string, o: { pull: boolean; platform?: string; progress: (line: string) => void }): Promise<BuildImage> {
    if (!o.pull) {
      try {
        return asBuildImage(this.images.get(ref));
      } catch {
        // not here: pulled below
      }
    }
    const img = await this.images.pull(ref, { platform: o.platform, onProgress: (p) => { if (!p.id) o.progress(p.status); } });
    return asBuildImage(img);
  }

  imageById(id: string): BuildImage | undefined {
    try {
      return asBuildImage(this.images.get(id));
    } catch {
      return undefined;
    }
  }

  async scratch(): Promise<BuildImage> {
    const hit = this.cached('scratch');
    if (hit) return hit;
    const [os, architecture] = (this.images.deps.platform ?? 'linux/amd64').split('/') as [string, string];
    const config: ImageConfig = { architecture, os, config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] };
    const image = await this.write(config, []);
    this.remember('scratch', image);
    return image;
  }

  async commitConfig(parent: BuildImage, commit: StepCommit): Promise<BuildImage> {
    return this.write(this.childConfig(parent, commit, true), this.layersOf(parent));
  }

  async createContainer(parent: BuildImage, step: StepContainer): Promise<string> {
    const c = step.config;
    const body = {
      ...c,
      Image: parent.id,
      // [] (not null) clears the image's entrypoint, as the Engine API reads it
      Entrypoint: c.Entrypoint ?? [],
      Labels: { ...(c.Labels ?? {}), [BUILD_STEP_LABEL]: 'true' },
      HostConfig: {
        NetworkMode: step.networkMode,
        ...(step.shmSize ? { ShmSize: step.shmSize } : {}),
        // RUN --mount: ordinary binds and tmpfs mounts of the engine's Mounts
        ...(step.mounts?.length ? {
          Mounts: step.mounts.map((m) => (m.type === 'tmpfs'
            ? { Type: 'tmpfs' as const, Target: m.target, ReadOnly: m.readOnly, ...(m.sizeBytes ? { TmpfsOptions: { SizeBytes: m.sizeBytes } } : {}) }
            : { Type: 'bind' as const, Source: m.source, Target: m.target, ReadOnly: m.readOnly })),
        } : {}),
      },
    };
    return (await this.containers.create(body)).Id;
  }

  async runContainer(id: string, output: (chunk: Buffer) => void): Promise<number> {
    const exited = this.containers.wait(id, 'next-exit');
    await this.containers.start(id);
    const c = this.containers.get(id);
    // the log has everything from the start; read as a terminal would show it (no frames)
    for await (const chunk of readLogs(c.LogPath, { stdout: true, stderr: true, timestamps: false, follow: true }, true, async () => void (await exited))) output(chunk);
    return (await exited).StatusCode;
  }

  withContainerRootfs<T>(id: string, fn: (rootfs: string) => Promise<T>): Promise<T> {
    return this.containers.withRootfs(id, fn);
  }

  async commitContainer(id: string, parent: BuildImage, commit: StepCommit): Promise<BuildImage> {
    const c = this.containers.get(id);
    return withLease(this.images.deps.leases, { 'berth.build': id }, async (leaseId) => {
      const layer = await storeLayerTar(this.images.deps, changesTar(this.containers, c.SnapshotKey, c.ImageChainId, this.execRoot), leaseId);
      // A step that changed nothing adds no layer, as Docker records an empty layer.
      const empty = layer.diffId === EMPTY_LAYER_DIFF_ID;
      const layers = empty ? this.layersOf(parent) : [...this.layersOf(parent), layer];
      // The container's writable snapshot already is the new layer unpacked: committed under its
      // chain ID it spares unpacking the blob just written (the container goes next anyway).
      const sn = this.containers.deps.snapshotter;
      const chainId = chainIds(layers.map((l) => l.diffId)).at(-1);
      if (!empty && chainId && !hasSnapshot(sn, chainId)) {
        sn.commit(chainId, c.SnapshotKey);
        this.images.deps.leases.addResource(leaseId, { type: `snapshots/${sn.name}`, id: chainId });
      }
      return this.writeUnder(leaseId, this.childConfig(parent, commit, empty), layers);
    });
  }

  async withImageRootfs<T>(image: BuildImage, fn: (rootfs: string) => Promise<T>): Promise<T> {
    const mounted = await this.mountImage(image, { writable: false });
    try {
      return await fn(mounted.path);
    } finally {
      await mounted.release();
    }
  }

  async mountImage(image: BuildImage, o: { writable: boolean }): Promise<MountedRootfs> {
    const img = this.images.get(image.id);
    const sn = this.containers.deps.snapshotter;
    const dir = mkdtempSync(join(this.execRoot, 'build-from-'));
    const key = `build-view-${dir.split('/').pop()}`;
    const parent = img.chainIds.at(-1);
    const cleanup = () => {
      try {
        sn.remove(key);
      } catch {
        // the snapshot was never made
      }
      rmSync(dir, { recursive: true, force: true });
    };
    try {
      // writable: an active snapshot whose changes go with it when it is removed
      mountAll(o.writable ? sn.prepare(key, parent) : sn.view(key, parent), dir);
    } catch (err) {
      cleanup();
      throw err;
    }
    return {
      path: dir,
      release: async () => {
        try {
          unmountAll(dir);
        } finally {
          cleanup();
        }
      },
    };
  }

  async removeContainer(id: string): Promise<void> {
    await this.containers.remove(id, { force: true, volumes: true });
  }

  cached(key: string): BuildImage | undefined {
    const img = this.images.buildCacheGet(key);
    return img && asBuildImage(img);
  }

  remember(key: string, image: BuildImage): void {
    this.images.buildCachePut(key, this.images.get(image.id).target);
  }

  tag(image: BuildImage, name: string): void {
    this.images.setName(formatReference(parseReference(name)), this.images.get(image.id).target);
  }

  private layersOf(image: BuildImage): ImageLayer[] {
    const img = this.images.get(image.id);
    return img.manifest.layers.map((d, i) => ({ descriptor: d, diffId: img.config.rootfs.diff_ids[i]! }));
  }

  private childConfig(parent: BuildImage, commit: StepCommit, emptyLayer: boolean): ImageConfig {
    const now = new Date().toISOString();
    const { config: _c, container_config: _cc, ...rest } = parent.config;
    return {
      ...rest,
      created: now,
      author: commit.author ?? parent.config.author ?? '',
      config: commit.config,
      container_config: { ...commit.config, Cmd: [commit.createdBy] } as ContainerConfig,
      history: [...(parent.config.history ?? []), { created: now, created_by: commit.createdBy, ...(emptyLayer ? { empty_layer: true } : {}) }],
    };
  }

  private write(config: ImageConfig, layers: ImageLayer[]): Promise<BuildImage> {
    return withLease(this.images.deps.leases, { 'berth.build': 'config' }, (leaseId) => this.writeUnder(leaseId, config, layers));
  }

  private async writeUnder(leaseId: string, config: ImageConfig, layers: ImageLayer[]): Promise<BuildImage> {
    const target = await writeImage(this.images.deps, leaseId, configFor(config, layers), layers);
    // recorded at once (as a build record under its own digest) so it outlives the lease
    this.images.buildCachePut(`image-${target.digest}`, target);
    return asBuildImage(this.images.byTarget(target.digest));
  }
}
