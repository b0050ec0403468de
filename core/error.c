#include "core/error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* text into e->msg; a text too long for it (a path of thousands of bytes) keeps its start and
 * its end, where the reason is ("...: File name too long"), joined by " ... ". */
static void set_message(cd_error *e, const char *text) {
  size_t n = strlen(text), cap = sizeof e->msg;
  if (n < cap) {
    memcpy(e->msg, text, n + 1);
    return;
  }
  const size_t head = 200, gap = 5; /* " ... " */
  size_t tail = cap - 1 - head - gap, from = n - tail;
  while (from < n && ((unsigned char)text[from] & 0xC0) == 0x80) from++, tail--; /* not inside a UTF-8 character */
  size_t h = head;
  while (h > 0 && ((unsigned char)text[h] & 0xC0) == 0x80) h--;
  memcpy(e->msg, text, h);
  memcpy(e->msg + h, " ... ", gap);
  memcpy(e->msg + h + gap, text + from, tail);
  e->msg[h + gap + tail] = 0;
}

int cd_fail(cd_error *e, const char *fmt, ...) {
  if (!e) return -1;
  char small[sizeof e->msg];
  va_list ap, again;
  va_start(ap, fmt);
  va_copy(again, ap);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  char *big = n >= (int)sizeof small ? malloc((size_t)n + 1) : NULL;
  if (big) vsnprintf(big, (size_t)n + 1, fmt, again);
  va_end(again);
  set_message(e, big ? big : small);
  free(big);
  return -1;
}

int cd_fail_prefix(cd_error *e, const char *fmt, ...) {
  if (!e) return -1;
  char prefix[512], text[sizeof prefix + 2 + sizeof e->msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  snprintf(text, sizeof text, "%s: %s", prefix, e->msg);
  set_message(e, text);
  return -1;
}

void *cd_malloc(size_t n, cd_error *e) {
  void *p = malloc(n ? n : 1);
  if (!p) cd_fail(e, "out of memory allocating %zu bytes", n);
  return p;
}

void *cd_calloc(size_t count, size_t size, cd_error *e) {
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (!p) cd_fail(e, "out of memory allocating %zu x %zu bytes", count, size);
  return p;
}

int cd_mul_ok(size_t a, size_t b, size_t *out) {
  if (a != 0 && b > SIZE_MAX / a) return 0;
  *out = a * b;
  return 1;
}
