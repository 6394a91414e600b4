// Docker's defaults for a container's OCI spec (moby's oci/defaults.go, oci/caps/defaults.go and
// daemon/config), and the create-time defaults the daemon writes into a HostConfig
// (daemon_unix.go adaptContainerSettings, create.go), kept in one place so the spec builder and
// the container service agree on them.
import { existsSync, readdirSync } from 'node:fs';
import type { DeviceCgroupRule, Mount } from '../../../runtime/spec/types.js';
import type { HostConfig } from '../api-types.js';

/** The capabilities of an unprivileged container (Docker's order). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** /dev/shm's size when HostConfig.ShmSize is 0: 64 MiB. */
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

/** Where --init's binary appears in the container (Docker's "/sbin/" + "docker-init"). */
export const INIT_PATH = '/sbin/docker-init';

/** The mounts every container gets, before Docker filters and adjusts them. */
export function defaultMounts(): Mount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777'] },
  ];
}

// Today's moby list: Docker 20.10's ten paths plus /proc/interrupts and the powercap and
// thermal_throttle trees (GHSA-6fw5-f8r9-fgfm, GHSA-jq35-85cj-fj4p: they leak host activity).
const MASKED_PATHS = [
  '/proc/acpi', '/proc/asound', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/sched_debug', '/proc/scsi', '/proc/timer_list', '/proc/timer_stats', '/sys/devices/virtual/powercap',
  '/sys/firmware',
];

let maskedPaths: string[] | undefined;

/** Paths hidden from an unprivileged container; the per-CPU thermal_throttle directories the host has. */
export function defaultMaskedPaths(): string[] {
  maskedPaths ??= [...MASKED_PATHS, ...thermalThrottleDirs()];
  return [...maskedPaths];
}

function thermalThrottleDirs(): string[] {
  let cpus: string[] = [];
  try {
    cpus = readdirSync('/sys/devices/system/cpu').filter((n) => /^cpu\d+$/.test(n));
  } catch {
    return []; // no sysfs: nothing to mask
  }
  return cpus
    .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)))
    .map((cpu) => `/sys/devices/system/cpu/${cpu}/thermal_throttle`)
    .filter((p) => existsSync(p));
}

export const DEFAULT_READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/**
 * Docker's device cgroup rules: deny everything, allow the basic character devices, deny
 * /dev/fuse. The runtime appends the standard allow list after these (c *:* m, b *:* m, null,
 * zero, full, tty, random, urandom, console, ptmx, pts, tun), as runc does for Docker.
 */
export function defaultDeviceRules(): DeviceCgroupRule[] {
  const c = (major: number, minor: number, allow = true): DeviceCgroupRule => ({ allow, type: 'c', major, minor, access: 'rwm' });
  return [{ allow: false, access: 'rwm' }, c(1, 5), c(1, 3), c(1, 9), c(1, 8), c(5, 0), c(5, 1), c(10, 229, false)];
}

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
