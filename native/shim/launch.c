/* The launch phase: run the launcher (berth-init with a plan, or `runc create` / `runc exec
 * --detach`), hold back what it prints, and once it has exited tell the first stage either
 * "ok SHIMPID PID" or "error TEXT" (TEXT: the launcher's own words). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Writes "error TEXT" to the first stage and ends the shim: there is no container to keep. */
void report_failure(struct shim *s, const char *fmt, ...) {
  char text[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  dprintf(s->report_fd, "error %s\n", text);
  unlink("shim.sock");
  unlink("console.sock");
  _exit(1);
}

/* The child side of the fork: stdio from the shim's pipes, the passed fds at their numbers, the
 * signal state a fresh process expects, then exec. */
static void exec_launcher(struct shim *s, int in, int out, int err) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(127);
  syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
  for (int i = 0; i < s->n_pass; i++) fcntl(s->pass_fds[i], F_SETFD, 0);
  execvp(s->launcher_argv[0], s->launcher_argv);
  dprintf(2, "berth-shim: cannot run %s: %s\n", s->launcher_argv[0], strerror(errno));
  _exit(127);
}

int launch_start(struct shim *s, char *err, size_t errlen) {
  int outp[2], errp[2], inp[2] = { -1, -1 };
  if (s->hold_ms > 0) s->hold_until_ms = now_ms() + s->hold_ms;
  if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
    snprintf(err, errlen, "pipe: %s", strerror(errno));
    return -1;
  }
  if (s->want_stdin && !s->terminal && pipe2(inp, O_CLOEXEC) < 0) {
    snprintf(err, errlen, "pipe: %s", strerror(errno));
    return -1;
  }
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (s->terminal && (s->console_listen = listen_unix("console.sock")) < 0) {
    snprintf(err, errlen, "console socket %s/console.sock: %s", s->dir, strerror(errno));
    return -1;
  }
  s->launcher_pid = fork();
  if (s->launcher_pid < 0) {
    snprintf(err, errlen, "fork: %s", strerror(errno));
    return -1;
  }
  if (s->launcher_pid == 0) exec_launcher(s, inp[0] >= 0 ? inp[0] : devnull, outp[1], errp[1]);

  /* Only the launcher may hold the passed fds (the init's sync socket): its peer waits for them
   * to close. */
  for (int i = 0; i < s->n_pass; i++) close(s->pass_fds[i]);
  close(outp[1]);
  close(errp[1]);
  close(devnull);
  if (inp[0] >= 0) {
    close(inp[0]);
    s->stdin_fd = inp[1];
    set_nonblock_cloexec(s->stdin_fd);
  }
  s->out[0] = (struct stream){ .fd = outp[0], .id = STREAM_STDOUT };
  s->out[1] = (struct stream){ .fd = errp[0], .id = STREAM_STDERR };
  set_nonblock_cloexec(outp[0]);
  set_nonblock_cloexec(errp[0]);
  return 0;
}

/* Takes the pty master the runtime sends to console.sock. */
void accept_console(struct shim *s) {
  int conn = accept4(s->console_listen, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0) return;
  int pty = recv_fd(conn);
  close(conn);
  if (pty < 0) return;
  set_nonblock_cloexec(pty);
  s->out[2] = (struct stream){ .fd = pty, .id = STREAM_STDOUT };
  close(s->console_listen);
  s->console_listen = -1;
  unlink("console.sock");
}

static pid_t read_pid_file(const char *path) {
  char text[32] = "";
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return -1;
  char *end;
  long pid = strtol(text, &end, 10);
  return pid > 0 && (*end == '\0' || *end == '\n') ? (pid_t)pid : -1;
}

/* The launcher's output as one line of text for the error report. */
static void launcher_words(struct shim *s, char *dst, size_t size) {
  size_t o = 0;
  for (int i = 1; i >= 0; i--) { /* stderr first: that is where runtimes explain themselves */
    struct buf *b = &s->out[i].held;
    for (size_t j = 0; j < b->len && o + 1 < size; j++) {
      char c = b->data[j];
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
      if (c == ' ' && (o == 0 || dst[o - 1] == ' ')) continue;
      dst[o++] = c;
    }
  }
  while (o > 0 && dst[o - 1] == ' ') o--;
  dst[o] = '\0';
}

/* Called once the launcher has exited: reports, then the held-back output goes out. */
void launch_finish(struct shim *s) {
  for (int i = 0; i < 3; i++) output_readable(s, &s->out[i]); /* what it wrote before exiting */
  if (s->launcher_status != 0) {
    char words[3000];
    launcher_words(s, words, sizeof words);
    if (words[0] == '\0') snprintf(words, sizeof words, "%s exited with status %d", s->launcher_argv[0], exit_code_of(s->launcher_status));
    report_failure(s, "%s", words);
  }
  s->pid = read_pid_file(s->pid_file);
  if (s->pid <= 0) report_failure(s, "%s did not write the pid file %s", s->launcher_argv[0], s->pid_file);
  if (s->terminal) {
    if (s->out[2].fd < 0) accept_console(s); /* sent before the launcher exited, still queued */
    if (s->out[2].fd < 0) report_failure(s, "%s did not send a pty master to the console socket", s->launcher_argv[0]);
    s->stdin_fd = s->want_stdin ? s->out[2].fd : -1;
    /* The pty carries the container's output; the pipes only ever carried the launcher's. */
    s->out[0].held.len = 0;
    s->out[1].held.len = 0;
  }
  if (s->oom_file) s->oom_base = read_oom_count(s->oom_file);
  dprintf(s->report_fd, "ok %d %d\n", (int)getpid(), (int)s->pid);
  close(s->report_fd);
  s->report_fd = -1;
  s->phase = PHASE_RUNNING;
  if (!output_holding(s)) output_release_held(s);
  for (int i = 0; i < s->n_reaped; i++)
    if (s->reaped[i].pid == s->pid) container_exited(s, s->reaped[i].status);
  s->n_reaped = 0;
  /* The process may have ended since the last reaping (this waitpid then reaps it: keep its
   * status); a launcher that reaped it itself has taken the status with it: report it as lost
   * (255) rather than wait for an exit the shim will never see. */
  if (!s->exited) {
    int status;
    pid_t r = waitpid(s->pid, &status, WNOHANG);
    if (r == s->pid) container_exited(s, status);
    else if (r < 0 && errno == ECHILD) container_exited(s, 255 << 8);
  }
}
