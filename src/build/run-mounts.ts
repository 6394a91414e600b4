// RUN --mount, BuildKit's semantics on the classic builder's step containers. Each mount is
// planned in two halves: first what it contributes to the step's cache key (a bound source's
// content checksum, a stage's or image's ID, the mount's own options), then, only when the step
// really runs, the host path it becomes (a bind or a tmpfs of the engine's HostConfig.Mounts):
//   bind   the context's file or directory, or a stage's or image's root (`from`), read-only; with
//          rw, a throwaway copy (context) or a throwaway writable snapshot (stage/image);
//   cache  a directory of the daemon's cache-mount store (see cache-mounts.ts), writable;
//   tmpfs  a fresh tmpfs, `size` its limit;
//   secret, ssh  the classic build API has no session to bring them from the client: as BuildKit
//          does when none is given, an optional one is left out (with a note), a required one fails.
// Every source path is resolved inside its root (the context or the mounted image), so `../` or a
// symlink cannot reach the host.
import { lstatSync, mkdirSync, mkdtempSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { invalid } from '../common/errors.js';
import { cleanEntryPath, resolveDir } from '../image/secure-path.js';
import type { BuildBackend, BuildImage, StepMount } from './backend.js';
import { BuildContext } from './context.js';
import { copyInto } from './copy.js';
import type { RunMount } from './dockerfile/index.js';

export interface MountSources {
  backend: BuildBackend;
  context: BuildContext;
  /** The stage (name or index) or image a `from=` names, built or pulled. */
  from(value: string): Promise<BuildImage>;
  /** The stage's WORKDIR, for relative targets. */
  workdir: string;
  /** A line for the build's output. */
  note(line: string): void;
}

/** A mount while the step runs; release() undoes what acquire() made. */
export interface HeldMount {
  mount?: StepMount;
  release(): Promise<void>;
}

export interface PlannedMount {
  /** What the step's cache key must hold for this mount. */
  key: unknown;
  acquire(): Promise<HeldMount>;
}

const NOTHING = async () => {};

/** The container path a mount lands on: relative to WORKDIR, never "/". */
function targetOf(m: RunMount, workdir: string): string {
  const target = posix.isAbsolute(m.target) ? posix.normalize(m.target) : posix.join('/', workdir, m.target);
  const clean = target.length > 1 ? target.replace(/\/$/, '') : target;
  if (clean === '/') throw invalid(`invalid mount target ${JSON.stringify(clean)}`);
  return clean;
}

/** A source path as BuildKit takes it: from the root, never above it ("../../etc" is "/etc"). */
const sourceOf = (m: RunMount): string => posix.join('/', m.source ?? '/');

function statIn(root: string, source: string, what: string): { hostPath: string; stat: Stats } {
  const hostPath = resolveDir(root, cleanEntryPath(source));
  const stat = lstatSync(hostPath, { throwIfNoEntry: false });
  if (!stat) throw invalid(`failed to compute cache key: ${JSON.stringify(source)} not found in ${what}`);
  return { hostPath, stat };
}

/** Plans every mount of one RUN (phase one: the cache key), in order. */
export async function planMounts(mounts: readonly RunMount[], src: MountSources): Promise<PlannedMount[]> {
  const out: PlannedMount[] = [];
  for (const m of mounts) {
    switch (m.type) {
      case 'secret':
      case 'ssh':
        out.push(sessionMount(m, src));
        break;
      case 'tmpfs': {
        const target = targetOf(m, src.workdir);
        out.push({
          key: ['tmpfs', target, m.size ?? 0, m.readOnly],
          acquire: async () => ({ mount: { type: 'tmpfs', target, readOnly: m.readOnly, ...(m.size ? { sizeBytes: m.size } : {}) }, release: NOTHING }),
        });
        break;
      }
      case 'cache':
        out.push(await cacheMount(m, src));
        break;
      default:
        out.push(m.from ? await imageBind(m, src) : contextBind(m, src));
    }
  }
  return out;
}

function sessionMount(m: RunMount, src: MountSources): PlannedMount {
  const what = m.type === 'secret' ? `secret ${JSON.stringify(m.id || m.source || posix.basename(m.target))}` : 'ssh agent';
  const flag = m.type === 'secret' ? '--secret' : '--ssh';
  if (m.required) {
    throw invalid(
      `RUN --mount=type=${m.type}: the ${what} is required, but berth builds through Docker's classic build API (POST /build), ` +
        `which has no session to bring ${m.type === 'secret' ? 'secrets' : 'an ssh agent'} from the client (docker build ${flag} needs BuildKit). ` +
        `Drop "required", or, for a file that is not secret, put it in the build context and use --mount=type=bind,source=<file>,target=<path>`,
    );
  }
  return {
    key: [m.type, m.id ?? '', m.target, m.env ?? ''],
    acquire: async () => {
      // BuildKit leaves out an optional secret or agent that was not given; here none can be.
      src.note(`[WARNING] RUN --mount=type=${m.type}: no ${what} (the classic build API cannot carry one); the mount is left out, as BuildKit does when ${flag} is not given`);
      return { release: NOTHING };
    },
  };
}

function contextBind(m: RunMount, src: MountSources): PlannedMount {
  const target = targetOf(m, src.workdir);
  const source = sourceOf(m);
  const { hostPath, stat } = statIn(src.context.dir, source, 'the build context');
  const sum = BuildContext.checksum([{ hostPath, relPath: source, stat }]);
  return {
    key: ['bind', target, source, m.readOnly, sum],
    acquire: async () => {
      if (m.readOnly) return { mount: { type: 'bind', target, source: hostPath, readOnly: true }, release: NOTHING };
      // rw: the step may write, but its writes are thrown away with a copy of the source
      const copy = mkdtempSync(join(src.context.scratch(), 'rw-'));
      const name = stat.isDirectory() ? '' : posix.basename(source);
      await copyInto(copy, [{ hostPath, relPath: source.slice(1), stat }], { dest: '/', workdir: '/', unpackArchives: false, keepOwners: true });
      return { mount: { type: 'bind', target, source: join(copy, name), readOnly: false }, release: NOTHING };
    },
  };
}

async function imageBind(m: RunMount, src: MountSources): Promise<PlannedMount> {
  const target = targetOf(m, src.workdir);
  const source = sourceOf(m);
  const image = await src.from(m.from as string);
  return {
    key: ['bind', target, source, m.readOnly, image.id],
    acquire: async () => {
      const root = await src.backend.mountImage(image, { writable: !m.readOnly });
      try {
        const { hostPath } = statIn(root.path, source, m.from as string);
        return { mount: { type: 'bind', target, source: hostPath, readOnly: m.readOnly }, release: () => root.release() };
      } catch (err) {
        await root.release();
        throw err;
      }
    },
  };
}

async function cacheMount(m: RunMount, src: MountSources): Promise<PlannedMount> {
  const target = targetOf(m, src.workdir);
  const id = m.id || posix.normalize(m.target);
  const source = sourceOf(m);
  const base = m.from ? await src.from(m.from) : undefined;
  const request = {
    id,
    base: base ? `${base.id}:${source}` : undefined,
    sharing: m.sharing ?? 'shared',
    uid: m.uid ?? 0,
    gid: m.gid ?? 0,
    mode: m.mode ?? 0o755,
  };
  return {
    // the cache's content is no part of the key: that is what a cache mount is for
    key: ['cache', target, request, m.readOnly],
    acquire: async () => {
      const seed = base
        ? (dir: string) => src.backend.withImageRootfs(base, async (rootfs) => {
          const { hostPath, stat } = statIn(rootfs, source, m.from as string);
          await copyInto(dir, [{ hostPath, relPath: source.slice(1), stat }], { dest: stat.isDirectory() ? '/' : `/${posix.basename(source)}`, workdir: '/', unpackArchives: false, keepOwners: true });
        })
        : undefined;
      const held = await src.backend.cacheMounts.acquire({ ...request, ...(seed ? { seed } : {}) });
      let dir = held.dir;
      if (!base && source !== '/') {
        // source= without from=: a directory inside the cache
        dir = resolveDir(held.dir, cleanEntryPath(source));
        mkdirSync(dir, { recursive: true, mode: 0o755 });
      }
      return { mount: { type: 'bind', target, source: dir, readOnly: m.readOnly }, release: async () => held.release() };
    },
  };
}
