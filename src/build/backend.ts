// What the builder needs from the engine, as Docker's classic builder has its Backend: images to
// start from, containers to run a RUN step in or copy files into, commits, the step cache and
// tags. The engine implements it over its own services (src/engine/build-backend.ts), so a build
// step is an ordinary container and an ordinary commit, and the build layer stays below the engine.
import type { ContainerConfig, ImageConfig } from '../image/config.js';
import type { CacheMountStore } from './cache-mounts.js';

/** An image a step starts from or produced: Docker's image ID and its whole config. */
export interface BuildImage {
  id: string;
  config: ImageConfig;
}

/** A RUN --mount as the step container gets it: a host directory or file bound in, or a tmpfs. */
export interface StepMount {
  type: 'bind' | 'tmpfs';
  /** Absolute path in the container. */
  target: string;
  /** bind: the host path. */
  source?: string;
  readOnly: boolean;
  /** tmpfs: its size limit in bytes. */
  sizeBytes?: number;
}

/** What a step container is made with (Docker's container config, the fields the builder sets). */
export interface StepContainer {
  config: ContainerConfig;
  /** The network RUN steps use: "default" (the bridge), "host" or "none". */
  networkMode: string;
  shmSize?: number;
  mounts?: StepMount[];
}

/** An image's root filesystem mounted on the host until released. */
export interface MountedRootfs {
  path: string;
  release(): Promise<void>;
}

export interface PullProgress {
  (line: string): void;
}

/** What a step's commit records: the image's container config and the history line. */
export interface StepCommit {
  config: ContainerConfig;
  /** History's created_by: "/bin/sh -c echo hi", "/bin/sh -c #(nop)  ENV A=1". */
  createdBy: string;
  /** MAINTAINER: the image's author. */
  author?: string;
}

export interface BuildBackend {
  /** The image named `ref`: the local one, pulled when missing (or always with `pull`). */
  image(ref: string, opts: { pull: boolean; platform?: string; progress: PullProgress }): Promise<BuildImage>;
  /** An image made here before (a cache hit), or undefined when it is gone. */
  imageById(id: string): BuildImage | undefined;
  /** An image with no layers and a default config: FROM scratch. */
  scratch(): Promise<BuildImage>;
  /** A new image: `parent`'s layers, the commit's config, one more history entry, no new layer. */
  commitConfig(parent: BuildImage, commit: StepCommit): Promise<BuildImage>;
  /** A container from `parent` for one step; not started. */
  createContainer(parent: BuildImage, step: StepContainer): Promise<string>;
  /** Starts it, hands its output over as it comes, resolves with its exit status. */
  runContainer(id: string, output: (chunk: Buffer) => void): Promise<number>;
  /** Runs `fn` with the container's root filesystem mounted (files are copied in through it). */
  withContainerRootfs<T>(id: string, fn: (rootfs: string) => Promise<T>): Promise<T>;
  /** The container's changes as a layer on `parent` (none when it changed nothing), with the commit's config and history. */
  commitContainer(id: string, parent: BuildImage, commit: StepCommit): Promise<BuildImage>;
  /** Runs `fn` with an image's root filesystem mounted read-only (COPY --from). */
  withImageRootfs<T>(image: BuildImage, fn: (rootfs: string) => Promise<T>): Promise<T>;
  /**
   * An image's root filesystem mounted until released (RUN --mount from a stage or image):
   * read-only, or writable with the writes thrown away at release.
   */
  mountImage(image: BuildImage, o: { writable: boolean }): Promise<MountedRootfs>;
  /** RUN --mount=type=cache directories (under the daemon's data root), one store per daemon. */
  readonly cacheMounts: CacheMountStore;
  removeContainer(id: string): Promise<void>;
  /** The image a step with this cache key made before, if it is still here. */
  cached(key: string): BuildImage | undefined;
  remember(key: string, image: BuildImage): void;
  /** Points `name` at the image (a tag, "repo:tag"). */
  tag(image: BuildImage, name: string): void;
}
