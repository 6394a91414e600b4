/* Small helpers: error text, whole reads and writes, framed messages, the sealed re-exec. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

/* Records "<what>: <strerror(errno)>" (or just <what> when errno is 0) and returns -1. */
int fail(struct ctx *c, const char *fmt, ...) {
  int saved = errno;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(c->err, sizeof c->err, fmt, ap);
  va_end(ap);
  if (saved != 0 && n >= 0 && (size_t)n < sizeof c->err)
    snprintf(c->err + n, sizeof c->err - (size_t)n, ": %s", strerror(saved));
  errno = saved;
  return -1;
}

int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int read_all(int fd, void *buf, size_t len) {
  char *p = buf;
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) errno = EPIPE;
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int send_msg(int fd, uint32_t type, const void *payload, uint32_t len) {
  uint32_t head[2] = { type, len };
  if (write_all(fd, head, sizeof head) < 0) return -1;
  return len ? write_all(fd, payload, len) : 0;
}

/* Receives one message; the payload is heap-allocated and NUL-terminated. */
int recv_msg(int fd, uint32_t *type, char **payload, uint32_t *len) {
  uint32_t head[2];
  if (read_all(fd, head, sizeof head) < 0) return -1;
  if (head[1] > (64u << 20)) {
    errno = EMSGSIZE;
    return -1;
  }
  char *buf = malloc((size_t)head[1] + 1);
  if (buf == NULL) return -1;
  if (head[1] && read_all(fd, buf, head[1]) < 0) {
    free(buf);
    return -1;
  }
  buf[head[1]] = '\0';
  *type = head[0];
  *payload = buf;
  *len = head[1];
  return 0;
}

int write_file(const char *path, const char *content) {
  int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -1;
  int rc = write_all(fd, content, strlen(content));
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
}

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* Runs the init from a sealed, in-memory copy of itself. If we already are that copy, returns 0;
 * otherwise copies /proc/self/exe into a sealed memfd and execs it (returning only on error). */
int ensure_sealed(char **argv, char **envp) {
  int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (exe < 0) return -1;
  int seals = fcntl(exe, F_GET_SEALS);
  if (seals >= 0 && (seals & SEALS) == SEALS) {
    close(exe);
    return 0;
  }
  struct stat st;
  int mem = memfd_create("berth-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mem < 0 || fstat(exe, &st) < 0) return -1;
  for (off_t done = 0; done < st.st_size;) {
    ssize_t n = sendfile(mem, exe, NULL, (size_t)(st.st_size - done));
    if (n <= 0) return -1;
    done += n;
  }
  close(exe);
  if (fcntl(mem, F_ADD_SEALS, SEALS) < 0) return -1;
  fexecve(mem, argv, envp);
  return -1;
}
