// The file operations the cgroup managers need, behind an interface: the real one talks to
// cgroupfs through node:fs; tests pass a fake (fake-host.ts) that behaves like the kernel on a
// temp dir (mkdir fills in interface files, writes to missing files fail).
import { constants } from 'node:fs';
import { readFileSync } from 'node:fs';
import { mkdir, open, readdir, rmdir, stat } from 'node:fs/promises';
import { errnoOf } from '../../common/errors.js';

export interface CgroupFs {
  /** The whole file as text. Throws the Node error (ENOENT, ...) unchanged. */
  read(path: string): Promise<string>;
  /** One write(2) of `value` into an existing file (never creates one, as on cgroupfs). */
  write(path: string, value: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** Creates one directory level; true when created, false when it already existed. */
  mkdir(path: string): Promise<boolean>;
  rmdir(path: string): Promise<void>;
  /** The entries of a directory: interface files and child cgroups (isDir). */
  list(path: string): Promise<Array<{ name: string; isDir: boolean }>>;
}

export const nodeCgroupFs: CgroupFs = {
  // Read on the event loop's thread: cgroup files are small and in memory, and reads through the
  // thread pool leave their buffers in glibc's per-thread arenas, which keep the memory after a
  // burst of stats (measured: +60 MB of RSS after 5,000 one-shot stats, never given back).
  read: async (path) => readFileSync(path, 'utf8'),
  async write(path, value) {
    // O_WRONLY without O_CREAT: some cgroup files are write-only (devices.allow), and a missing
    // file must fail rather than be created.
    const fh = await open(path, constants.O_WRONLY | constants.O_TRUNC);
    try {
      await fh.write(value);
    } finally {
      await fh.close();
    }
  },
  async exists(path) {
    try {
      await stat(path);
      return true;
    } catch (err) {
      if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return false;
      throw err;
    }
  },
  async mkdir(path) {
    try {
      await mkdir(path);
      return true;
    } catch (err) {
      if (errnoOf(err) === 'EEXIST') return false;
      throw err;
    }
  },
  rmdir: (path) => rmdir(path),
  async list(path) {
    const entries = await readdir(path, { withFileTypes: true });
    return entries.map((e) => ({ name: e.name, isDir: e.isDirectory() }));
  },
};

/** The trimmed text of a file, or undefined when it does not exist. */
export async function readOptional(fs: CgroupFs, path: string): Promise<string | undefined> {
  try {
    return (await fs.read(path)).trim();
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw err;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
