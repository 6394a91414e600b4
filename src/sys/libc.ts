// The few libc calls berthd makes directly, through koffi (a C FFI for Node): mount(2), umount2(2),
// unshare(2), setns(2), an ioctl, mknod(2), lsetxattr(2) and lgetxattr(2), which Node has no
// binding for and which cost a fork and exec of mount(8), umount(8), unshare(1), mknod(1) or
// setfattr(1) each (~1-6 ms, with the event loop blocked) where the syscall takes microseconds; and
// glibc's malloc_trim(3), the only way to hand back free memory in the middle of malloc's heap.
//
// The library is loaded on first use, so commands that never mount do not pay for it.
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { BerthError } from '../common/errors.js';

/** The errno values the calls below tell apart, as this platform numbers them. */
const { ENODATA, ENOENT, ENOTDIR, EOPNOTSUPP, ERANGE } = constants.errno;

// koffi is a CommonJS module; its types describe the functions it returns only loosely.
type Koffi = typeof import('koffi');

interface Libc {
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): number;
  umount2(target: string, flags: number): number;
  malloc_trim(pad: number): number;
  unshare(flags: number): number;
  setns(fd: number, nstype: number): number;
  socket(domain: number, type: number, protocol: number): number;
  ioctl(fd: number, request: number, arg: Buffer): number;
  close(fd: number): number;
  statx(dirfd: number, path: string, flags: number, mask: number, buf: Buffer): number;
  mknod(path: string, mode: number, dev: bigint): number;
  lsetxattr(path: string, name: string, value: Buffer, size: number, flags: number): number;
  lgetxattr(path: string, name: string, value: Buffer | null, size: number): number;
  strerror(errnum: number): string;
  errno(): number;
}

let loaded: Libc | undefined;

type KoffiLib = ReturnType<Koffi['load']>;

/**
 * mknod(3): a real symbol from glibc 2.33 on; before, an inline wrapper around __xmknod (version 0
 * on the 64-bit ABIs Node runs on), which is bound instead, so that an older glibc still loads
 * every other call.
 */
function bindMknod(lib: KoffiLib): Libc['mknod'] {
  try {
    return lib.func('int mknod(const char *path, uint32_t mode, uint64_t dev)');
  } catch {
    const xmknod = lib.func('int __xmknod(int ver, const char *path, uint32_t mode, const uint64_t *dev)');
    return (path, mode, dev) => xmknod(0, path, mode, BigUint64Array.of(dev)) as number;
  }
}

function libc(): Libc {
  if (loaded) return loaded;
  const koffi = createRequire(import.meta.url)('koffi') as Koffi;
  const lib = koffi.load('libc.so.6');
  loaded = {
    mount: lib.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)'),
    umount2: lib.func('int umount2(const char *target, int flags)'),
    malloc_trim: lib.func('int malloc_trim(size_t pad)'),
    unshare: lib.func('int unshare(int flags)'),
    setns: lib.func('int setns(int fd, int nstype)'),
    socket: lib.func('int socket(int domain, int type, int protocol)'),
    ioctl: lib.func('int ioctl(int fd, unsigned long request, _Inout_ uint8_t *arg)'),
    close: lib.func('int close(int fd)'),
    statx: lib.func('int statx(int dirfd, const char *path, int flags, unsigned int mask, _Inout_ uint8_t *buf)'),
    mknod: bindMknod(lib),
    // ssize_t is not one of koffi's types; intptr_t has its size on Linux.
    lsetxattr: lib.func('int lsetxattr(const char *path, const char *name, const uint8_t *value, size_t size, int flags)'),
    lgetxattr: lib.func('intptr_t lgetxattr(const char *path, const char *name, _Inout_ uint8_t *value, size_t size)'),
    strerror: lib.func('const char *strerror(int errnum)'),
    errno: () => koffi.errno(),
  };
  return loaded;
}

/** unshare(2)/setns(2): a network namespace. */
export const CLONE_NEWNET = 0x40000000;

/** umount2(2) flags. */
export const MNT_DETACH = 0x2;

/** An errno as the error berth reports: what was tried, and the kernel's reason (an internal error, as mount(8)'s were). */
function failure(what: string, errno: number): BerthError {
  const err = new BerthError('INTERNAL', `${what}: ${libc().strerror(errno)}`);
  (err as BerthError & { errno?: number }).errno = errno;
  return err;
}

/** mount(2); throws with the kernel's reason. */
export function mountSyscall(source: string | null, target: string, fstype: string | null, flags: number, data: string | null, what: string): void {
  const c = libc();
  if (c.mount(source, target, fstype, flags, data) !== 0) throw failure(what, c.errno());
}

/** umount2(2); throws with the kernel's reason. */
export function umountSyscall(target: string, flags: number, what: string): void {
  const c = libc();
  if (c.umount2(target, flags) !== 0) throw failure(what, c.errno());
}

/** unshare(2) of this thread; throws with the kernel's reason. */
export function unshareSyscall(flags: number, what: string): void {
  const c = libc();
  if (c.unshare(flags) !== 0) throw failure(what, c.errno());
}

/** setns(2) of this thread; throws with the kernel's reason. */
export function setnsSyscall(fd: number, nstype: number, what: string): void {
  const c = libc();
  if (c.setns(fd, nstype) !== 0) throw failure(what, c.errno());
}

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 0x1;
/** struct ifreq: the name (16 bytes), then a union whose first member here is ifr_flags (a short). */
const IFREQ_SIZE = 40;

/** Sets an interface of this thread's network namespace up (ip link set NAME up). */
export function setInterfaceUp(name: string): void {
  const c = libc();
  const fd = c.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw failure(`socket for ${name}`, c.errno());
  try {
    const ifr = Buffer.alloc(IFREQ_SIZE);
    ifr.write(name, 0, 15, 'latin1');
    if (c.ioctl(fd, SIOCGIFFLAGS, ifr) !== 0) throw failure(`flags of ${name}`, c.errno());
    ifr.writeInt16LE(ifr.readInt16LE(16) | IFF_UP, 16);
    if (c.ioctl(fd, SIOCSIFFLAGS, ifr) !== 0) throw failure(`set ${name} up`, c.errno());
  } finally {
    c.close(fd);
  }
}

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
/** struct statx: stx_attributes is at offset 8, stx_attributes_mask at 56; 256 bytes in all. */
const STATX_SIZE = 256;
const STATX_ATTR_MOUNT_ROOT = 0x2000n;

/**
 * Whether `path` is the root of a mount (statx's STATX_ATTR_MOUNT_ROOT, Linux 5.8): one syscall
 * instead of reading the whole mount table. False when the path does not exist (nothing can be
 * mounted there); undefined when the kernel does not say.
 */
export function isMountRoot(path: string): boolean | undefined {
  const buf = Buffer.alloc(STATX_SIZE);
  const c = libc();
  if (c.statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, 0, buf) !== 0) {
    const errno = c.errno();
    return errno === ENOENT || errno === ENOTDIR ? false : undefined;
  }
  if ((buf.readBigUInt64LE(56) & STATX_ATTR_MOUNT_ROOT) === 0n) return undefined;
  return (buf.readBigUInt64LE(8) & STATX_ATTR_MOUNT_ROOT) !== 0n;
}

/** glibc's makedev(3): the 64-bit dev_t of a device number. */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

/**
 * mknod(2): a character or block device or a FIFO, `mode` with its type bits (fs.constants.S_IFCHR,
 * S_IFBLK, S_IFIFO; the umask applies to the permissions); throws "WHAT: mknod: reason".
 */
export function mknodSyscall(path: string, mode: number, major: number, minor: number, what: string): void {
  const c = libc();
  if (c.mknod(path, mode, makedev(major, minor)) !== 0) throw failure(`${what}: mknod`, c.errno());
}

/** Most values fit (overlay's markers, file capabilities); a bigger one is sized and read again. */
const XATTR_GUESS = 256;

/** lsetxattr(2): sets an extended attribute on the path itself, never through a final symlink. */
export function setXattr(path: string, name: string, value: Buffer, what: string): void {
  const c = libc();
  if (c.lsetxattr(path, name, value, value.length, 0) !== 0) throw failure(`${what}: lsetxattr ${name}`, c.errno());
}

/**
 * lgetxattr(2): an extended attribute of the path itself; undefined when it has none by that name
 * or its filesystem has no extended attributes at all.
 */
export function getXattr(path: string, name: string, what: string): Buffer | undefined {
  const c = libc();
  let buf = Buffer.alloc(XATTR_GUESS);
  for (;;) {
    const n = c.lgetxattr(path, name, buf, buf.length);
    if (n >= 0) return buf.subarray(0, n);
    const errno = c.errno();
    if (errno === ENODATA || errno === EOPNOTSUPP) return undefined;
    if (errno !== ERANGE) throw failure(`${what}: lgetxattr ${name}`, errno);
    // Bigger than the guess: ask its size (it may grow again before the next read, hence the loop).
    const size = c.lgetxattr(path, name, null, 0);
    if (size < 0) throw failure(`${what}: lgetxattr ${name}`, c.errno());
    buf = Buffer.alloc(Math.max(size, 1)); // never 0, which would ask the size again instead of reading
  }
}

/** The errno a failed call of this module carried, if any. */
export function errnoOf(err: unknown): number | undefined {
  return (err as { errno?: number } | undefined)?.errno;
}

/**
 * Gives back to the kernel the free pages glibc's malloc holds anywhere in its heaps (it returns
 * only the top of its main heap on its own). True when it released something.
 */
export function releaseFreeMallocMemory(): boolean {
  return libc().malloc_trim(0) === 1;
}
