/* The container log in Docker's json-file format: one {"log":…,"stream":…,"time":…} object per
 * line, strings escaped as Go's encoding/json escapes them, rotated by size and file count
 * (PATH, PATH.1, … PATH.N-1, oldest last). A file never grows past the size bound unless one
 * entry alone is larger. The file itself (opening, buffering, the entries' time) is logfile.c's. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

static void rotate(struct shim *s) {
  if (s->log_max_files <= 1) {
    if (ftruncate(s->log_fd, 0) == 0) s->log_size = 0;
    return;
  }
  size_t len = strlen(s->log_path) + 16;
  char from[len], to[len];
  for (int i = s->log_max_files - 1; i >= 1; i--) {
    snprintf(to, len, "%s.%d", s->log_path, i);
    if (i == 1) snprintf(from, len, "%s", s->log_path);
    else snprintf(from, len, "%s.%d", s->log_path, i - 1);
    if (rename(from, to) < 0 && errno != ENOENT) return; /* keep writing where we are */
  }
  int fd = open(s->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return;
  close(s->log_fd);
  s->log_fd = fd;
  s->log_size = 0;
}

static size_t append(char *dst, const char *text) {
  size_t n = strlen(text);
  memcpy(dst, text, n);
  return n;
}

static void jsonlog_write(struct shim *s, enum stream_id id, const char *line, size_t n) {
  char *e = s->log_entry;
  size_t o = append(e, "{\"log\":\"");
  o += json_escape(e + o, (const unsigned char *)line, n);
  o += append(e + o, id == STREAM_STDOUT ? "\",\"stream\":\"stdout\",\"time\":\"" : "\",\"stream\":\"stderr\",\"time\":\"");
  o += log_time(s, e + o);
  o += append(e + o, "\"}\n");
  long long pending = s->log_size + (long long)s->log_buf_len;
  if (s->log_max_size > 0 && pending > 0 && pending + (long long)o > s->log_max_size) {
    log_flush(s);
    rotate(s);
  }
  log_append(s, e, o);
}

/* Feeds the log one stream's bytes, cut into lines; a line longer than LOG_LINE_MAX is logged
 * in pieces, each a partial entry (no trailing newline), as Docker does. */
void jsonlog_feed(struct shim *s, struct stream *st, const char *data, size_t n) {
  while (n > 0) {
    const char *nl = memchr(data, '\n', n);
    size_t take = nl ? (size_t)(nl - data) + 1 : n;
    size_t room = LOG_LINE_MAX - st->line_len;
    if (take > room) take = room;
    memcpy(st->line + st->line_len, data, take);
    st->line_len += take;
    data += take;
    n -= take;
    if (st->line[st->line_len - 1] == '\n' || st->line_len == LOG_LINE_MAX) jsonlog_end(s, st);
  }
}

/* Logs what is left of the line being assembled (at the end of the stream, a partial entry). */
void jsonlog_end(struct shim *s, struct stream *st) {
  if (st->line_len == 0) return;
  jsonlog_write(s, st->id, st->line, st->line_len);
  st->line_len = 0;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  size_t len;
  unsigned min;
  unsigned cp;
  if (c >= 0xc2 && c <= 0xdf) len = 2, cp = c & 0x1f, min = 0x80;
  else if (c >= 0xe0 && c <= 0xef) len = 3, cp = c & 0x0f, min = 0x800;
  else if (c >= 0xf0 && c <= 0xf4) len = 4, cp = c & 0x07, min = 0x10000;
  else return 0;
  if (len > n) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

size_t json_escape(char *dst, const unsigned char *src, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    unsigned char c = src[i];
    if (c < 0x80) {
      i++;
      if (c == '"' || c == '\\') dst[o++] = '\\', dst[o++] = (char)c;
      else if (c == '\n') dst[o++] = '\\', dst[o++] = 'n';
      else if (c == '\r') dst[o++] = '\\', dst[o++] = 'r';
      else if (c == '\t') dst[o++] = '\\', dst[o++] = 't';
      else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
        memcpy(dst + o, "\\u00", 4);
        dst[o + 4] = hex[c >> 4];
        dst[o + 5] = hex[c & 15];
        o += 6;
      } else dst[o++] = (char)c;
      continue;
    }
    size_t len = utf8_len(src + i, n - i);
    if (len == 0) { /* each invalid byte becomes U+FFFD, as in Go */
      memcpy(dst + o, "\\ufffd", 6);
      o += 6;
      i++;
    } else if (len == 3 && c == 0xe2 && src[i + 1] == 0x80 && (src[i + 2] & 0xfe) == 0xa8) {
      memcpy(dst + o, src[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6); /* JSON-safe in JavaScript */
      o += 6;
      i += 3;
    } else {
      memcpy(dst + o, src + i, len);
      o += len;
      i += len;
    }
  }
  return o;
}
