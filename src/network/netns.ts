// Network namespaces as files (the way `ip netns` keeps them): a namespace is made by unshare(1)
// and bind-mounted on a file under the exec root, so it outlives its first process and other
// processes (the container, exec sessions, network set-up) can join it by path. Its loopback is
// brought up as Docker brings it up. The directory holding them is a private mount, so the
// namespace mounts do not propagate anywhere.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
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
  if (!mountpoints().has(dir)) run('mount', ['--bind', dir, dir], `bind ${dir}`);
  run('mount', ['--make-private', dir], `make ${dir} private`);
}

/** Creates the namespace file `dir/name` with its loopback up; returns its path. */
export function createNetns(dir: string, name: string): string {
  const path = join(dir, name);
  if (mountpoints().has(path)) return path; // still there from before a daemon restart
  ensurePrivateDir(dir);
  writeFileSync(path, '');
  try {
    run('unshare', [`--net=${path}`, 'ip', 'link', 'set', 'lo', 'up'], `network namespace ${name}`);
  } catch (err) {
    rmSync(path, { force: true });
    throw err;
  }
  return path;
}

/** Removes a namespace file (the namespace itself goes with its last process). */
export function removeNetns(path: string): void {
  if (mountpoints().has(path)) run('umount', ['--lazy', path], `unmount ${path}`);
  if (existsSync(path)) rmSync(path, { force: true });
}
