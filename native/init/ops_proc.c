/* The process's own settings: names, files under /proc, limits, working directory, and exec. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The home field of the /etc/passwd line for `uid`, copied into `out`; 0 when the line is not it. */
static int home_of_line(char *line, uint32_t uid, char *out, size_t size) {
  char *field[7] = { 0 };
  int n = 0;
  for (char *p = line; n < 7; n++) {
    field[n] = p;
    p = strchr(p, ':');
    if (p == NULL) { n++; break; }
    *p++ = '\0';
  }
  if (n < 6 || field[2][0] == '\0') return 0;
  char *end;
  errno = 0;
  unsigned long id = strtoul(field[2], &end, 10);
  if (errno != 0 || *end != '\0' || id != uid) return 0;
  snprintf(out, size, "%s", field[5]);
  return 1;
}

/* HOME for a process whose environment has none, as runc sets it: the home directory of the
 * first /etc/passwd entry with the process's uid, else "/". Read inside the container's root, so
 * its links resolve there; a FIFO or device in place of the file is not waited on. */
int op_home_from_passwd(struct ctx *c, struct reader *r) {
  uint32_t uid = rd_u32(r);
  if (r->bad) return 0;
  snprintf(c->home, sizeof c->home, "/");
  int fd = open("/etc/passwd", O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return 0;
  /* Only the first megabyte: a passwd file is never bigger, and a hostile one is not read on. */
  enum { MAX_PASSWD = 1 << 20 };
  struct stat st;
  char *text = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? malloc(MAX_PASSWD + 1) : NULL;
  size_t len = 0;
  ssize_t n = 0;
  while (text != NULL && len < MAX_PASSWD && (n = read(fd, text + len, MAX_PASSWD - len)) > 0) len += (size_t)n;
  close(fd);
  if (text == NULL) return 0;
  text[len] = '\0';
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
    if (home_of_line(line, uid, c->home, sizeof c->home)) {
      if (c->home[0] == '\0') snprintf(c->home, sizeof c->home, "/");
      break;
    }
  }
  free(text);
  return 0;
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
  if (c->home[0] != '\0') {
    /* OP_HOME_FROM_PASSWD ran: the environment had no HOME. */
    size_t n = 0;
    while (envp != NULL && envp[n] != NULL) n++;
    const char **with_home = calloc(n + 2, sizeof *with_home);
    static char home_var[sizeof c->home + 5];
    if (with_home == NULL) return fail(c, "exec: out of memory");
    snprintf(home_var, sizeof home_var, "HOME=%s", c->home);
    for (size_t i = 0; i < n; i++) with_home[i] = envp[i];
    with_home[n] = home_var;
    envp = with_home;
  }
  execve(c->exec_path, (char *const *)argv, (char *const *)envp);
  return fail(c, "exec: \"%s\"", argv[0]);
}
