/* Paths inside the container root. Every lookup goes through openat2(RESOLVE_IN_ROOT), so an
 * absolute symlink or ".." inside the rootfs can never reach the host (CVE-2018-15664 class). */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int openat2_in(int dirfd, const char *path, int flags, unsigned mode) {
  struct open_how how = {
    .flags = (uint64_t)(flags | O_CLOEXEC),
    .mode = (flags & O_CREAT) ? mode : 0,
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  int fd;
  do fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
  while (fd < 0 && errno == EAGAIN);
  return fd;
}

/* Opens `path` (relative or absolute, both taken inside the root). Before OP_SET_ROOT, and after a
 * pivot when no root fd is kept, the process root is the scope. */
int open_in_root(struct ctx *c, const char *path, int flags) {
  while (*path == '/') path++;
  if (*path == '\0') path = ".";
  if (c->root_fd < 0) {
    int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) return -1;
    int fd = openat2_in(root, path, flags, 0);
    int saved = errno;
    close(root);
    errno = saved;
    return fd;
  }
  return openat2_in(c->root_fd, path, flags, 0);
}

/* mkdir -p inside the root; when `last_is_file`, the last component is created as an empty file. */
int mkdir_in_root(struct ctx *c, const char *path, unsigned mode, int last_is_file) {
  char buf[4096];
  while (*path == '/') path++;
  size_t len = strlen(path);
  if (len == 0) return 0;
  if (len >= sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(buf, path, len + 1);
  while (len > 0 && buf[len - 1] == '/') buf[--len] = '\0';

  for (char *slash = buf;; slash++) {
    slash = strchr(slash, '/');
    int last = slash == NULL;
    if (!last) *slash = '\0';
    int fd = open_in_root(c, buf, O_PATH);
    if (fd >= 0) {
      close(fd);
    } else if (errno == ENOENT) {
      char *name = strrchr(buf, '/');
      int parent;
      if (name == NULL) {
        parent = c->root_fd >= 0 ? dup(c->root_fd) : open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        name = buf;
      } else {
        *name = '\0';
        parent = open_in_root(c, buf, O_PATH | O_DIRECTORY);
        *name++ = '/';
      }
      if (parent < 0) return -1;
      int rc;
      if (last && last_is_file) {
        rc = openat(parent, name, O_CREAT | O_EXCL | O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (rc >= 0) close(rc);
      } else {
        rc = mkdirat(parent, name, last ? mode : 0755);
      }
      int saved = errno;
      close(parent);
      if (rc < 0 && saved != EEXIST) {
        errno = saved;
        return -1;
      }
    } else {
      return -1;
    }
    if (last) return 0;
    *slash = '/';
  }
}
