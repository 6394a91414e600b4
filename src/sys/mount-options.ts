// Translating a mount's "options" array into mount(2) flags, propagation changes and fs data,
// the way mount(8) and runc read them.
import { invalid } from '../common/errors.js';

/** Linux's mount(2) flags (<sys/mount.h>). */
export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  SYNCHRONOUS: 16,
  REMOUNT: 32,
  MANDLOCK: 64,
  DIRSYNC: 128,
  NOSYMFOLLOW: 256,
  NOATIME: 1024,
  NODIRATIME: 2048,
  BIND: 4096,
  MOVE: 8192,
  REC: 16384,
  SILENT: 32768,
  UNBINDABLE: 1 << 17,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  SHARED: 1 << 20,
  RELATIME: 1 << 21,
  STRICTATIME: 1 << 24,
} as const;

interface FlagOption { set: boolean; flag: number }

const flagOptions: Record<string, FlagOption> = {
  defaults: { set: false, flag: 0 },
  ro: { set: true, flag: MS.RDONLY },
  rw: { set: false, flag: MS.RDONLY },
  nosuid: { set: true, flag: MS.NOSUID },
  suid: { set: false, flag: MS.NOSUID },
  nodev: { set: true, flag: MS.NODEV },
  dev: { set: false, flag: MS.NODEV },
  noexec: { set: true, flag: MS.NOEXEC },
  exec: { set: false, flag: MS.NOEXEC },
  sync: { set: true, flag: MS.SYNCHRONOUS },
  async: { set: false, flag: MS.SYNCHRONOUS },
  dirsync: { set: true, flag: MS.DIRSYNC },
  remount: { set: true, flag: MS.REMOUNT },
  mand: { set: true, flag: MS.MANDLOCK },
  nomand: { set: false, flag: MS.MANDLOCK },
  noatime: { set: true, flag: MS.NOATIME },
  atime: { set: false, flag: MS.NOATIME },
  nodiratime: { set: true, flag: MS.NODIRATIME },
  diratime: { set: false, flag: MS.NODIRATIME },
  relatime: { set: true, flag: MS.RELATIME },
  norelatime: { set: false, flag: MS.RELATIME },
  strictatime: { set: true, flag: MS.STRICTATIME },
  nostrictatime: { set: false, flag: MS.STRICTATIME },
  nosymfollow: { set: true, flag: MS.NOSYMFOLLOW },
  symfollow: { set: false, flag: MS.NOSYMFOLLOW },
  silent: { set: true, flag: MS.SILENT },
  loud: { set: false, flag: MS.SILENT },
  bind: { set: true, flag: MS.BIND },
  rbind: { set: true, flag: MS.BIND | MS.REC },
};

export const propagationOptions: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

// Options that runtimes accept but that change nothing here.
const ignoredOptions = new Set(['tmpcopyup', 'x-systemd.automount', 'nofail', 'auto', 'noauto', 'user', 'nouser', 'owner']);

export interface ParsedMountOptions {
  flags: number;
  propagation: number[];
  data: string;
}

export function parseMountOptions(options: readonly string[] | undefined, field: string): ParsedMountOptions {
  let flags = 0;
  const propagation: number[] = [];
  const data: string[] = [];
  (options ?? []).forEach((opt, i) => {
    const f = flagOptions[opt];
    if (f) {
      flags = f.set ? flags | f.flag : flags & ~f.flag;
      return;
    }
    const p = propagationOptions[opt];
    if (p !== undefined) {
      propagation.push(p);
      return;
    }
    if (ignoredOptions.has(opt)) return;
    if (/^r(ro|rw|nosuid|suid|nodev|dev|noexec|exec|noatime|atime|nodiratime|diratime|relatime|norelatime|strictatime|nostrictatime|nosymfollow|symfollow)$/.test(opt) || opt === 'idmap' || opt === 'ridmap') {
      throw invalid(`${field}.options[${i}]: "${opt}" is not supported by berth yet`);
    }
    data.push(opt);
  });
  return { flags, propagation, data: data.join(',') };
}
