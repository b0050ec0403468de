#include "tools/cli/args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/error.h"
#include "core/file.h"
#include "core/pool.h"

int cd_cli_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("clipdebias: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return 1;
}

int cd_args_want_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return 1;
  return 0;
}

int cd_arg_is(const char *arg, const char *name) { return strcmp(arg, name) == 0; }

const char *cd_arg_value(int argc, char **argv, int *i) {
  if (*i + 1 >= argc) {
    cd_cli_fail("option %s needs a value", argv[*i]);
    return NULL;
  }
  return argv[++*i];
}

int cd_arg_values(int argc, char **argv, int *i, const char ***vals, int *n) {
  int start = *i + 1, end = start;
  while (end < argc && strncmp(argv[end], "--", 2) != 0) end++;
  if (end == start) {
    cd_cli_fail("option %s needs at least one value", argv[*i]);
    return -1;
  }
  const char **v = realloc((void *)*vals, sizeof(char *) * (size_t)(*n + end - start));
  if (!v) return -1;
  for (int k = start; k < end; k++) v[(*n)++] = argv[k];
  *vals = v;
  *i = end - 1;
  return 0;
}

int cd_arg_int(const char *opt, const char *s, long lo, long hi, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) {
    cd_cli_fail("%s expects an integer in [%ld, %ld], got '%s'", opt, lo, hi, s);
    return -1;
  }
  *out = (int)v;
  return 0;
}

int cd_arg_threads(const char *s, int *out) {
  cd_error e;
  if (cd_arg_int("--threads", s, -2147483647, 2147483647, out)) return -1;
  if (cd_threads_check(*out, &e)) return cd_cli_fail("%s", e.msg), -1;
  cd_threads_set(*out);
  return 0;
}

int cd_arg_float(const char *opt, const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || v != v) {
    cd_cli_fail("%s expects a number, got '%s'", opt, s);
    return -1;
  }
  *out = v;
  return 0;
}

int cd_read_lines(const char *path, char ***lines, int *n) {
  uint8_t *buf;
  size_t size;
  cd_error e;
  *lines = NULL;
  *n = 0;
  if (cd_file_read(path, (size_t)1 << 30, &buf, &size, &e)) return cd_cli_fail("%s", e.msg), -1;
  char **out = NULL;
  int count = 0, cap = 0;
  char *p = (char *)buf, *stop = (char *)buf + size;
  while (p < stop) {
    char *nl = memchr(p, '\n', (size_t)(stop - p));
    char *eol = nl ? nl : stop;
    size_t len = (size_t)(eol - p);
    if (len && p[len - 1] == '\r') len--;
    if (len) {
      if (count == cap) {
        cap = cap ? cap * 2 : 64;
        char **grown = realloc(out, sizeof(char *) * (size_t)cap);
        if (!grown) break;
        out = grown;
      }
      out[count] = malloc(len + 1);
      memcpy(out[count], p, len);
      out[count++][len] = 0;
    }
    p = eol + 1;
  }
  free(buf);
  *lines = out;
  *n = count;
  return 0;
}

void cd_free_lines(char **lines, int n) {
  for (int i = 0; i < n; i++) free(lines[i]);
  free(lines);
}
