/* The container's stdio: output read from its pipes (or pty) goes to the log and to
 * every attacher; attachers' input goes to its stdin. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

/* Feeds the log one stream's bytes, in the format asked for. */
static void log_output(struct shim *s, struct stream *st, const char *data, size_t n) {
  if (s->log_fd < 0) return;
  if (st->line == NULL) {
    st->line = malloc(s->log_format == LOG_CRI ? s->log_max_line + 1 : LOG_LINE_MAX);
    if (st->line == NULL) return; /* the container runs on, unlogged */
  }
  if (s->log_format == LOG_CRI) crilog_feed(s, st, data, n);
  else jsonlog_feed(s, st, data, n);
}

/* Logs the line the stream left unfinished (at its end, or when the shim stops reading it). */
void output_flush_line(struct shim *s, struct stream *st) {
  if (s->log_fd < 0 || st->line == NULL) return;
  if (s->log_format == LOG_CRI) crilog_end(s, st);
  else jsonlog_end(s, st);
}

void output_deliver(struct shim *s, struct stream *st, const char *data, size_t n) {
  log_output(s, st, data, n);
  fifo_output(s, st->id, data, n);
  unsigned char header[8] = { (unsigned char)st->id, 0, 0, 0, (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n };
  int bit = st->id == STREAM_STDOUT ? 2 : 4;
  for (int i = 0; i < s->n_clients; i++) {
    struct client *c = s->clients[i];
    if (c->kind != CLIENT_ATTACH || !(c->streams & bit) || c->closing) continue;
    /* With a terminal the stream is raw; otherwise Docker's 8-byte multiplexing header. */
    if (!s->terminal) client_send(s, c, (const char *)header, sizeof header);
    client_send(s, c, data, n);
  }
}

/* --hold-output: until the first attacher (or the deadline) output is kept, not sent: an exec's
 * output is not lost in the moment between its start and the attach that reads it. */
int output_holding(const struct shim *s) {
  return s->hold_until_ms > 0 && !s->attached && now_ms() < s->hold_until_ms;
}

/* Sends (and logs) what was held: the launch's output, or what came before the first attacher. */
void output_release_held(struct shim *s) {
  s->hold_until_ms = 0;
  for (int i = 0; i < 3; i++) {
    struct buf *b = &s->out[i].held;
    /* With a terminal the pipes only carried the launcher's words; without one there is no pty. */
    int container_output = s->terminal ? i == 2 : i < 2;
    if (b->len && container_output) output_deliver(s, &s->out[i], b->data, b->len);
    buf_free(b);
  }
}

/* Reads what is there; at end of file the stream closes and its last partial line is logged. */
void output_readable(struct shim *s, struct stream *st) {
  char chunk[65536];
  for (int rounds = 0; rounds < 4 && st->fd >= 0; rounds++) {
    size_t want = sizeof chunk;
    int hold = s->phase == PHASE_LAUNCHING || output_holding(s);
    if (hold) {
      want = LAUNCH_OUTPUT_MAX - st->held.len;
      if (want > sizeof chunk) want = sizeof chunk;
      if (want == 0) return; /* held back until the launch is over, or the first attacher */
    }
    ssize_t n = read(st->fd, chunk, want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) { /* EOF, or EIO from a pty whose other side is gone */
      close(st->fd);
      st->fd = -1;
      output_flush_line(s, st);
      return;
    }
    if (hold) buf_append(&st->held, chunk, (size_t)n);
    else if (s->terminal && st != &s->out[2]) continue; /* a runtime's chatter, not the container's */
    else output_deliver(s, st, chunk, (size_t)n);
  }
}

/* Closes the container's stdin once what is pending has been written. */
void stdin_close(struct shim *s) {
  if (s->stdin_fd < 0) return;
  if (s->stdin_pending.len > 0) {
    s->stdin_close_when_flushed = 1;
    return;
  }
  /* With a terminal stdin is the pty master, which still carries the output: only stop writing. */
  if (!s->terminal) close(s->stdin_fd);
  s->stdin_fd = -1;
  s->stdin_closed = 1;
  buf_free(&s->stdin_pending);
}

void stdin_write_pending(struct shim *s) {
  while (s->stdin_fd >= 0 && s->stdin_pending.len > 0) {
    ssize_t n = write(s->stdin_fd, s->stdin_pending.data, s->stdin_pending.len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n < 0) { /* the container closed its stdin: what is pending has nowhere to go */
      s->stdin_pending.len = 0;
      s->stdin_close_when_flushed = 1;
      break;
    }
    buf_consume(&s->stdin_pending, (size_t)n);
  }
  if (s->stdin_close_when_flushed) stdin_close(s);
}
