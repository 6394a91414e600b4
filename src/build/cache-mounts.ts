// RUN --mount=type=cache directories: they live under the daemon's data root, outlive builds and
// restarts, are never part of a layer, and go with `docker builder prune`. A cache is named by its
// id (default: the target), what it starts from (`from=`, none: empty) and its top directory's
// owner and mode, as BuildKit's are. Sharing between steps that run at the same time, as BuildKit's:
// "shared" steps use one directory together, a "locked" step waits until it has the directory
// alone, a "private" step takes the first instance nobody uses (a new, empty one if all are busy).
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CacheSharing } from './dockerfile/index.js';

export interface CacheMountRequest {
  id: string;
  /** What the cache starts from: an image ID and path, or nothing (an empty directory). */
  base?: string;
  sharing: CacheSharing;
  uid: number;
  gid: number;
  mode: number;
  /** Fills a new cache's directory (from=): called once, before anyone uses it. */
  seed?: (dir: string) => Promise<void>;
}

export interface HeldCache {
  /** The host directory to bind. */
  dir: string;
  release(): void;
}

interface Use {
  users: number;
  exclusive: boolean;
  waiting: Array<() => void>;
}

export class CacheMountStore {
  private readonly uses = new Map<string, Use>();

  constructor(readonly root: string) {}

  /** The cache's directory, held until released (waiting first for a locked one). */
  async acquire(r: CacheMountRequest): Promise<HeldCache> {
    const key = createHash('sha256').update(JSON.stringify([r.id, r.base ?? '', r.uid, r.gid, r.mode])).digest('hex').slice(0, 32);
    let instance = 0;
    if (r.sharing === 'private') {
      while (this.use(join(key, String(instance))).users > 0) instance++;
    }
    const name = join(key, String(instance));
    const exclusive = r.sharing === 'locked';
    const use = this.use(name);
    while (use.exclusive || (exclusive && use.users > 0)) await new Promise<void>((wake) => use.waiting.push(wake));
    use.users++;
    use.exclusive = exclusive;
    const release = () => {
      use.users--;
      if (exclusive) use.exclusive = false;
      if (use.users === 0) this.uses.delete(name);
      for (const wake of use.waiting.splice(0)) wake();
    };
    try {
      return { dir: await this.make(key, String(instance), r), release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /**
   * Removes every cache no step is using: `builder prune`. Returns the removed caches' names and
   * the bytes they held.
   */
  prune(): { deleted: string[]; bytes: number } {
    const deleted: string[] = [];
    let bytes = 0;
    if (!existsSync(this.root)) return { deleted, bytes };
    for (const key of readdirSync(this.root)) {
      for (const instance of readdirSync(join(this.root, key))) {
        const name = join(key, instance);
        if (this.uses.has(name.replace(/\.tmp-.*$/, ''))) continue;
        bytes += diskUsage(join(this.root, name));
        rmSync(join(this.root, name), { recursive: true, force: true });
        deleted.push(`${key}-${instance}`);
      }
      try {
        rmdirSync(join(this.root, key));
      } catch {
        // an instance in use is left
      }
    }
    return { deleted, bytes };
  }

  private use(name: string): Use {
    let u = this.uses.get(name);
    if (!u) this.uses.set(name, (u = { users: 0, exclusive: false, waiting: [] }));
    return u;
  }

  /** The instance's directory, made (and seeded) under a temporary name first: a crash leaves no half cache. */
  private async make(key: string, instance: string, r: CacheMountRequest): Promise<string> {
    const dir = join(this.root, key, instance);
    if (existsSync(dir)) return dir;
    mkdirSync(join(this.root, key), { recursive: true, mode: 0o700 });
    const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    try {
      await r.seed?.(tmp);
      chownSync(tmp, r.uid, r.gid);
      chmodSync(tmp, r.mode);
      renameSync(tmp, dir);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
    return dir;
  }
}

function diskUsage(path: string): number {
  const st = lstatSync(path);
  if (!st.isDirectory()) return st.blocks * 512;
  let n = st.blocks * 512;
  for (const child of readdirSync(path)) n += diskUsage(join(path, child));
  return n;
}
