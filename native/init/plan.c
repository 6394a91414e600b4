/* Reading the plan's fields: little-endian integers and length-prefixed, NUL-terminated strings.
 * The runtime writes strings as u32 length, bytes, then a NUL, so they can be used in place. */
#include "init.h"

#include <stdlib.h>
#include <string.h>

static int need(struct reader *r, size_t n) {
  if (r->bad || (size_t)(r->end - r->p) < n) {
    r->bad = 1;
    return 0;
  }
  return 1;
}

uint32_t rd_u32(struct reader *r) {
  if (!need(r, 4)) return 0;
  uint32_t v;
  memcpy(&v, r->p, 4);
  r->p += 4;
  return v;
}

uint64_t rd_u64(struct reader *r) {
  if (!need(r, 8)) return 0;
  uint64_t v;
  memcpy(&v, r->p, 8);
  r->p += 8;
  return v;
}

const uint8_t *rd_bytes(struct reader *r, uint32_t *len) {
  *len = rd_u32(r);
  if (!need(r, *len)) {
    *len = 0;
    return NULL;
  }
  const uint8_t *v = r->p;
  r->p += *len;
  return v;
}

const char *rd_str(struct reader *r) {
  uint32_t len = rd_u32(r);
  if (!need(r, (size_t)len + 1) || r->p[len] != '\0') {
    r->bad = 1;
    return "";
  }
  const char *v = (const char *)r->p;
  r->p += len + 1;
  return v;
}

/* A NULL-terminated array of strings. The array is heap-allocated; the init execs or exits soon
 * after, so it is never freed. */
const char **rd_strv(struct reader *r) {
  uint32_t n = rd_u32(r);
  if (r->bad || n > (uint32_t)(r->end - r->p)) {
    r->bad = 1;
    n = 0;
  }
  const char **v = calloc((size_t)n + 1, sizeof(char *));
  if (v == NULL) {
    r->bad = 1;
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) v[i] = rd_str(r);
  return v;
}
