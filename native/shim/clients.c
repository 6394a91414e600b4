/* shim.sock: every connection starts with one request line.
 *   attach STREAMS   "ok", then output (framed, or raw with a terminal); bytes sent go to stdin
 *   control          then lines: resize R C | close-stdin | signal N | state | shutdown | reopen-log
 *   wait             "exit STATUS OOM EXITEDAT_NS" once the process has exited
 * See native/shim/README.md. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "shim.h"

void clients_accept(struct shim *s) {
  for (;;) {
    int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    if (s->n_clients == MAX_CLIENTS) {
      close(fd);
      continue;
    }
    struct client *c = calloc(1, sizeof *c);
    if (c == NULL) {
      close(fd);
      return;
    }
    c->fd = fd;
    s->clients[s->n_clients++] = c;
  }
}

void client_send(struct shim *s, struct client *c, const char *data, size_t n) {
  if (c->fd < 0) return;
  if (c->out.len + n > CLIENT_OUTPUT_MAX) { /* too far behind: drop it rather than stall */
    close(c->fd);
    c->fd = -1;
    return;
  }
  buf_append(&c->out, data, n);
  client_writable(s, c);
}

static void client_say(struct shim *s, struct client *c, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void client_say(struct shim *s, struct client *c, const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n > sizeof line - 2) n = sizeof line - 2;
  line[n++] = '\n';
  client_send(s, c, line, (size_t)n);
}

void client_writable(struct shim *s, struct client *c) {
  while (c->fd >= 0 && c->out.len > 0) {
    ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n < 0) {
      close(c->fd);
      c->fd = -1;
      return;
    }
    buf_consume(&c->out, (size_t)n);
  }
  if (c->fd >= 0 && c->closing && c->out.len == 0) {
    close(c->fd);
    c->fd = -1;
  }
}

static void answer_wait(struct shim *s, struct client *c) {
  long long ns = (long long)s->exited_at.tv_sec * 1000000000LL + s->exited_at.tv_nsec;
  client_say(s, c, "exit %d %d %lld", s->exit_status, s->oom_killed, ns);
  c->closing = 1;
  client_writable(s, c);
}

/* Waiters are answered once the exit is final: output drained and the exit file written. */
void clients_answer_waiters(struct shim *s) {
  for (int i = 0; i < s->n_clients; i++)
    if (s->clients[i]->kind == CLIENT_WAIT && !s->clients[i]->closing) answer_wait(s, s->clients[i]);
}

static int parse_streams(const char *list) {
  int bits = 0;
  char copy[64];
  snprintf(copy, sizeof copy, "%s", list);
  for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    if (strcmp(t, "stdin") == 0) bits |= 1;
    else if (strcmp(t, "stdout") == 0) bits |= 2;
    else if (strcmp(t, "stderr") == 0) bits |= 4;
    else return -1;
  }
  return bits;
}

static void control_command(struct shim *s, struct client *c, const char *line) {
  int a, b;
  int running = s->phase == PHASE_RUNNING && !s->exited;
  if (sscanf(line, "resize %d %d", &a, &b) == 2) {
    struct winsize ws = { .ws_row = (unsigned short)a, .ws_col = (unsigned short)b };
    if (s->out[2].fd < 0) client_say(s, c, "error the process has no terminal");
    else if (ioctl(s->out[2].fd, TIOCSWINSZ, &ws) < 0) client_say(s, c, "error resize: %s", strerror(errno));
    else client_say(s, c, "ok");
  } else if (strcmp(line, "close-stdin") == 0) {
    stdin_close(s);
    client_say(s, c, "ok");
  } else if (sscanf(line, "signal %d", &a) == 1) {
    if (!running) client_say(s, c, "error the process has exited");
    else if (kill(s->pid, a) < 0) client_say(s, c, "error signal %d: %s", a, strerror(errno));
    else client_say(s, c, "ok");
  } else if (strcmp(line, "state") == 0) {
    if (s->exited) client_say(s, c, "exited %d", s->exit_status);
    else client_say(s, c, "running %d", (int)s->pid);
  } else if (strcmp(line, "reopen-log") == 0) {
    /* The kubelet has renamed the log away (its rotation): new lines go to a new file. */
    if (s->log_fd < 0) client_say(s, c, "error the process has no log");
    else if (log_reopen(s) < 0) client_say(s, c, "error reopen log %s: %s", s->log_path, strerror(errno));
    else client_say(s, c, "ok");
  } else if (strcmp(line, "shutdown") == 0) {
    /* The process is killed; the shim goes once it is reaped, the way every exit ends. */
    if (running) kill(s->pid, SIGKILL);
    client_say(s, c, "ok");
  } else {
    client_say(s, c, "error unknown command \"%s\"", line);
  }
}

/* The first line of a connection says what it is for. */
static void request(struct shim *s, struct client *c, const char *line) {
  if (strncmp(line, "attach ", 7) == 0) {
    int bits = parse_streams(line + 7);
    if (bits < 0) client_say(s, c, "error unknown stream in \"%s\"", line + 7);
    else if (s->exited && !output_holding(s)) client_say(s, c, "error the process has exited");
    else {
      c->kind = CLIENT_ATTACH;
      c->streams = bits;
      client_say(s, c, "ok");
      /* The first attacher ends --hold-output and gets what was kept for it. */
      if (!s->attached) {
        s->attached = 1;
        if (s->phase != PHASE_LAUNCHING) output_release_held(s);
      }
      return;
    }
    c->closing = 1;
  } else if (strcmp(line, "control") == 0) {
    c->kind = CLIENT_CONTROL;
  } else if (strcmp(line, "wait") == 0) {
    c->kind = CLIENT_WAIT;
    if (s->phase == PHASE_CLOSING) answer_wait(s, c);
  } else {
    client_say(s, c, "error unknown request \"%s\"", line);
    c->closing = 1;
  }
}

/* Input after "attach": to the container's stdin, if this attacher asked for it. */
static void attach_input(struct shim *s, struct client *c, const char *data, size_t n) {
  if (!(c->streams & 1) || s->stdin_fd < 0 || s->stdin_close_when_flushed) return;
  buf_append(&s->stdin_pending, data, n);
  stdin_write_pending(s);
}

static void client_gone(struct shim *s, struct client *c) {
  close(c->fd);
  c->fd = -1;
  /* --stdin-once: the first attacher that had stdin takes it with it, as Docker's StdinOnce. */
  if (c->kind == CLIENT_ATTACH && (c->streams & 1) && s->stdin_once) stdin_close(s);
}

void client_readable(struct shim *s, struct client *c) {
  char data[16384];
  size_t want = sizeof data;
  if (c->kind == CLIENT_ATTACH) {
    if (s->stdin_pending.len >= STDIN_PENDING_MAX) return; /* the container is not reading */
    want = STDIN_PENDING_MAX - s->stdin_pending.len;
    if (want > sizeof data) want = sizeof data;
  }
  ssize_t n = read(c->fd, data, want);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    client_gone(s, c);
    return;
  }
  if (c->kind == CLIENT_ATTACH) {
    attach_input(s, c, data, (size_t)n);
    return;
  }
  for (ssize_t i = 0; i < n && c->fd >= 0; i++) {
    if (data[i] != '\n') {
      if (c->line_len + 1 >= sizeof c->line) { /* no request is this long */
        client_gone(s, c);
        return;
      }
      c->line[c->line_len++] = data[i];
      continue;
    }
    c->line[c->line_len] = '\0';
    c->line_len = 0;
    if (c->kind == CLIENT_NEW) request(s, c, c->line);
    else if (c->kind == CLIENT_CONTROL) control_command(s, c, c->line);
    /* Bytes that came with the attach request already belong to stdin. */
    if (c->kind == CLIENT_ATTACH) {
      attach_input(s, c, data + i + 1, (size_t)(n - i - 1));
      return;
    }
  }
}

/* Frees the clients whose connection has closed. */
void clients_reap_closed(struct shim *s) {
  int kept = 0;
  for (int i = 0; i < s->n_clients; i++) {
    struct client *c = s->clients[i];
    if (c->fd >= 0) {
      s->clients[kept++] = c;
      continue;
    }
    buf_free(&c->out);
    free(c);
  }
  s->n_clients = kept;
}
