// The defaults every Linux container gets unless asked otherwise, shared by the Docker engine and
// the CRI (moby's oci/defaults.go and containerd's oci/spec.go agree on them): the capabilities of
// an unprivileged container, the standard mounts, the masked and read-only /proc and /sys paths,
// and the device cgroup rules.
import { existsSync, readdirSync } from 'node:fs';
import type { DeviceCgroupRule, Mount } from './types.js';

/** The capabilities of an unprivileged container (Docker's order). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

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

