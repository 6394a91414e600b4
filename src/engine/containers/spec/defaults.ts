// Docker's own defaults for a container (the Linux ones every container gets are in
// runtime/spec/container-defaults.ts), and the create-time defaults the daemon writes into a HostConfig
// (daemon_unix.go adaptContainerSettings, create.go), kept in one place so the spec builder and
// the container service agree on them.
import { DEFAULT_READONLY_PATHS, defaultMaskedPaths } from '../../../runtime/spec/container-defaults.js';
import type { HostConfig } from '../api-types.js';

export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** /dev/shm's size when HostConfig.ShmSize is 0: 64 MiB. */
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

/** Where --init's binary appears in the container (Docker's "/sbin/" + "docker-init"). */
export const INIT_PATH = '/sbin/docker-init';

/**
 * The HostConfig with the defaults Docker's daemon fills in when a container is created: swap
 * twice the memory limit, a 64 MiB /dev/shm, private IPC, the cgroup namespace mode of the host's
 * cgroup version, OOM killer on, and the default masked and read-only paths for an unprivileged
 * container. Idempotent: applying it to its own result changes nothing.
 */
export function withCreateDefaults(h: HostConfig, cgroupVersion: 1 | 2): HostConfig {
  const out: HostConfig = { ...h };
  if ((out.Memory ?? 0) > 0 && !out.MemorySwap) out.MemorySwap = out.Memory! * 2;
  if (!out.ShmSize) out.ShmSize = DEFAULT_SHM_SIZE;
  if (!out.IpcMode) out.IpcMode = 'private';
  // On v1 a privileged container sees the host's cgroups; on v2 every container gets its own
  // cgroup namespace, privileged or not.
  if (!out.CgroupnsMode) out.CgroupnsMode = cgroupVersion === 2 ? 'private' : 'host';
  if (out.OomKillDisable === undefined || out.OomKillDisable === null) out.OomKillDisable = false;
  if (!out.Privileged) {
    out.MaskedPaths ??= defaultMaskedPaths();
    out.ReadonlyPaths ??= [...DEFAULT_READONLY_PATHS];
  }
  return out;
}
