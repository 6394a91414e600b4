/* The process's own settings: names, files under /proc, limits, working directory, and exec. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

int op_sethostname(struct ctx *c, struct reader *r) {
  const char *name = rd_str(r);
  return sethostname(name, strlen(name)) < 0 ? fail(c, "sethostname %s", name) : 0;
}

int op_setdomainname(struct ctx *c, struct reader *r) {
  const char *name = rd_str(r);
  return setdomainname(name, strlen(name)) < 0 ? fail(c, "setdomainname %s", name) : 0;
}

int op_write_file(struct ctx *c, struct reader *r) {
  const char *path = rd_str(r);
  const char *content = rd_str(r);
  uint32_t flags = rd_u32(r);
  if (r->bad) return 0;
  if (write_file(path, content) == 0) return 0;
  if (errno == ENOENT && (flags & WRITE_IGNORE_ENOENT)) return 0;
  return fail(c, "write %s", path);
}

int op_rlimit(struct ctx *c, struct reader *r) {
  uint32_t resource = rd_u32(r);
  struct rlimit rl = { .rlim_cur = rd_u64(r), .rlim_max = rd_u64(r) };
  if (r->bad) return 0;
  return prlimit(0, resource, &rl, NULL) < 0 ? fail(c, "setrlimit %u", resource) : 0;
}

int op_umask(struct ctx *c, struct reader *r) {
  umask((mode_t)rd_u32(r));
  return 0;
}

/* chdir, then make sure the result is inside the container's root: a leaked host directory fd as
 * cwd shows up as "(unreachable)/..." (CVE-2024-21626). */
int op_chdir(struct ctx *c, struct reader *r) {
  const char *path = rd_str(r);
  if (r->bad) return 0;
  if (chdir(path) < 0) return fail(c, "chdir to cwd %s", path);
  char buf[PATH_MAX];
  if (getcwd(buf, sizeof buf) == NULL || buf[0] != '/') {
    errno = 0;
    return fail(c, "cwd %s is outside the container root", path);
  }
  return 0;
}

static int is_executable(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Finds argv[0] the way execvp would, with the container's PATH, so a missing binary is an error
 * at create time rather than after start. */
int op_resolve_exec(struct ctx *c, struct reader *r) {
  const char *path_env = rd_str(r);
  const char *file = rd_str(r);
  if (r->bad) return 0;
  errno = 0;
  if (strchr(file, '/') != NULL) {
    if (!is_executable(file)) {
      if (errno == 0) errno = EACCES; /* exists but is not a regular file */
      return fail(c, "exec: \"%s\"", file);
    }
    snprintf(c->exec_path, sizeof c->exec_path, "%s", file);
    return 0;
  }
  for (const char *dir = path_env; *dir;) {
    const char *end = strchrnul(dir, ':');
    int n = snprintf(c->exec_path, sizeof c->exec_path, "%.*s/%s", (int)(end - dir), end == dir ? "." : dir, file);
    if (n > 0 && (size_t)n < sizeof c->exec_path && is_executable(c->exec_path)) return 0;
    dir = *end ? end + 1 : end;
  }
  c->exec_path[0] = '\0';
  errno = 0;
  return fail(c, "exec: \"%s\": executable file not found in $PATH", file);
}

int op_exec(struct ctx *c, struct reader *r) {
  const char **argv = rd_strv(r);
  const char **envp = rd_strv(r);
  uint32_t preserve = rd_u32(r);
  if (r->bad || argv == NULL || argv[0] == NULL) return fail(c, "exec: no process args");
  if (c->exec_path[0] == '\0') return fail(c, "exec: %s was not resolved", argv[0]);

  /* Nothing but stdio and the preserved fds may cross into the container's process. */
  for (uint32_t fd = 3; fd < 3 + preserve; fd++) fcntl((int)fd, F_SETFD, 0);
  if (syscall(SYS_close_range, 3 + preserve, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    return fail(c, "mark inherited fds close-on-exec");
  signal(SIGPIPE, SIG_DFL);
  execve(c->exec_path, (char *const *)argv, (char *const *)envp);
  return fail(c, "exec: \"%s\"", argv[0]);
}
