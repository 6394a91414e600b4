// The CRI's namespace modes (NamespaceOption: POD, CONTAINER, NODE, TARGET) as OCI namespaces, for
// the pause process and for the containers that join it.
import type { Message } from '../../common/grpc/service-def.js';
import type { Namespace } from '../../runtime/spec/types.js';

export type Mode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';

/** The pod's modes from its (or a container's) security context; absent fields are POD. */
export function namespaceModes(sc: Message | null | undefined): { network: Mode; pid: Mode; ipc: Mode; targetId: string } {
  const o = (sc?.namespace_options ?? {}) as Message;
  const mode = (v: unknown): Mode => (['POD', 'CONTAINER', 'NODE', 'TARGET'].includes(String(v)) ? (String(v) as Mode) : 'POD');
  return { network: mode(o.network), pid: mode(o.pid), ipc: mode(o.ipc), targetId: String(o.target_id ?? '') };
}

/** The pause process's namespaces: new ones, but none of what the pod shares with the node. */
export function sandboxNamespaces(modes: ReturnType<typeof namespaceModes>, netnsPath: string | undefined): Namespace[] {
  const ns: Namespace[] = [{ type: 'mount' }];
  if (modes.pid !== 'NODE') ns.push({ type: 'pid' });
  if (modes.ipc !== 'NODE') ns.push({ type: 'ipc' });
  if (modes.network !== 'NODE') {
    ns.push({ type: 'uts' });
    ns.push(netnsPath ? { type: 'network', path: netnsPath } : { type: 'network' });
  }
  return ns;
}

/**
 * A container's namespaces: the pod's network, IPC and UTS (through the pause process), its PID
 * namespace in POD mode (or a target container's), a new one in CONTAINER mode, the node's in
 * NODE mode.
 */
export function containerNamespaces(pod: ReturnType<typeof namespaceModes>, own: ReturnType<typeof namespaceModes>, sandboxPid: number, netnsPath: string | undefined, targetPid?: number): Namespace[] {
  const proc = (pid: number, kind: string) => `/proc/${pid}/ns/${kind}`;
  const ns: Namespace[] = [{ type: 'mount' }];
  if (pod.network !== 'NODE') {
    ns.push({ type: 'network', path: netnsPath ?? proc(sandboxPid, 'net') });
    ns.push({ type: 'uts', path: proc(sandboxPid, 'uts') });
  }
  if (pod.ipc !== 'NODE') ns.push({ type: 'ipc', path: proc(sandboxPid, 'ipc') });
  if (own.pid === 'CONTAINER') ns.push({ type: 'pid' });
  else if (own.pid === 'TARGET' && targetPid) ns.push({ type: 'pid', path: proc(targetPid, 'pid') });
  else if (own.pid === 'POD') ns.push({ type: 'pid', path: proc(sandboxPid, 'pid') });
  return ns;
}
