/* The container log in the kubelet's CRI format, as containerd's CRI plugin writes it:
 *
 *   2016-10-06T00:17:09.669794202Z stdout F a whole line
 *   2016-10-06T00:17:09.669794202Z stderr P a piece of a longer one
 *
 * one entry per line: time (RFC3339Nano, UTC), stream, tag (F: the line ends here, P: it goes on
 * in the next entry) and the line without its newline ("\r\n" counts as the newline, so a
 * terminal's lines come out clean). A line of more than --log-max-line bytes is cut into P
 * pieces of that size and a final F; output that ends without a newline is a P entry. There is
 * no rotation: the kubelet renames the file and asks the shim to reopen it (log_reopen). */
#include <string.h>

#include "shim.h"

static void write_entry(struct shim *s, enum stream_id id, char tag, const char *line, size_t n) {
  char *e = s->log_entry;
  size_t o = log_time(s, e);
  const char *head = id == STREAM_STDOUT ? " stdout " : " stderr ";
  memcpy(e + o, head, 8);
  o += 8;
  e[o++] = tag;
  e[o++] = ' ';
  memcpy(e + o, line, n);
  o += n;
  e[o++] = '\n';
  log_append(s, e, o);
}

/* The line is full: its first --log-max-line bytes go out as a P entry, the rest (at most the
 * '\r' that may yet turn out to be half of a "\r\n") stays. */
static void write_piece(struct shim *s, struct stream *st) {
  size_t max = s->log_max_line;
  write_entry(s, st->id, 'P', st->line, max);
  st->line_len -= max;
  memmove(st->line, st->line + max, st->line_len);
}

/* The line buffer holds up to max bytes, plus one '\r' past them: a line of exactly max bytes
 * ending in "\r\n" is one F entry, as with containerd (its reader never splits "\r\n"). */
void crilog_feed(struct shim *s, struct stream *st, const char *data, size_t n) {
  size_t max = s->log_max_line;
  while (n > 0) {
    const char *nl = memchr(data, '\n', n);
    const char *p = data;
    size_t text = nl ? (size_t)(nl - data) : n; /* bytes before the newline */
    data += text, n -= text;
    while (text > 0) {
      if (st->line_len > max || (st->line_len == max && *p != '\r')) write_piece(s, st);
      size_t take = st->line_len < max ? max - st->line_len : 1;
      if (take > text) take = text;
      memcpy(st->line + st->line_len, p, take);
      st->line_len += take;
      p += take, text -= take;
    }
    if (nl) {
      size_t len = st->line_len;
      if (len > 0 && st->line[len - 1] == '\r') len--;
      write_entry(s, st->id, 'F', st->line, len);
      st->line_len = 0;
      data++, n--;
    }
  }
}

/* The stream ended: what did not end with a newline is logged as partial. */
void crilog_end(struct shim *s, struct stream *st) {
  if (st->line_len > s->log_max_line) write_piece(s, st);
  if (st->line_len == 0) return;
  write_entry(s, st->id, 'P', st->line, st->line_len);
  st->line_len = 0;
}
