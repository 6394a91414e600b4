/* Conversation with the runtime and the outside: hook points, in-container hooks, the console
 * socket, the ready report and the wait for `start` on the exec fifo. */
#include "init.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

int op_setsid(struct ctx *c, struct reader *r) {
  return setsid() < 0 ? fail(c, "setsid") : 0;
}

int op_sync_hooks(struct ctx *c, struct reader *r) {
  uint32_t point = rd_u32(r);
  if (r->bad) return 0;
  if (send_msg(c->sync_fd, MSG_HOOKS, &point, sizeof point) < 0) return fail(c, "ask the runtime to run hooks");
  uint32_t type, len;
  char *payload;
  if (recv_msg(c->sync_fd, &type, &payload, &len) < 0) return fail(c, "wait for the runtime's hooks");
  if (type != MSG_ACK) {
    errno = 0;
    fail(c, "%s", payload);
    free(payload);
    return -1;
  }
  free(c->state);
  c->state = payload;
  c->state_len = len;
  return 0;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs one hook with the container state on its stdin, as the spec asks. */
int op_run_hook(struct ctx *c, struct reader *r) {
  const char *path = rd_str(r);
  const char **args = rd_strv(r);
  const char **env = rd_strv(r);
  uint32_t timeout = rd_u32(r);
  if (r->bad || args == NULL) return 0;
  int in[2];
  if (pipe2(in, O_CLOEXEC) < 0) return fail(c, "hook %s: pipe", path);
  pid_t pid = fork();
  if (pid < 0) return fail(c, "hook %s: fork", path);
  if (pid == 0) {
    dup2(in[0], 0);
    signal(SIGPIPE, SIG_DFL);
    execve(path, (char *const *)args, (char *const *)env);
    _exit(127);
  }
  close(in[0]);
  if (c->state_len) write_all(in[1], c->state, c->state_len);
  close(in[1]);
  long long deadline = timeout ? now_ms() + (long long)timeout * 1000 : 0;
  int status;
  for (;;) {
    pid_t done = waitpid(pid, &status, deadline ? WNOHANG : 0);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return fail(c, "hook %s: wait", path);
    if (deadline && now_ms() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      errno = 0;
      return fail(c, "hook %s: timed out after %us", path, timeout);
    }
    if (deadline) usleep(5000);
  }
  errno = 0;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  if (WIFEXITED(status)) return fail(c, "hook %s: exit status %d", path, WEXITSTATUS(status));
  return fail(c, "hook %s: killed by signal %d", path, WTERMSIG(status));
}

int op_console_connect(struct ctx *c, struct reader *r) {
  const char *path = rd_str(r);
  if (r->bad) return 0;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int dir_fd = -1;
  if (strlen(path) < sizeof addr.sun_path) {
    strcpy(addr.sun_path, path);
  } else {
    /* Longer than sun_path (task directories nest 64-hex IDs): reach it through an fd of its
     * directory, /proc/self/fd/N/NAME. */
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    if (!slash || (size_t)(slash - path) >= sizeof dir) {
      errno = ENAMETOOLONG;
      return fail(c, "console socket %s", path);
    }
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    dir_fd = open(dir[0] ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) return fail(c, "console socket directory %s", dir);
    int n = snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dir_fd, slash + 1);
    if (n < 0 || (size_t)n >= sizeof addr.sun_path) {
      close(dir_fd);
      errno = ENAMETOOLONG;
      return fail(c, "console socket %s", path);
    }
  }
  c->console_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int ok = c->console_fd >= 0 && connect(c->console_fd, (struct sockaddr *)&addr, sizeof addr) == 0;
  if (dir_fd >= 0) close(dir_fd);
  if (!ok) return fail(c, "connect to console socket %s", path);
  return 0;
}

static int send_fd(int sock, int fd, const char *name) {
  char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  struct iovec iov = { .iov_base = (void *)name, .iov_len = strlen(name) };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fd, sizeof(int));
  return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/* Opens a pty in the container's devpts, sends the master to the console socket and makes the
 * slave the controlling terminal and stdio. */
int op_console_setup(struct ctx *c, struct reader *r) {
  uint32_t rows = rd_u32(r), cols = rd_u32(r), uid = rd_u32(r), gid = rd_u32(r);
  if (r->bad) return 0;
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return fail(c, "open /dev/ptmx");
  int unlock = 0, ptn = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &ptn) < 0) return fail(c, "unlock pty");
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (slave < 0) return fail(c, "open pty slave");
  if (fchown(slave, uid, gid) < 0) return fail(c, "chown pty slave");
  if (rows && cols) {
    struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
    ioctl(master, TIOCSWINSZ, &ws);
  }
  char name[64];
  snprintf(name, sizeof name, "/dev/pts/%d", ptn);
  if (send_fd(c->console_fd, master, name) < 0) return fail(c, "send pty master to the console socket");
  close(master);
  close(c->console_fd);
  c->console_fd = -1;
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave, fd) < 0) return fail(c, "dup pty slave to stdio");
  if (slave > 2) close(slave);
  return ioctl(0, TIOCSCTTY, 0) < 0 ? fail(c, "make the pty the controlling terminal") : 0;
}

/* Creates the exec fifo that holds the container until `start`, and keeps an O_PATH fd to it:
 * after the pivot the host path is out of reach. */
int op_open_fifo(struct ctx *c, struct reader *r) {
  const char *path = rd_str(r);
  if (r->bad) return 0;
  /* Writable by anyone (not the umask's choice): the process may be a non-root user by then. */
  if (mkfifo(path, 0622) < 0 && errno != EEXIST) return fail(c, "create exec fifo %s", path);
  if (chmod(path, 0622) < 0) return fail(c, "chmod exec fifo %s", path);
  c->fifo_fd = open(path, O_PATH | O_CLOEXEC);
  return c->fifo_fd < 0 ? fail(c, "open exec fifo %s", path) : 0;
}

int op_report_ready(struct ctx *c, struct reader *r) {
  return send_msg(c->sync_fd, MSG_READY, NULL, 0) < 0 ? fail(c, "report ready") : 0;
}

/* Blocks until `start` opens the fifo for reading. */
int op_wait_start(struct ctx *c, struct reader *r) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", c->fifo_fd);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fail(c, "open exec fifo for start");
  int rc = write_all(fd, "0", 1);
  close(fd);
  close(c->fifo_fd);
  c->fifo_fd = -1;
  return rc < 0 ? fail(c, "signal start on the exec fifo") : 0;
}
