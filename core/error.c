#include "core/error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cd_fail(cd_error *e, const char *fmt, ...) {
  if (!e) return -1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  return -1;
}

int cd_fail_prefix(cd_error *e, const char *fmt, ...) {
  if (!e) return -1;
  char prefix[512], old[sizeof e->msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, e->msg, sizeof old);
  /* Truncation is acceptable here: the message stays NUL-terminated and readable. */
  size_t k = strlen(prefix);
  if (k > sizeof e->msg - 3) k = sizeof e->msg - 3;
  memcpy(e->msg, prefix, k);
  memcpy(e->msg + k, ": ", 2);
  size_t room = sizeof e->msg - k - 3;
  size_t n = strlen(old);
  if (n > room) n = room;
  memcpy(e->msg + k + 2, old, n);
  e->msg[k + 2 + n] = 0;
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
