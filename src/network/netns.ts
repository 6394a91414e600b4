// Network namespaces as files (the way `ip netns` keeps them): a namespace is made in-process
// (sys/new-netns.ts) and bind-mounted on a file under the exec root, so it outlives its first
// process and other processes (the container, exec sessions, network set-up, CNI plugins) can
// join it by path. Its loopback is brought up as Docker brings it up, or left down for a CNI
// loopback plugin to bring up (containerd's pod namespaces). The directory holding them is a
// private mount, so the namespace mounts do not propagate anywhere. Both calls are idempotent.
import { existsSync, mkdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../common/errors.js';
import { bindNewNetworkNamespace } from '../sys/new-netns.js';
import { bindMount, isMountPoint, setPropagation, unmountAll } from '../sys/mount.js';
import { MS } from '../sys/mount-options.js';

/** Directories this process has seen to be private mounts: checked once, not per namespace. */
const privateDirs = new Set<string>();

/** Makes `dir` a private mount of its own (once): namespace mounts under it stay there. */
function ensurePrivateDir(dir: string): void {
  if (privateDirs.has(dir) && isMountPoint(dir)) return;
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  const mounted = isMountPoint(dir);
  if (!mounted || !isPrivateMount(dir)) {
    if (!mounted) bindMount(dir, dir);
    setPropagation(dir, MS.PRIVATE);
  }
  privateDirs.add(dir);
}

/** Whether the topmost mount on `dir` has no propagation (no shared:/master: tag in mountinfo). */
function isPrivateMount(dir: string): boolean {
  const lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4] === dir);
  const top = lines.at(-1);
  return !!top && !/ (shared|master):\d+/.test(top.slice(0, top.indexOf(' - ')));
}

export interface CreateNetnsOptions {
  /** Bring "lo" up (default true); false leaves it down, as a new namespace starts. */
  loopbackUp?: boolean;
}

/** Creates the namespace file `dir/name` (loopback up unless told otherwise); returns its path. */
export function createNetns(dir: string, name: string, opts: CreateNetnsOptions = {}): string {
  if (!name || name === '.' || name === '..' || name.includes('/')) throw new BerthError('INVALID_ARGUMENT', `network namespace name ${JSON.stringify(name)} must be a plain file name`);
  const path = join(dir, name);
  if (isMountPoint(path)) return path; // still there from before a daemon restart
  ensurePrivateDir(dir);
  writeFileSync(path, '');
  try {
    bindNewNetworkNamespace(path, { loopbackUp: opts.loopbackUp !== false });
  } catch (err) {
    rmSync(path, { force: true });
    throw err;
  }
  return path;
}

/** Removes a namespace file: unmounts and unlinks it (the namespace itself goes with its last process). */
export function removeNetns(path: string): void {
  if (isMountPoint(path)) unmountAll(path, { lazy: true });
  if (existsSync(path)) rmSync(path, { force: true });
}

const NSFS_MAGIC = 0x6e736673;

/**
 * Whether `path` is a namespace file with a namespace on it. A daemon killed between making the
 * file and mounting the namespace on it, or between unmounting and unlinking it, leaves a plain
 * file: no namespace, though the path exists.
 */
export function isNetnsMounted(path: string): boolean {
  try {
    return statfsSync(path).type === NSFS_MAGIC;
  } catch {
    return false;
  }
}
