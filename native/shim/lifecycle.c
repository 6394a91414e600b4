/* The process's end: reaping (the shim is a child subreaper, so the container and whatever it
 * leaves behind are its children), OOM detection, and the exit file written before anyone is
 * told, so a supervisor that was away reads the same answer a waiter got. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim.h"

/* The "oom_kill N" counter of memory.oom_control (v1) or memory.events (v2); -1 if unknown. */
long long read_oom_count(const char *file) {
  char text[1024];
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return -1;
  text[n] = '\0';
  for (char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
    long long v;
    if (strncmp(line, "oom_kill ", 9) == 0 && sscanf(line + 9, "%lld", &v) == 1) return v;
  }
  return -1;
}

void container_exited(struct shim *s, int wait_status) {
  if (s->exited) return;
  s->exited = 1;
  s->exit_status = exit_code_of(wait_status);
  clock_gettime(CLOCK_REALTIME, &s->exited_at);
  if (s->oom_file && s->oom_base >= 0) s->oom_killed = read_oom_count(s->oom_file) > s->oom_base;
  s->phase = PHASE_DRAINING;
  s->deadline_ms = now_ms() + DRAIN_MS;
  s->stdin_pending.len = 0;
  stdin_close(s);
}

void reap_children(struct shim *s) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    if (pid == s->launcher_pid) {
      s->launcher_exited = 1;
      s->launcher_status = status;
    } else if (s->phase == PHASE_LAUNCHING) {
      /* A quick process can exit before the launcher has told us its pid. */
      if (s->n_reaped < MAX_REAPED) {
        s->reaped[s->n_reaped].pid = pid;
        s->reaped[s->n_reaped++].status = status;
      }
    } else if (pid == s->pid) {
      container_exited(s, status);
    }
    /* Anything else is an orphan the container left behind: reaped, nothing more. */
  }
}

static void write_exit_file(struct shim *s) {
  char at[48], json[256];
  format_rfc3339(at, sizeof at, &s->exited_at, 0);
  int n = snprintf(json, sizeof json, "{\"status\":%d,\"oomKilled\":%s,\"exitedAt\":\"%s\",\"pid\":%d}\n",
                   s->exit_status, s->oom_killed ? "true" : "false", at, (int)s->pid);
  int fd = open("exit.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  int ok = write(fd, json, (size_t)n) == n && fsync(fd) == 0;
  close(fd);
  if (ok) rename("exit.tmp", "exit");
  else unlink("exit.tmp");
}

/* The output is drained (or its time is up): record the exit, answer waiters, let clients go. */
void finish(struct shim *s) {
  for (int i = 0; i < 3; i++) {
    output_flush_line(s, &s->out[i]);
    if (s->out[i].fd >= 0) close(s->out[i].fd);
    s->out[i].fd = -1;
  }
  log_flush(s);
  if (s->log_fd >= 0) fsync(s->log_fd);
  fifo_close_all(s);
  write_exit_file(s);
  s->phase = PHASE_CLOSING;
  s->deadline_ms = now_ms() + CLOSE_MS;
  clients_answer_waiters(s);
  for (int i = 0; i < s->n_clients; i++) {
    s->clients[i]->closing = 1;
    client_writable(s, s->clients[i]);
  }
}
