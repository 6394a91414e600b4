// The container's filesystem as plan operations: root propagation, the rootfs bind, the spec's
// mounts in order, /dev, and the switch into the new root.
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { invalid } from '../../common/errors.js';
import { isMountPoint } from '../../sys/mount.js';
import { parseMountOptions, propagationOptions } from '../../sys/mount-options.js';
import type { Device, Mount, Spec } from '../spec/types.js';
import { MS, MountHow, Op } from './opcodes.js';
import { PlanWriter, str, u32, u64 } from './writer.js';

/** A cgroup directory to show inside the container under the spec's "cgroup" mount. */
export interface CgroupMountSource {
  /** Directory name under the mount point (a v1 hierarchy like "memory" or "cpu,cpuacct"; "" for v2). */
  name: string;
  hostDir: string;
}

export interface RootfsInput {
  spec: Spec;
  bundle: string;
  rootfs: string;
  cgroupMounts: readonly CgroupMountSource[];
  newUserNs: boolean;
  newCgroupNs: boolean;
}

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;
const IN_ROOT = MountHow.TARGET_IN_ROOT;

// The device nodes every container gets (runc's default set).
const DEFAULT_DEVICES: Device[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0 },
];

export function writeRootfs(w: PlanWriter, input: RootfsInput): void {
  const { spec, rootfs } = input;
  const prop = spec.linux?.rootfsPropagation;
  const rootProp = prop ? propagationOptions[prop]! : MS.SLAVE | MS.REC;
  w.op(Op.MOUNT, str(''), str('/'), str(''), u64(rootProp), str(''), u32(0));
  // With a shared root, the mount holding the rootfs is shared too, and pivot_root refuses a new
  // root whose parent is shared: make that one mount private first (as runc does).
  if (rootProp & MS.SHARED) w.op(Op.MOUNT, str(''), str(mountHolding(rootfs)), str(''), u64(MS.PRIVATE), str(''), u32(0));
  w.op(Op.MOUNT, str(rootfs), str(rootfs), str(''), u64(MS.BIND | MS.REC), str(''), u32(0));
  w.op(Op.SET_ROOT, str(rootfs));
  (spec.mounts ?? []).forEach((m, i) => writeMount(w, m, `mounts[${i}]`, input));
  if (needsDevSetup(spec.mounts ?? [])) writeDevices(w, spec, input.newUserNs);
  w.op(Op.MKDIR, str(spec.process?.cwd ?? '/'), u32(0o755));
}

/** The mount point of the filesystem `path` is on (itself when it is a mount point). */
function mountHolding(path: string): string {
  // Up from the path to the first mount root: one statx a level instead of the whole mount table.
  for (let p = resolve(path); p !== dirname(p); p = dirname(p)) if (isMountPoint(p)) return p;
  return '/';
}

function writeMount(w: PlanWriter, m: Mount, field: string, input: RootfsInput): void {
  const opts = parseMountOptions(m.options, field);
  const type = m.type ?? '';
  const dest = m.destination;
  if (type === 'cgroup' || type === 'cgroup2') return writeCgroupMount(w, dest, opts.flags, input);
  if (type === 'bind' || (opts.flags & MS.BIND) !== 0) {
    const source = resolve(input.bundle, m.source ?? '');
    let isDir: boolean;
    try {
      isDir = statSync(source).isDirectory();
    } catch {
      throw invalid(`${field}.source: bind source ${source} does not exist`);
    }
    writeBind(w, source, dest, opts.flags, isDir);
  } else {
    w.op(Op.MOUNT, str(m.source ?? type), str(dest), str(type), u64(opts.flags), str(opts.data), u32(IN_ROOT | MountHow.MKDIR));
  }
  for (const p of opts.propagation) w.op(Op.MOUNT, str(''), str(dest), str(''), u64(p), str(''), u32(IN_ROOT));
}

// A bind mount ignores most flags: they take effect through a second, remounting call.
function writeBind(w: PlanWriter, source: string, dest: string, flags: number, isDir: boolean): void {
  const how = IN_ROOT | MountHow.SOURCE_FD | (isDir ? MountHow.MKDIR : MountHow.MKFILE);
  w.op(Op.MOUNT, str(source), str(dest), str(''), u64(MS.BIND | (flags & MS.REC)), str(''), u32(how));
  const rest = flags & ~(MS.BIND | MS.REC | MS.REMOUNT);
  if (rest !== 0) w.op(Op.MOUNT, str(''), str(dest), str(''), u64(MS.BIND | MS.REMOUNT | rest), str(''), u32(IN_ROOT));
}

// cgroup v1: a tmpfs holding one bind of the container's own directory per hierarchy (the
// tmpfs itself stays writable, as runc leaves it; the hierarchies take the mount's flags).
// cgroup v2: cgroup2 itself in a cgroup namespace, else a bind of the container's directory.
function writeCgroupMount(w: PlanWriter, dest: string, flags: number, input: RootfsInput): void {
  const v2 = input.cgroupMounts.length === 1 && input.cgroupMounts[0]!.name === '';
  if (v2) {
    if (input.newCgroupNs) {
      w.op(Op.MOUNT, str('cgroup2'), str(dest), str('cgroup2'), u64(flags), str(''), u32(IN_ROOT | MountHow.MKDIR));
    } else {
      writeBind(w, input.cgroupMounts[0]!.hostDir, dest, flags | MS.REC, true);
    }
    return;
  }
  const tmpfsFlags = (flags & ~MS.RDONLY) | MS.NOSUID | MS.NODEV | MS.NOEXEC;
  w.op(Op.MOUNT, str('tmpfs'), str(dest), str('tmpfs'), u64(tmpfsFlags), str('mode=755'), u32(IN_ROOT | MountHow.MKDIR));
  for (const cg of input.cgroupMounts) {
    writeBind(w, cg.hostDir, join(dest, cg.name), flags, true);
    const parts = cg.name.split(',');
    if (parts.length > 1) for (const part of parts) w.op(Op.SYMLINK, str(cg.name), str(join(dest, part)));
  }
}

// /dev is ours to populate unless the spec binds it from somewhere.
function needsDevSetup(mounts: readonly Mount[]): boolean {
  return !mounts.some((m) => m.destination === '/dev' && (m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind')));
}

function writeDevices(w: PlanWriter, spec: Spec, newUserNs: boolean): void {
  const devices = [...DEFAULT_DEVICES, ...(spec.linux?.devices ?? [])];
  devices.forEach((d, i) => {
    const field = i < DEFAULT_DEVICES.length ? `default device ${d.path}` : `linux.devices[${i - DEFAULT_DEVICES.length}]`;
    // Inside a user namespace mknod is not allowed: bind the host's node instead.
    if (newUserNs) {
      if (!existsSync(d.path)) throw invalid(`${field}: ${d.path} does not exist on the host to bind into a user namespace`);
      w.op(Op.MOUNT, str(d.path), str(d.path), str(''), u64(MS.BIND), str(''), u32(IN_ROOT | MountHow.MKFILE | MountHow.SOURCE_FD));
      return;
    }
    w.op(Op.MKNOD, str(d.path), u32(deviceMode(d, field)), u32(d.major ?? 0), u32(d.minor ?? 0), u32(d.uid ?? 0), u32(d.gid ?? 0));
  });
  const links: Array<[string, string]> = [
    ['/proc/self/fd', '/dev/fd'],
    ['/proc/self/fd/0', '/dev/stdin'],
    ['/proc/self/fd/1', '/dev/stdout'],
    ['/proc/self/fd/2', '/dev/stderr'],
    ['pts/ptmx', '/dev/ptmx'],
  ];
  if (existsSync('/proc/kcore')) links.push(['/proc/kcore', '/dev/core']);
  for (const [target, path] of links) w.op(Op.SYMLINK, str(target), str(path));
}

function deviceMode(d: Device, field: string): number {
  const perm = (d.fileMode ?? 0o666) & 0o7777;
  switch (d.type) {
    case 'c':
    case 'u':
      return S_IFCHR | perm;
    case 'b':
      return S_IFBLK | perm;
    case 'p':
      return S_IFIFO | perm;
    default:
      throw invalid(`${field}.type: unknown device type "${d.type}"`);
  }
}

export function writeEnterRoot(w: PlanWriter, noPivot: boolean): void {
  w.op(noPivot ? Op.MOVE_ROOT : Op.PIVOT_ROOT);
}

/** After the switch, when root.readonly asks for it. */
export function writeReadonlyRoot(w: PlanWriter, spec: Spec): void {
  if (spec.root?.readonly) w.op(Op.MOUNT, str(''), str('/'), str(''), u64(MS.BIND | MS.REMOUNT | MS.RDONLY), str(''), u32(0));
}
