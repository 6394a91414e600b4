// Network namespaces as files (the way `ip netns` keeps them): a namespace is made by unshare(1)
// and bind-mounted on a file under the exec root, so it outlives its first process and other
// processes (the container, exec sessions, network set-up, CNI plugins) can join it by path. Its
// loopback is brought up as Docker brings it up, or left down for a CNI loopback plugin to bring
// up (containerd's pod namespaces). The directory holding them is a private mount, so the
// namespace mounts do not propagate anywhere. Both calls are idempotent.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../common/errors.js';
import { mountPoints } from '../sys/mount.js';

function run(cmd: string, args: string[], what: string): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new BerthError('INTERNAL', `${what}: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`);
}

function mountpoints(): Set<string> {
  return new Set(mountPoints());
}

/** Makes `dir` a private mount of its own (once): namespace mounts under it stay there. */
function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  const mounted = mountpoints().has(dir);
  if (mounted && isPrivateMount(dir)) return; // done before: spare the two mount(8) runs
  if (!mounted) run('mount', ['--bind', dir, dir], `bind ${dir}`);
  run('mount', ['--make-private', dir], `make ${dir} private`);
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
  if (mountpoints().has(path)) return path; // still there from before a daemon restart
  ensurePrivateDir(dir);
  writeFileSync(path, '');
  try {
    const inside = opts.loopbackUp === false ? ['true'] : ['ip', 'link', 'set', 'lo', 'up'];
    run('unshare', [`--net=${path}`, ...inside], `network namespace ${name}`);
  } catch (err) {
    rmSync(path, { force: true });
    throw err;
  }
  return path;
}

/** Removes a namespace file: unmounts and unlinks it (the namespace itself goes with its last process). */
export function removeNetns(path: string): void {
  if (mountpoints().has(path)) run('umount', ['--lazy', path], `unmount ${path}`);
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
