// Namespaces a container takes from another one (`--network`, `--pid`, `--ipc container:<id>`).
import { BerthError, invalid, precondition } from '../../common/errors.js';
import type { ContainerRecord } from './record.js';

/**
 * Namespaces shared with another container (`--network`, `--pid`, `--ipc container:<id>`): its
 * network namespace file, its process's pid and ipc namespaces, and for ipc its /dev/shm (the
 * host-side mount `shmDirOf` names: see shm.ts).
 */
export function sharedNamespaces(c: ContainerRecord, netnsPath: string | undefined, find: (ref: string) => ContainerRecord | undefined, shmDirOf: (id: string) => string): { namespaces: Partial<Record<'pid' | 'ipc' | 'network', string>>; shmPath?: string } {
  const namespaces: Partial<Record<'pid' | 'ipc' | 'network', string>> = {};
  let shmPath: string | undefined;
  const other = (mode: string | undefined) => {
    if (!mode?.startsWith('container:')) return undefined;
    const ref = mode.slice('container:'.length);
    const o = find(ref);
    if (!o) throw new BerthError('NOT_FOUND', `No such container: ${ref}`);
    if (!o.State.Running || !o.State.Pid) throw precondition(`cannot join namespaces of a non running container: ${o.ID}`);
    return o;
  };
  if (other(c.HostConfig.NetworkMode) && netnsPath) namespaces.network = netnsPath;
  const pid = other(c.HostConfig.PidMode);
  if (pid) namespaces.pid = `/proc/${pid.State.Pid}/ns/pid`;
  const ipc = other(c.HostConfig.IpcMode);
  if (ipc && ipc.HostConfig.IpcMode !== 'shareable') throw invalid(`non-shareable IPC (hint: use IpcMode:shareable for the donor container ${ipc.ID.slice(0, 12)})`);
  if (ipc) {
    namespaces.ipc = `/proc/${ipc.State.Pid}/ns/ipc`;
    shmPath = shmDirOf(ipc.ID);
  }
  return { namespaces, shmPath };
}
