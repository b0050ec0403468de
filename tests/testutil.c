#define _XOPEN_SOURCE 700 /* nftw */
#include "tests/testutil.h"

#include <math.h>
#include <stdlib.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"

int cd_test_failures = 0;
int cd_test_checks = 0;

double cd_test_max_abs(const float *a, const float *b, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - (double)b[i]);
    if (d != d) return INFINITY; /* NaN counts as a total mismatch */
    if (d > m) m = d;
  }
  return m;
}

double cd_test_max_rel(const float *a, const float *b, size_t n) {
  double ref = 0;
  for (size_t i = 0; i < n; i++)
    if (fabs(b[i]) > ref) ref = fabs(b[i]);
  double d = cd_test_max_abs(a, b, n);
  return ref > 0 ? d / ref : d;
}

int cd_test_close(const char *name, const float *a, const float *b, size_t n, double tol) {
  double r = cd_test_max_rel(a, b, n);
  int ok = r <= tol;
  printf("  %-44s max rel err %.3e (tol %.0e) %s\n", name, r, tol, ok ? "ok" : "FAIL");
  CHECK(ok, "%s: max rel err %.3e > %.0e", name, r, tol);
  return ok;
}

static int is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *cd_test_reference_dir(void) {
  const char *env = getenv("CLIPDEBIAS_REFERENCE");
  if (env && is_dir(env)) return env;
  if (is_dir("../shared/reference")) return "../shared/reference";
  return NULL;
}

const char *cd_test_require_reference(void) {
  const char *d = cd_test_reference_dir();
  if (!d) {
    printf("SKIP: ../shared/reference not found (set CLIPDEBIAS_REFERENCE to run)\n");
    exit(77);
  }
  return d;
}

float cd_test_randf(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return (float)((*s >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

void cd_test_fill(float *x, size_t n, uint64_t seed, float scale) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; i++) x[i] = scale * cd_test_randf(&s);
}

int cd_test_finish(const char *name) {
  printf("%s: %d checks, %d failed\n", name, cd_test_checks, cd_test_failures);
  return cd_test_failures ? 1 : 0;
}

int cd_test_make_tmpdir(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "/tmp/%s_XXXXXX", name);
  if (!mkdtemp(buf)) {
    perror("mkdtemp");
    return -1;
  }
  return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

void cd_test_remove_tmpdir(const char *dir) {
  if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

const char *cd_test_path(const char *dir, const char *name) {
  static char p[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
  return p[k];
}

int cd_test_same_file(const char *a, const char *b) {
  uint8_t *x = NULL, *y = NULL;
  size_t nx = 0, ny = 0;
  int same = !cd_file_read(a, (size_t)1 << 30, &x, &nx, NULL) && !cd_file_read(b, (size_t)1 << 30, &y, &ny, NULL) && nx == ny &&
             (nx == 0 || !memcmp(x, y, nx));
  free(x), free(y);
  return same;
}

int cd_test_write_file(const char *path, const void *data, size_t n) {
  FILE *fp = fopen(path, "wb");
  if (!fp) return -1;
  int ok = (n == 0 || fwrite(data, 1, n, fp) == n);
  return (fclose(fp) == 0 && ok) ? 0 : -1;
}
