/* The log file both formats write to (jsonlog.c: Docker's json-file, crilog.c: the kubelet's CRI
 * format): opening and reopening it, gathering entries and writing them, and the entries' time. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

/* Entries are gathered up to this many bytes and written together (a write per line was the
 * log's bottleneck with chatty containers); the main loop flushes after every turn. */
#define LOG_BUF_MAX (256 * 1024)

static int open_log(const char *path) {
  return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

int log_open(struct shim *s) {
  /* An entry: json-file's worst case is 6 output bytes per input byte (\u00XX); a CRI entry is
   * the line with its time, stream and tag in front. */
  size_t entry = s->log_format == LOG_CRI ? s->log_max_line + 64 : (size_t)LOG_LINE_MAX * 6 + 128;
  s->log_entry = malloc(entry);
  s->log_buf = malloc(LOG_BUF_MAX);
  s->log_fd = open_log(s->log_path);
  if (s->log_entry == NULL || s->log_buf == NULL || s->log_fd < 0) return -1;
  off_t end = lseek(s->log_fd, 0, SEEK_END);
  s->log_size = end < 0 ? 0 : end;
  return 0;
}

/* The kubelet renames the file away to rotate it, then asks for this: what was gathered goes to
 * the old file, what comes next to a new one at the same path. On failure the old file stays. */
int log_reopen(struct shim *s) {
  log_flush(s);
  int fd = open_log(s->log_path);
  if (fd < 0) return -1;
  close(s->log_fd);
  s->log_fd = fd;
  off_t end = lseek(fd, 0, SEEK_END);
  s->log_size = end < 0 ? 0 : end;
  return 0;
}

/* Writes bytes that end with whole entries. A full disk loses them, not the container: it keeps
 * running and logging resumes; a short write is cut back so no half entry stays in the file. */
static void write_entries(struct shim *s, const char *data, size_t n) {
  ssize_t w = write(s->log_fd, data, n);
  if (w > 0) s->log_size += w;
  if (w > 0 && (size_t)w < n && ftruncate(s->log_fd, s->log_size - w) == 0) s->log_size -= w;
}

void log_append(struct shim *s, const char *entry, size_t n) {
  if (s->log_buf_len + n > LOG_BUF_MAX) log_flush(s);
  if (n > LOG_BUF_MAX) { /* a CRI line longer than the buffer (--log-max-line) */
    write_entries(s, entry, n);
    return;
  }
  memcpy(s->log_buf + s->log_buf_len, entry, n);
  s->log_buf_len += n;
}

void log_flush(struct shim *s) {
  if (s->log_buf_len == 0 || s->log_fd < 0) return;
  write_entries(s, s->log_buf, s->log_buf_len);
  s->log_buf_len = 0;
}

/* The time of an entry written now, as Go's time.RFC3339Nano writes it in UTC (the fraction
 * without trailing zeros, no dot when it is zero), into dst; returns its length. Docker's
 * json-file and containerd's CRI logger both use that format. The date part is formatted once a
 * second: a chatty container logs many lines in each, and strftime per line was a fair share of
 * the shim's time. */
size_t log_time(struct shim *s, char *dst) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  if (now.tv_sec != s->log_date_sec || s->log_date[0] == '\0') {
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    strftime(s->log_date, sizeof s->log_date, "%Y-%m-%dT%H:%M:%S", &tm);
    s->log_date_sec = now.tv_sec;
  }
  size_t o = strlen(s->log_date);
  memcpy(dst, s->log_date, o);
  char frac[10];
  long ns = now.tv_nsec;
  for (int i = 8; i >= 0; i--, ns /= 10) frac[i] = (char)('0' + ns % 10);
  int digits = 9;
  while (digits > 0 && frac[digits - 1] == '0') digits--;
  if (digits > 0) {
    dst[o++] = '.';
    memcpy(dst + o, frac, (size_t)digits);
    o += (size_t)digits;
  }
  dst[o++] = 'Z';
  return o;
}
