/* Error reporting. Every fallible function in the engine returns 0 on success and -1 on
 * failure, filling a caller-owned cd_error with one message that names the file or tensor
 * and the reason ("model.safetensors: tensor 'x' needs 4096 bytes at offset 80, file has 100").
 * Passing NULL for the error is allowed: the message is then dropped. */
#ifndef CD_ERROR_H
#define CD_ERROR_H

#include <stddef.h>

typedef struct {
  char msg[1024];
} cd_error;

/* Formats the message into e (if non-NULL) and returns -1, so callers can write
 * `return cd_fail(e, "%s: bad header", path);`. */
int cd_fail(cd_error *e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prepends "prefix: " to an existing message (adds context while unwinding). Returns -1. */
int cd_fail_prefix(cd_error *e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Allocation helpers that never return NULL silently: on failure they fill e. */
void *cd_malloc(size_t n, cd_error *e);
void *cd_calloc(size_t count, size_t size, cd_error *e);
/* Overflow-checked a*b (returns 0 on overflow, and sets *out only on success). */
int cd_mul_ok(size_t a, size_t b, size_t *out);

#endif
