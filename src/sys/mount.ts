// Mounting on the host, for the snapshot mounts the supervisor hands out (layer apply, diff,
// export). util-linux's mount(8) does the syscalls: it turns "bind,ro" into the bind and the
// read-only remount the kernel needs.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BerthError } from '../common/errors.js';

export interface HostMount {
  type: string;
  source: string;
  options: string[];
}

function run(cmd: string, args: string[], what: string): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new BerthError('INTERNAL', `${what}: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`);
}

/** Mounts each of `mounts` on `target`, in order (containerd's mount.All). */
export function mountAll(mounts: readonly HostMount[], target: string): void {
  for (const m of mounts) {
    const bind = m.type === 'bind';
    const args = bind ? ['-o', m.options.join(','), m.source, target] : ['-t', m.type, '-o', m.options.join(','), m.source, target];
    run('mount', args, `mount ${m.type} ${m.source} on ${target}`);
  }
}

/** Unmounts `target` and whatever is mounted below it. */
export function unmountAll(target: string): void {
  run('umount', ['--recursive', target], `unmount ${target}`);
}

/** The mount points of this mount namespace, decoded (mountinfo escapes spaces as \040). */
export function mountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean)
    .map((l) => l.split(' ')[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}

export function isMountPoint(path: string): boolean {
  return mountPoints().includes(path);
}
