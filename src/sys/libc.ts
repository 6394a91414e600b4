// The few libc calls berthd makes directly, through koffi (a C FFI for Node): mount(2) and
// umount2(2), which Node has no binding for and which cost a fork and exec of mount(8) each
// (~6 ms, with the event loop blocked) where the syscall takes microseconds; and glibc's
// malloc_trim(3), the only way to hand back free memory in the middle of malloc's heap.
//
// The library is loaded on first use, so commands that never mount do not pay for it.
import { createRequire } from 'node:module';
import { BerthError } from '../common/errors.js';

// koffi is a CommonJS module; its types describe the functions it returns only loosely.
type Koffi = typeof import('koffi');

interface Libc {
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): number;
  umount2(target: string, flags: number): number;
  malloc_trim(pad: number): number;
  strerror(errnum: number): string;
  errno(): number;
}

let loaded: Libc | undefined;

function libc(): Libc {
  if (loaded) return loaded;
  const koffi = createRequire(import.meta.url)('koffi') as Koffi;
  const lib = koffi.load('libc.so.6');
  loaded = {
    mount: lib.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)'),
    umount2: lib.func('int umount2(const char *target, int flags)'),
    malloc_trim: lib.func('int malloc_trim(size_t pad)'),
    strerror: lib.func('const char *strerror(int errnum)'),
    errno: () => koffi.errno(),
  };
  return loaded;
}

/** umount2(2) flags. */
export const MNT_DETACH = 0x2;

const ENOENT = 2;
const EINVAL = 22;

/** An errno as the error berth reports: what was tried, and the kernel's reason. */
function failure(what: string, errno: number): BerthError {
  const code = errno === ENOENT ? 'NOT_FOUND' : errno === EINVAL ? 'INVALID_ARGUMENT' : 'INTERNAL';
  const err = new BerthError(code, `${what}: ${libc().strerror(errno)}`);
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

/** The errno a failed mountSyscall/umountSyscall carried, if any. */
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
