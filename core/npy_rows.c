/* Appendable float32 / float16 [rows, D] .npy files (see npy_rows.h). Every write names its offset
 * (pwrite), so the header can be rewritten while rows are appended. */
#include "core/npy_rows.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/npy.h"

static size_t header_for(const cd_npy_rows *f, int64_t rows, uint8_t out[CD_NPY_HEADER_MAX]) {
  int64_t shape[2] = {rows, f->D};
  return cd_npy_header(f->dtype, 2, shape, out, NULL);
}

static size_t elem(const cd_npy_rows *f) { return cd_dtype_size(f->dtype); }

static int pwrite_all(int fd, const void *data, size_t n, off_t at) {
  const uint8_t *p = data;
  while (n) {
    ssize_t k = pwrite(fd, p, n, at);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    p += k, n -= (size_t)k, at += k;
  }
  return 0;
}

static off_t row_offset(const cd_npy_rows *f, int64_t row) { return (off_t)f->header + (off_t)row * (off_t)f->D * (off_t)elem(f); }

static int write_header(cd_npy_rows *f, cd_error *e) {
  uint8_t head[CD_NPY_HEADER_MAX];
  if (header_for(f, f->rows, head) != f->header) return cd_fail(e, "%s: %lld rows do not fit the header", f->path, (long long)f->rows);
  if (pwrite_all(f->fd, head, f->header, 0)) return cd_fail(e, "%s: write failed: %s", f->path, strerror(errno));
  return 0;
}

static int start(cd_npy_rows *f, const char *path, int64_t D, cd_dtype dtype, cd_error *e) {
  memset(f, 0, sizeof *f);
  uint8_t head[CD_NPY_HEADER_MAX];
  if (strlen(path) >= sizeof f->path) return cd_fail(e, "%s: path too long", path);
  if (dtype != CD_F32 && dtype != CD_F16) return cd_fail(e, "%s: rows are stored as float32 or float16 only", path);
  f->D = D, f->dtype = dtype;
  if (D < 1 || !(f->header = header_for(f, 0, head))) return cd_fail(e, "%s: bad row width %lld", path, (long long)D);
  snprintf(f->path, sizeof f->path, "%s", path);
  return 0;
}

int cd_npy_rows_create(cd_npy_rows *f, const char *path, int64_t D, cd_dtype dtype, cd_error *e) {
  if (start(f, path, D, dtype, e)) return -1;
  f->fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (f->fd < 0) return cd_fail(e, "%s: cannot create: %s", path, strerror(errno));
  f->is_open = 1;
  if (write_header(f, e)) return cd_npy_rows_close(f), -1;
  return 0;
}

/* The header is exactly the one this module writes for [R, D], some R. */
static int header_matches(const cd_npy_rows *f, const uint8_t *got, size_t n_got) {
  uint8_t want[CD_NPY_HEADER_MAX];
  header_for(f, 0, want);
  const char *open_paren = memchr(want, '(', f->header);
  size_t at = (size_t)((const uint8_t *)open_paren - want) + 1;
  if (n_got < f->header || memcmp(got, want, at)) return 0;
  char digits[24] = {0};
  for (size_t i = 0; i < sizeof digits - 1 && at + i < f->header && got[at + i] >= '0' && got[at + i] <= '9'; i++) digits[i] = (char)got[at + i];
  if (!digits[0]) return 0;
  header_for(f, strtoll(digits, NULL, 10), want);
  return !memcmp(got, want, f->header);
}

int cd_npy_rows_reopen(cd_npy_rows *f, const char *path, int64_t D, cd_dtype dtype, int64_t rows, cd_error *e) {
  if (start(f, path, D, dtype, e)) return -1;
  f->fd = open(path, O_RDWR);
  if (f->fd < 0) return cd_fail(e, "%s: cannot open: %s", path, strerror(errno));
  f->is_open = 1;
  uint8_t head[CD_NPY_HEADER_MAX];
  struct stat st;
  ssize_t got = fstat(f->fd, &st) == 0 ? pread(f->fd, head, f->header, 0) : -1;
  int rc = 0;
  if (got < 0) rc = cd_fail(e, "%s: cannot read: %s", path, strerror(errno));
  else if (!header_matches(f, head, (size_t)got))
    rc = cd_fail(e, "%s: not a %s [rows, %lld] array written by clipdebias", path, dtype == CD_F16 ? "float16" : "float32",
                 (long long)D);
  else if (rows < 0 || st.st_size < row_offset(f, rows))
    rc = cd_fail(e, "%s: holds %lld complete rows, fewer than the %lld expected", path,
                 (long long)((st.st_size - (off_t)f->header) / (D * (off_t)elem(f))), (long long)rows);
  if (rc == 0 && ftruncate(f->fd, row_offset(f, rows)) != 0) rc = cd_fail(e, "%s: cannot truncate: %s", path, strerror(errno));
  f->rows = rows;
  if (rc == 0) rc = write_header(f, e);
  if (rc) cd_npy_rows_close(f);
  return rc;
}

int cd_npy_rows_append(cd_npy_rows *f, const float *x, int64_t n, cd_error *e) {
  size_t bytes, count = (size_t)n * (size_t)f->D;
  if (n < 0 || !cd_mul_ok((size_t)n, (size_t)f->D * elem(f), &bytes)) return cd_fail(e, "%s: bad row count %lld", f->path, (long long)n);
  const void *data = x;
  uint16_t *half = NULL;
  if (f->dtype == CD_F16 && bytes) {
    if (!(half = cd_malloc(bytes, e))) return -1;
    for (size_t i = 0; i < count; i++) half[i] = cd_f32_to_f16(x[i]);
    data = half;
  }
  int rc = bytes && pwrite_all(f->fd, data, bytes, row_offset(f, f->rows)) ? cd_fail(e, "%s: write failed: %s", f->path, strerror(errno)) : 0;
  free(half);
  if (rc == 0) f->rows += n;
  return rc;
}

int cd_npy_rows_sync(cd_npy_rows *f, cd_error *e) {
  if (write_header(f, e)) return -1;
  if (fdatasync(f->fd) != 0 && errno != EINVAL) return cd_fail(e, "%s: cannot sync to disk: %s", f->path, strerror(errno));
  return 0;
}

int cd_npy_rows_commit(cd_npy_rows *f, const char *dest, cd_error *e) {
  int rc = cd_npy_rows_sync(f, e);
  if (close(f->fd) != 0 && rc == 0) rc = cd_fail(e, "%s: write failed: %s", f->path, strerror(errno));
  f->is_open = 0;
  if (rc == 0 && rename(f->path, dest) != 0) rc = cd_fail(e, "%s: cannot move %s into place: %s", dest, f->path, strerror(errno));
  return rc;
}

void cd_npy_rows_close(cd_npy_rows *f) {
  if (f->is_open) close(f->fd);
  f->is_open = 0;
}
