/* The container's filesystem: mounts, device nodes, links, masked and read-only paths, and the
 * switch to the new root. Targets inside the rootfs are always resolved with open_in_root and
 * mounted through /proc/self/fd, never by joining strings on the host. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define FD_PATH_MAX 32

static const char *fd_path(char buf[FD_PATH_MAX], int fd) {
  snprintf(buf, FD_PATH_MAX, "/proc/self/fd/%d", fd);
  return buf;
}

static const char *or_null(const char *s) { return *s ? s : NULL; }

/* The mount flags a remount must keep: those locked on mounts that came from a more privileged
 * mount namespace (nosuid, nodev, noexec and the atime flags). */
static unsigned long locked_flags(const char *path) {
  struct statvfs st;
  if (statvfs(path, &st) < 0) return 0;
  unsigned long f = 0;
  if (st.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (st.f_flag & ST_NODEV) f |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (st.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (st.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (st.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

static int do_mount(const char *src, const char *tgt, const char *type, unsigned long flags, const char *data) {
  if (mount(src, tgt, type, flags, data) == 0) return 0;
  if (errno != EPERM || !(flags & MS_REMOUNT)) return -1;
  return mount(src, tgt, type, flags | locked_flags(tgt), data);
}

int op_mount(struct ctx *c, struct reader *r) {
  const char *source = rd_str(r);
  const char *target = rd_str(r);
  const char *fstype = rd_str(r);
  unsigned long flags = (unsigned long)rd_u64(r);
  const char *data = rd_str(r);
  uint32_t how = rd_u32(r);
  if (r->bad) return 0;

  char tbuf[FD_PATH_MAX], sbuf[FD_PATH_MAX];
  const char *tpath = target, *spath = or_null(source);
  int tfd = -1, sfd = -1, rc = -1;
  if (how & MOUNT_TARGET_IN_ROOT) {
    if ((how & (MOUNT_MKDIR | MOUNT_MKFILE)) && mkdir_in_root(c, target, 0755, !!(how & MOUNT_MKFILE)) < 0)
      return fail(c, "create mount point %s", target);
    tfd = open_in_root(c, target, O_PATH);
    if (tfd < 0) return fail(c, "open mount point %s in the rootfs", target);
    tpath = fd_path(tbuf, tfd);
  }
  if (how & MOUNT_SOURCE_FD) {
    sfd = open(source, O_PATH | O_CLOEXEC);
    if (sfd < 0) {
      fail(c, "open mount source %s", source);
      goto out;
    }
    spath = fd_path(sbuf, sfd);
  }
  rc = do_mount(spath, tpath, or_null(fstype), flags, or_null(data));
  if (rc < 0) fail(c, "mount %s on %s (type %s, flags 0x%lx)", *source ? source : "none", target, *fstype ? fstype : "none", flags);
out:
  if (tfd >= 0) close(tfd);
  if (sfd >= 0) close(sfd);
  return rc;
}

int op_set_root(struct ctx *c, struct reader *r) {
  const char *path = rd_str(r);
  if (c->root_fd >= 0) close(c->root_fd);
  c->root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  return c->root_fd < 0 ? fail(c, "open rootfs %s", path) : 0;
}

/* Creates the parent directories of `path` inside the root and opens the parent; `*name` is set to
 * the last component (inside `buf`). */
static int open_parent(struct ctx *c, const char *path, char *buf, size_t size, const char **name) {
  if ((size_t)snprintf(buf, size, "%s", path) >= size) {
    errno = ENAMETOOLONG;
    return -1;
  }
  char *slash = strrchr(buf, '/');
  if (slash == NULL) {
    *name = buf;
    return open_in_root(c, "/", O_PATH | O_DIRECTORY);
  }
  *slash = '\0';
  *name = slash + 1;
  if (mkdir_in_root(c, buf, 0755, 0) < 0) return -1;
  return open_in_root(c, buf, O_PATH | O_DIRECTORY);
}

int op_mknod(struct ctx *c, struct reader *r) {
  const char *path = rd_str(r);
  uint32_t mode = rd_u32(r), major = rd_u32(r), minor = rd_u32(r), uid = rd_u32(r), gid = rd_u32(r);
  if (r->bad) return 0;
  char buf[4096];
  const char *name;
  int dir = open_parent(c, path, buf, sizeof buf, &name);
  if (dir < 0) return fail(c, "open parent of device %s", path);
  int rc = mknodat(dir, name, mode, makedev(major, minor));
  if (rc < 0 && errno == EEXIST) rc = 0;
  else if (rc == 0)
    rc = fchmodat(dir, name, mode & 07777, 0) < 0 || fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ? -1 : 0;
  if (rc < 0) fail(c, "create device %s", path);
  close(dir);
  return rc;
}

int op_symlink(struct ctx *c, struct reader *r) {
  const char *target = rd_str(r);
  const char *path = rd_str(r);
  if (r->bad) return 0;
  char buf[4096];
  const char *name;
  int dir = open_parent(c, path, buf, sizeof buf, &name);
  if (dir < 0) return fail(c, "open parent of symlink %s", path);
  int rc = symlinkat(target, dir, name);
  if (rc < 0 && errno == EEXIST) rc = 0;
  if (rc < 0) fail(c, "symlink %s -> %s", path, target);
  close(dir);
  return rc;
}

int op_mkdir(struct ctx *c, struct reader *r) {
  const char *path = rd_str(r);
  uint32_t mode = rd_u32(r);
  if (r->bad) return 0;
  return mkdir_in_root(c, path, mode, 0) < 0 ? fail(c, "mkdir %s", path) : 0;
}

int op_pivot_root(struct ctx *c, struct reader *r) {
  /* The old root, to come back to: after pivot_root(".", ".") the working directory is still the
     new root, and a shared new root must not be made a slave (its mounts would stop propagating
     back to the host, as a bidirectional volume needs). */
  int old_root = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (old_root < 0) return fail(c, "open old root");
  if (fchdir(c->root_fd) < 0) { close(old_root); return fail(c, "chdir to rootfs"); }
  /* pivot_root(".", ".") stacks the old root on the new one; detach it right away, as a slave so
     that the detach does not propagate to the host. */
  if (syscall(SYS_pivot_root, ".", ".") < 0) { close(old_root); return fail(c, "pivot_root"); }
  int rc = fchdir(old_root);
  close(old_root);
  if (rc < 0) return fail(c, "chdir to old root");
  if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) return fail(c, "make old root a slave");
  if (umount2(".", MNT_DETACH) < 0) return fail(c, "detach old root");
  if (chdir("/") < 0) return fail(c, "chdir /");
  return 0;
}

int op_move_root(struct ctx *c, struct reader *r) {
  if (fchdir(c->root_fd) < 0) return fail(c, "chdir to rootfs");
  if (mount(".", "/", NULL, MS_MOVE, NULL) < 0) return fail(c, "move rootfs to /");
  if (chroot(".") < 0) return fail(c, "chroot");
  if (chdir("/") < 0) return fail(c, "chdir /");
  return 0;
}

int op_mask(struct ctx *c, struct reader *r) {
  const char *path = rd_str(r);
  if (r->bad) return 0;
  int fd = open_in_root(c, path, O_PATH);
  if (fd < 0) return errno == ENOENT ? 0 : fail(c, "open masked path %s", path);
  struct stat st;
  char buf[FD_PATH_MAX];
  int rc = fstat(fd, &st);
  if (rc == 0 && S_ISDIR(st.st_mode))
    rc = mount("tmpfs", fd_path(buf, fd), "tmpfs", MS_RDONLY, "size=0k");
  else if (rc == 0)
    rc = mount("/dev/null", fd_path(buf, fd), NULL, MS_BIND, NULL);
  if (rc < 0) fail(c, "mask %s", path);
  close(fd);
  return rc;
}

int op_readonly(struct ctx *c, struct reader *r) {
  const char *path = rd_str(r);
  if (r->bad) return 0;
  char buf[FD_PATH_MAX];
  int fd = open_in_root(c, path, O_PATH);
  if (fd < 0) return errno == ENOENT ? 0 : fail(c, "open read-only path %s", path);
  int rc = mount(fd_path(buf, fd), buf, NULL, MS_BIND | MS_REC, NULL);
  close(fd);
  if (rc < 0) return fail(c, "bind read-only path %s", path);
  /* Reopen: the old fd points below the new bind mount. */
  fd = open_in_root(c, path, O_PATH);
  if (fd < 0) return fail(c, "reopen read-only path %s", path);
  fd_path(buf, fd);
  rc = mount(NULL, buf, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | locked_flags(buf), NULL);
  if (rc < 0) fail(c, "remount %s read-only", path);
  close(fd);
  return rc;
}
