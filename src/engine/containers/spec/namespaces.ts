// The container's namespaces from HostConfig's PidMode, IpcMode, UTSMode, NetworkMode,
// CgroupnsMode and UsernsMode, as Docker's WithNamespaces: a new one by default, none for
// "host", the other container's for "container:<id>" (its path comes from the engine). No user
// namespace: berth has no userns-remap yet.
import { invalid } from '../../../common/errors.js';
import type { Namespace } from '../../../runtime/spec/types.js';
import type { HostConfig, SpecInputs } from '../api-types.js';

export type IpcKind = 'private' | 'shareable' | 'none' | 'host' | 'container';

const containerOf = (mode: string): string | undefined => (mode.startsWith('container:') ? mode.slice('container:'.length) : undefined);

export function ipcKind(mode: string | undefined): IpcKind {
  const m = mode ?? '';
  if (m === '' || m === 'private') return 'private';
  if (m === 'shareable' || m === 'none' || m === 'host') return m;
  if (containerOf(m)) return 'container';
  throw invalid(`HostConfig.IpcMode: invalid IPC mode: ${m}`);
}

export const isHostNetwork = (mode: string | undefined): boolean => mode === 'host';
export const isContainerNetwork = (mode: string | undefined): boolean => !!containerOf(mode ?? '');
/** Docker's NetworkMode.IsPrivate: the container has a network namespace of its own. */
export const isPrivateNetwork = (mode: string | undefined): boolean => !isHostNetwork(mode) && !isContainerNetwork(mode);

export function pidIsPrivate(mode: string | undefined): boolean {
  const m = mode ?? '';
  if (m === '') return true;
  if (m === 'host' || containerOf(m)) return false;
  throw invalid(`HostConfig.PidMode: invalid PID mode: ${m}`);
}

export function utsIsHost(mode: string | undefined): boolean {
  const m = mode ?? '';
  if (m === '') return false;
  if (m === 'host') return true;
  throw invalid(`HostConfig.UTSMode: invalid UTS mode: ${m}`);
}

export function buildNamespaces(h: HostConfig, inputs: Pick<SpecInputs, 'netnsPath' | 'joinNamespaces'>, networkDisabled: boolean): Namespace[] {
  const join = (type: 'pid' | 'ipc' | 'network', field: string, mode: string): Namespace => {
    const path = inputs.joinNamespaces?.[type];
    if (!path) throw invalid(`${field}: "${mode}" needs the ${type} namespace of container ${containerOf(mode)}: is it running?`);
    return { type, path };
  };
  const ns: Namespace[] = [{ type: 'mount' }];

  const net = h.NetworkMode ?? '';
  if (networkDisabled || isPrivateNetwork(net)) {
    // none, bridge, default or a named network: the engine's namespace when it made one.
    ns.push(inputs.netnsPath && !networkDisabled ? { type: 'network', path: inputs.netnsPath } : { type: 'network' });
  } else if (isContainerNetwork(net)) {
    ns.push(join('network', 'HostConfig.NetworkMode', net));
  } // host: the host's own

  if (!utsIsHost(h.UTSMode)) ns.push({ type: 'uts' });

  const pid = h.PidMode ?? '';
  if (pidIsPrivate(pid)) ns.push({ type: 'pid' });
  else if (pid !== 'host') ns.push(join('pid', 'HostConfig.PidMode', pid));

  const ipc = ipcKind(h.IpcMode);
  if (ipc === 'container') ns.push(join('ipc', 'HostConfig.IpcMode', h.IpcMode!));
  else if (ipc !== 'host') ns.push({ type: 'ipc' });

  const cgroupns = h.CgroupnsMode ?? '';
  if (cgroupns !== '' && cgroupns !== 'private' && cgroupns !== 'host') throw invalid(`HostConfig.CgroupnsMode: invalid cgroup namespace mode: ${String(cgroupns)}`);
  if (cgroupns === 'private') ns.push({ type: 'cgroup' });

  const userns = h.UsernsMode ?? '';
  if (userns !== '' && userns !== 'host' && userns !== 'private') throw invalid(`HostConfig.UsernsMode: invalid USER mode: ${userns}`);
  return ns;
}
