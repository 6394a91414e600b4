/* recvtty: a console-socket receiver for tests and manual use (runc's recvtty role).
 * `recvtty <socket-path>` listens, accepts one connection, receives the pty master sent by the
 * container init, and copies stdin -> pty and pty -> stdout until the pty closes. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int recv_fd(int sock) {
  char name[256], cbuf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = { .iov_base = name, .iov_len = sizeof name };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
  if (recvmsg(sock, &msg, 0) < 0) return -1;
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  if (cm == NULL || cm->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  return fd;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: recvtty <socket-path>\n");
    return 2;
  }
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", argv[1]);
  int ls = socket(AF_UNIX, SOCK_STREAM, 0);
  unlink(argv[1]);
  if (ls < 0 || bind(ls, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(ls, 1) < 0) {
    perror("recvtty: listen");
    return 1;
  }
  fprintf(stderr, "recvtty: listening\n");
  int conn = accept(ls, NULL, NULL);
  int pty = conn < 0 ? -1 : recv_fd(conn);
  if (pty < 0) {
    perror("recvtty: receive pty");
    return 1;
  }
  close(conn);
  close(ls);
  unlink(argv[1]);
  struct pollfd fds[2] = { { .fd = 0, .events = POLLIN }, { .fd = pty, .events = POLLIN } };
  char buf[4096];
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(pty, buf, sizeof buf);
      if (n <= 0) return 0;
      if (write(1, buf, (size_t)n) < 0) return 1;
    }
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      ssize_t n = read(0, buf, sizeof buf);
      if (n <= 0) fds[0].fd = -1;
      else if (write(pty, buf, (size_t)n) < 0) return 1;
    }
  }
}
