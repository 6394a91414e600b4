// Unix socket chores shared by the API servers: whether a live daemon already answers on a path,
// and the group a socket is handed to (mode 0660: root and that group may connect).
import { chmodSync, chownSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { BerthError } from '../common/errors.js';

/** Whether something accepts connections on the unix socket `path`. */
export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Clears `path` for a new listener: refused while a live daemon answers there, removed if stale. */
export async function claimSocketPath(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (await socketAnswers(path)) throw new BerthError('ALREADY_EXISTS', `another daemon is listening on ${path}: stop it first, or give this one its own -H and --exec-root`);
  rmSync(path, { force: true }); // a daemon that died left it
}

/** The gid of a group in /etc/group, if it exists. */
export function groupId(name: string): number | undefined {
  try {
    const line = readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.split(':')[0] === name);
    return line ? Number(line.split(':')[2]) : undefined;
  } catch {
    return undefined;
  }
}

/** Mode 0660, owned by root and `group` when that group exists. */
export function restrictSocket(path: string, group?: string): void {
  chmodSync(path, 0o660);
  const gid = group ? groupId(group) : undefined;
  if (gid !== undefined) chownSync(path, 0, gid);
}
