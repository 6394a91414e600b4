// Reading a file of the container's root filesystem from the host without ever leaving it: an
// image controls every path in its rootfs, and /etc/passwd -> /etc/shadow (or ../../../etc/shadow)
// must read the container's shadow, not the host's. Symlinks are resolved chroot-style (an
// absolute target or ".." stops at the rootfs), the last component is opened with O_NOFOLLOW,
// and the opened file's real path is checked to be under the rootfs, which also catches a
// directory swapped for a symlink between the resolution and the open.
import { closeSync, constants, fstatSync, mkdirSync, openSync, readlinkSync, readSync, realpathSync } from 'node:fs';
import { errnoOf, invalid } from '../common/errors.js';
import { cleanEntryPath, resolveDir } from './secure-path.js';
import { isPathUnder } from '../common/paths.js';

/** Files bigger than this are not what a passwd or group file should be. */
const MAX_SIZE = 16 * 1024 * 1024;


/**
 * The content of `path` (absolute, as the container sees it) in `rootfs`, or undefined when it
 * does not exist there. Anything but a regular file inside the rootfs is an error.
 */
export function readRootfsFile(rootfs: string, path: string): string | undefined {
  const root = realpathSync(rootfs);
  const parts = cleanEntryPath(path);
  if (parts.length === 0) throw invalid(`${path}: not a file`);
  // Every component, the last one included, resolved inside the root.
  const hostPath = resolveDir(root, parts);

  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted at /etc/passwd must not hang the daemon.
    fd = openSync(hostPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (code === 'ELOOP') throw invalid(`${path} in the container: too many levels of symbolic links`);
    throw invalid(`${path} in the container: ${(err as Error).message}`);
  }
  try {
    const real = readlinkSync(`/proc/self/fd/${fd}`);
    if (!isPathUnder(real, root)) throw invalid(`${path} in the container resolves outside the container's root filesystem`);
    const st = fstatSync(fd);
    if (!st.isFile()) throw invalid(`${path} in the container is not a regular file`);
    if (st.size > MAX_SIZE) throw invalid(`${path} in the container is larger than ${MAX_SIZE} bytes`);
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates the working directory in the rootfs when the image lacks it, as Docker does before
 * it starts a container (owned by root, mode 0755), resolving it chroot-style so a symlink in
 * the image cannot make the daemon create directories on the host. An existing non-directory is
 * an error. For the container service to call before starting.
 */
export function ensureWorkingDir(rootfs: string, workingDir: string): void {
  const root = realpathSync(rootfs);
  const host = resolveDir(root, cleanEntryPath(workingDir));
  if (!isPathUnder(host, root)) throw invalid(`Config.WorkingDir: ${workingDir} resolves outside the container`);
  try {
    mkdirSync(host, { recursive: true, mode: 0o755 });
  } catch (err) {
    if (errnoOf(err) === 'EEXIST' || errnoOf(err) === 'ENOTDIR') throw invalid(`Config.WorkingDir: cannot mkdir: ${workingDir} is not a directory`);
    throw err;
  }
  const real = realpathSync(host);
  if (!isPathUnder(real, root)) throw invalid(`Config.WorkingDir: ${workingDir} resolves outside the container`);
}
