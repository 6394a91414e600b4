// Walking and removing a cgroup subtree; the same on v1 and v2.
import { posix } from 'node:path';
import { BerthError, errnoOf } from '../../common/errors.js';
import type { CgroupFs } from './host.js';
import { readOptional, sleep } from './host.js';

/** One mkdir level; true when created. Fails with a message saying what to do. */
export async function makeDir(fs: CgroupFs, dir: string): Promise<boolean> {
  try {
    return await fs.mkdir(dir);
  } catch (err) {
    const code = errnoOf(err) ?? String(err);
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new BerthError('FAILED_PRECONDITION', `cannot create cgroup ${dir} (${code}): run as root, or delegate that part of the cgroup tree`, { cause: err });
    }
    throw new BerthError('INTERNAL', `cannot create cgroup ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

/** Every pid in `dir` and the cgroups below it (empty when `dir` is gone). */
export async function treePids(fs: CgroupFs, dir: string): Promise<number[]> {
  const out: number[] = [];
  const text = await readOptional(fs, posix.join(dir, 'cgroup.procs'));
  if (text === undefined) return out;
  for (const line of text.split('\n')) if (/^\d+$/.test(line.trim())) out.push(Number(line.trim()));
  for (const child of await childCgroups(fs, dir)) out.push(...(await treePids(fs, posix.join(dir, child))));
  return out;
}

async function childCgroups(fs: CgroupFs, dir: string): Promise<string[]> {
  try {
    return (await fs.list(dir)).filter((e) => e.isDir).map((e) => e.name);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return [];
    throw err;
  }
}

/** Delays between rmdir attempts while the last processes exit (about 2.5 s in all). */
const RETRY_MS = [10, 20, 40, 80, 160, 320, 640, 1280];

/**
 * Removes `dir` and every cgroup below it, deepest first. A cgroup still holding processes
 * refuses rmdir with EBUSY: retried for a short while, since a killed container's processes
 * take a moment to be reaped. Already-gone directories are fine.
 */
export async function removeTree(fs: CgroupFs, dir: string): Promise<void> {
  for (const child of await childCgroups(fs, dir)) await removeTree(fs, posix.join(dir, child));
  for (let attempt = 0; ; attempt++) {
    try {
      await fs.rmdir(dir);
      return;
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'ENOENT') return;
      const delay = RETRY_MS[attempt];
      if ((code === 'EBUSY' || code === 'ENOTEMPTY') && delay !== undefined) {
        await sleep(delay);
        continue;
      }
      if (code === 'EBUSY') {
        throw new BerthError('FAILED_PRECONDITION', `cannot remove cgroup ${dir}: processes are still in it; kill them first`, { cause: err });
      }
      throw new BerthError('INTERNAL', `cannot remove cgroup ${dir}: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes; returns the last answer. */
export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(delay);
    delay = Math.min(delay * 2, 50);
  }
}
