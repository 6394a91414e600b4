// Sysctls: Docker's two defaults for a container with its own network namespace (ping without
// CAP_NET_RAW, low ports without CAP_NET_BIND_SERVICE), then HostConfig.Sysctls, which win. Only
// namespaced sysctls are allowed, and only when the container has that namespace to itself: the
// checks runc makes at start, made here so the error names the field and the mode.
import { invalid } from '../../../common/errors.js';
import type { HostConfig } from '../api-types.js';
import { ipcKind, isHostNetwork, isPrivateNetwork, utsIsHost } from './namespaces.js';

const IPC_SYSCTLS = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);

export function buildSysctls(h: HostConfig): Record<string, string> {
  const out: Record<string, string> = {};
  if (isPrivateNetwork(h.NetworkMode)) {
    out['net.ipv4.ping_group_range'] = '0 2147483647';
    out['net.ipv4.ip_unprivileged_port_start'] = '0';
  }
  for (const [key, value] of Object.entries(h.Sysctls ?? {})) {
    checkSysctl(key, h);
    if (typeof value !== 'string') throw invalid(`HostConfig.Sysctls["${key}"]: the value must be a string`);
    out[key] = value;
  }
  return out;
}

function checkSysctl(key: string, h: HostConfig): void {
  const field = `HostConfig.Sysctls["${key}"]`;
  if (IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.')) {
    if (ipcKind(h.IpcMode) === 'host') throw invalid(`${field}: sysctl "${key}" is not allowed with --ipc=host: it would change the host's IPC namespace`);
    return;
  }
  if (key.startsWith('net.')) {
    if (isHostNetwork(h.NetworkMode)) throw invalid(`${field}: sysctl "${key}" is not allowed with --network=host: it would change the host's network namespace`);
    return;
  }
  if (key === 'kernel.domainname') {
    if (utsIsHost(h.UTSMode)) throw invalid(`${field}: sysctl "${key}" is not allowed with --uts=host: it would change the host's domain name`);
    return;
  }
  if (key === 'kernel.hostname') throw invalid(`${field}: sysctl "${key}" is not allowed: set the hostname with Config.Hostname (--hostname)`);
  throw invalid(`${field}: sysctl "${key}" is not allowed: it is not in a separate kernel namespace`);
}
