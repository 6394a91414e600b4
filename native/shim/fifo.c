/* containerd's task I/O: the stdio FIFOs a client (ctr) named in its create request. Each is
 * opened O_RDWR|O_NONBLOCK, as containerd's shim keeps a reader on its output FIFOs: opening does
 * not wait for the client, a write never fails with EPIPE while nobody reads, and the client can
 * go and reopen them later (`ctr tasks attach`). Output nobody reads is buffered up to a limit and
 * then dropped: the container never blocks on its output. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

int fifo_open_all(struct shim *s, char *err, size_t errlen) {
  for (int i = 0; i < 3; i++) {
    struct fifo *f = &s->fifo[i];
    f->fd = -1;
    if (!f->path) continue;
    f->fd = open(f->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (f->fd < 0) {
      snprintf(err, errlen, "stdio fifo %s: %s", f->path, strerror(errno));
      return -1;
    }
  }
  return 0;
}

/* Writes what is pending without blocking; what does not fit stays for the next POLLOUT. */
void fifo_flush(struct fifo *f) {
  while (f->fd >= 0 && f->pending.len > 0) {
    ssize_t n = write(f->fd, f->pending.data, f->pending.len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n < 0) { /* a broken FIFO: output goes on to the log and attachers only */
      f->pending.len = 0;
      return;
    }
    buf_consume(&f->pending, (size_t)n);
  }
}

/* One chunk of the container's output to its FIFO (stdout, or stderr). */
void fifo_output(struct shim *s, enum stream_id id, const char *data, size_t n) {
  struct fifo *f = &s->fifo[id == STREAM_STDERR ? 2 : 1];
  if (f->fd < 0) return;
  if (f->pending.len + n > FIFO_PENDING_MAX) return; /* nobody reads: dropped, not blocked on */
  buf_append(&f->pending, data, n);
  fifo_flush(f);
}

/* Input from the stdin FIFO goes where an attacher's would. The shim holds a writer too, so
 * there is no end of file: as with containerd's shim, the client ends the container's input with
 * CloseIO (control "close-stdin"), and a client that goes leaves stdin open for the next one. */
void fifo_stdin_readable(struct shim *s) {
  struct fifo *f = &s->fifo[0];
  char data[16384];
  size_t want = STDIN_PENDING_MAX - s->stdin_pending.len;
  if (want == 0) return;
  if (want > sizeof data) want = sizeof data;
  ssize_t n = read(f->fd, data, want);
  if (n <= 0) return;
  if (s->stdin_fd < 0 || s->stdin_close_when_flushed) return; /* stdin is closed: input is dropped */
  buf_append(&s->stdin_pending, data, (size_t)n);
  stdin_write_pending(s);
}

/* At the end: a last write of what is pending, then the FIFOs close, so the client's copy of the
 * output ends (it waits for that before it deletes the task). */
void fifo_close_all(struct shim *s) {
  for (int i = 0; i < 3; i++) {
    struct fifo *f = &s->fifo[i];
    if (f->fd < 0) continue;
    if (i > 0) {
      /* A short wait for a slow reader: the last output should not be lost to a full pipe. */
      for (int tries = 0; f->pending.len > 0 && tries < 50; tries++) {
        fifo_flush(f);
        if (f->pending.len > 0) usleep(20000);
      }
    }
    close(f->fd);
    f->fd = -1;
    buf_free(&f->pending);
  }
}
