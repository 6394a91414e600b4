/* Small helpers: byte buffers, clocks, time stamps, unix sockets. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim.h"

void buf_append(struct buf *b, const void *data, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL) abort(); /* out of memory: nothing sensible is left to do */
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, data, n);
  b->len += n;
}

void buf_consume(struct buf *b, size_t n) {
  memmove(b->data, b->data + n, b->len - n);
  b->len -= n;
  /* Give back memory a burst of output took, so an idle shim stays small. */
  if (b->len == 0 && b->cap > 65536) buf_free(b);
}

void buf_free(struct buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int set_nonblock_cloexec(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -1;
  return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* RFC 3339 in UTC with nanoseconds; with trim_zeros, as Go's RFC3339Nano prints it (Docker's
 * json-file time): trailing zeros of the fraction dropped, and the dot too when nothing is left. */
void format_rfc3339(char *dst, size_t size, const struct timespec *ts, int trim_zeros) {
  struct tm tm;
  gmtime_r(&ts->tv_sec, &tm);
  char date[32], frac[16];
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(frac, sizeof frac, ".%09ld", ts->tv_nsec);
  if (trim_zeros) {
    size_t n = strlen(frac);
    while (n > 1 && frac[n - 1] == '0') frac[--n] = '\0';
    if (n == 1) frac[0] = '\0';
  }
  snprintf(dst, size, "%s%sZ", date, frac);
}

/* The exit code a shell would report: the status, or 128 + the signal that killed it. */
int exit_code_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

/* Listens on a unix socket at `path` (relative to the shim's directory, its working directory). */
int listen_unix(const char *path) {
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen(path) >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  strcpy(addr.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  unlink(path);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 64) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

/* Receives one fd sent with SCM_RIGHTS (the pty master from a console socket). */
int recv_fd(int sock) {
  char name[256], cbuf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = { .iov_base = name, .iov_len = sizeof name };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
  if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) < 0) return -1;
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  if (cm == NULL || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
    errno = EPROTO;
    return -1;
  }
  int fd;
  memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  return fd;
}
