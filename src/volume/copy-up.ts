// Copy-up: a new, empty volume mounted over a directory the image has gets that directory's
// content first, as Docker does (container.CopyImagePathContent): files, directories, symlinks,
// hard links, FIFOs and device nodes, with owners, modes and times; the volume's root takes the
// directory's owner, mode and times. Extended attributes are not copied (Node has no call for them).
//
// The source is the container's rootfs, which the image controls: it is walked with lstat and
// never followed through a symlink. The destination is created entry by entry with exclusive
// creates (COPYFILE_EXCL, mkdir, symlink fail on anything already there).
import { chmodSync, chownSync, constants, copyFileSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, utimesSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { mknodSyscall } from '../sys/libc.js';

const major = (dev: number): number => Number(((BigInt(dev) >> 8n) & 0xfffn) | ((BigInt(dev) >> 32n) & ~0xfffn));
const minor = (dev: number): number => Number((BigInt(dev) & 0xffn) | ((BigInt(dev) >> 12n) & ~0xffn));

function setMeta(path: string, st: Stats, link = false): void {
  if (link) {
    lchownSync(path, st.uid, st.gid);
    lutimesSync(path, st.atime, st.mtime);
    return;
  }
  chownSync(path, st.uid, st.gid); // before chmod: chown clears set-user-ID bits
  chmodSync(path, st.mode & 0o7777);
  utimesSync(path, st.atime, st.mtime);
}

/** The same kind of node with the same numbers; setMeta gives it the source's mode and owner next. */
function mknod(path: string, st: Stats): void {
  mknodSyscall(path, (st.mode & constants.S_IFMT) | 0o600, major(st.rdev), minor(st.rdev), `copy-up ${path}`);
}

/** Copies the content of directory `src` into the empty directory `dst`, then `src`'s metadata onto `dst`. */
export function copyTree(src: string, dst: string): void {
  const links = new Map<string, string>(); // dev:ino of a multiply linked file → its first copy
  const copyDir = (from: string, to: string): void => {
    for (const name of readdirSync(from)) {
      const s = join(from, name);
      const d = join(to, name);
      const st = lstatSync(s);
      if (st.isDirectory()) {
        mkdirSync(d, 0o700);
        copyDir(s, d);
        setMeta(d, st);
        continue;
      }
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? links.get(key) : undefined;
      if (first !== undefined) {
        linkSync(first, d);
        continue;
      }
      if (st.isSymbolicLink()) {
        symlinkSync(readlinkSync(s), d);
        setMeta(d, st, true);
        continue;
      }
      if (st.isFile()) copyFileSync(s, d, constants.COPYFILE_EXCL);
      else if (st.isFIFO() || st.isCharacterDevice() || st.isBlockDevice()) mknod(d, st);
      else continue; // a socket means nothing in a copy
      setMeta(d, st);
      if (st.nlink > 1) links.set(key, d);
    }
  };
  const root = lstatSync(src);
  copyDir(src, dst);
  setMeta(dst, root);
}
