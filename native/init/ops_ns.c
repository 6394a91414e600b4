/* Namespaces and cgroups: joining existing ones, and forking the container process into new ones. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int op_setns(struct ctx *c, struct reader *r) {
  uint32_t type = rd_u32(r);
  const char *path = rd_str(r);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(c, "open namespace %s", path);
  int rc = setns(fd, (int)type);
  close(fd);
  return rc < 0 ? fail(c, "setns %s", path) : 0;
}

int op_join_cgroup(struct ctx *c, struct reader *r) {
  const char *procs = rd_str(r);
  char pid[32];
  snprintf(pid, sizeof pid, "%d", getpid());
  return write_file(procs, pid) < 0 ? fail(c, "join cgroup %s", procs) : 0;
}

static int write_proc(struct ctx *c, pid_t pid, const char *name, const char *content) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", pid, name);
  return write_file(path, content) < 0 ? fail(c, "write %s", path) : 0;
}

/* The pid file's directory is a host path: it is opened before stage 0 joins a mount namespace
 * (exec joins the container's), and the file is then written relative to it. */
int op_open_pid_dir(struct ctx *c, struct reader *r) {
  const char *dir = rd_str(r);
  if (r->bad) return 0;
  c->pid_dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  return c->pid_dir_fd < 0 ? fail(c, "open pid file directory %s", dir) : 0;
}

/* The pid file appears whole or not at all (temp file + rename): a shim or runc caller reads it as
 * soon as stage 0 has exited. `name` is relative to the directory OP_OPEN_PID_DIR opened. */
static int write_pid_file(struct ctx *c, const char *name, pid_t pid) {
  char tmp[4096], text[32];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", name) >= sizeof tmp) {
    errno = ENAMETOOLONG;
    return fail(c, "pid file %s", name);
  }
  int dir = c->pid_dir_fd >= 0 ? c->pid_dir_fd : AT_FDCWD;
  int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail(c, "create pid file %s", tmp);
  int n = snprintf(text, sizeof text, "%d", pid);
  int rc = write_all(fd, text, (size_t)n);
  close(fd);
  if (rc < 0 || renameat(dir, tmp, dir, name) < 0) return fail(c, "write pid file %s", name);
  return 0;
}

/* Stage 0 waits for the container and exits with its status, so `run` in the foreground can
 * report the exit code the way runc does. Signals are forwarded by the runtime, not here. */
static void wait_and_exit(pid_t pid) {
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) _exit(255);
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

/* Forks the container process with `flags` (new namespaces). The parent writes the id maps, reports
 * the child's pid and then exits (mode 0) or waits for it (mode 1); the child returns 0 and goes on
 * with the rest of the plan once the parent is done with it. */
int op_clone(struct ctx *c, struct reader *r) {
  uint64_t flags = rd_u64(r);
  uint32_t mode = rd_u32(r);
  const char *uid_map = rd_str(r);
  const char *gid_map = rd_str(r);
  const char *setgroups = rd_str(r);
  const char *pid_file = rd_str(r);
  if (r->bad) return 0;

  /* CLONE_NEWTIME shares its bit with the exit signal in clone(2): only unshare can ask for it,
   * and it takes effect for the children we create next. */
  if (flags & CLONE_NEWTIME) {
    if (unshare(CLONE_NEWTIME) < 0) return fail(c, "unshare time namespace");
    flags &= ~(uint64_t)CLONE_NEWTIME;
  }
  int go[2];
  if (pipe2(go, O_CLOEXEC) < 0) return fail(c, "pipe");
  pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid < 0) return fail(c, "clone into new namespaces (flags 0x%llx)", (unsigned long long)flags);

  if (pid == 0) {
    char byte;
    close(go[1]);
    if (read(go[0], &byte, 1) != 1) _exit(1); /* the parent failed and reported it */
    close(go[0]);
    return 0;
  }

  close(go[0]);
  int rc = 0;
  if (*setgroups) rc = write_proc(c, pid, "setgroups", setgroups);
  if (rc == 0 && *uid_map) rc = write_proc(c, pid, "uid_map", uid_map);
  if (rc == 0 && *gid_map) rc = write_proc(c, pid, "gid_map", gid_map);
  if (rc == 0 && *pid_file) rc = write_pid_file(c, pid_file, pid);
  uint32_t pid32 = (uint32_t)pid;
  if (rc == 0 && send_msg(c->sync_fd, MSG_PID, &pid32, sizeof pid32) < 0) rc = fail(c, "report pid");
  if (rc < 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
  }
  if (write(go[1], "", 1) != 1) return fail(c, "release the container process");
  close(go[1]);
  close(c->sync_fd); /* the child owns the conversation and the console from here */
  if (c->console_fd >= 0) close(c->console_fd);
  if (mode == 1) wait_and_exit(pid);
  _exit(0);
}

int op_become_root(struct ctx *c, struct reader *r) {
  if (setresgid(0, 0, 0) < 0) return fail(c, "setresgid(0) in the new user namespace");
  if (setresuid(0, 0, 0) < 0) return fail(c, "setresuid(0) in the new user namespace");
  return 0;
}
