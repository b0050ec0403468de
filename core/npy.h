/* NumPy .npy (format 1.0/2.0/3.0) read and write: the interchange format for features,
 * labels, pixels and gradients. Supported dtypes: <f4, <f8 (read), <i4, <i8, |u1, |b1 (read);
 * C order only (fortran_order True is rejected with a clear message). Writes are atomic. */
#ifndef CD_NPY_H
#define CD_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "core/dtype.h"
#include "core/error.h"
#include "core/file.h"

typedef struct {
  cd_dtype dtype;
  int ndim;
  int64_t shape[8];
  size_t numel;
  void *data; /* malloc'd, owned; aligned to 64 bytes */
} cd_array;

int cd_npy_load(const char *path, cd_array *a, cd_error *e);
/* Same from a buffer (the data is copied into a); `what` names it in messages. */
int cd_npy_load_memory(const uint8_t *buf, size_t size, const char *what, cd_array *a, cd_error *e);
void cd_array_free(cd_array *a);

/* Loads and converts to float32 (from f4/f8/i4/i8/u1). Checks ndim when expect_ndim > 0. */
int cd_npy_load_f32(const char *path, int expect_ndim, cd_array *a, cd_error *e);
/* Loads integer labels (i4/i8/u1/b1) into int32, 1-D (or [N,1]) only. */
int cd_npy_load_labels(const char *path, cd_array *a, cd_error *e);

/* A .npy file mapped read-only instead of read: a.data points at element 0 inside the map
 * (not owned; a.data is NULL only for an empty array). The header and the file size are
 * checked exactly as cd_npy_load checks them (a truncated file is refused). Pages are read
 * on first access and are the page cache's: processes mapping one file share them. */
typedef struct {
  cd_array a;
  cd_file file; /* core/file.h */
} cd_npy_map;
int cd_npy_map_open(const char *path, cd_npy_map *m, cd_error *e);
void cd_npy_map_close(cd_npy_map *m);
/* Drops the data bytes [off, off + n) from the process's resident set after a caller has
 * read them once (they stay in the page cache; a later access reads them again). */
void cd_npy_map_release(const cd_npy_map *m, size_t off, size_t n);

int cd_npy_save(const char *path, cd_dtype dtype, int ndim, const int64_t *shape,
                const void *data, cd_error *e);
static inline int cd_npy_save_f32(const char *path, int ndim, const int64_t *shape,
                                  const float *data, cd_error *e) {
  return cd_npy_save(path, CD_F32, ndim, shape, data, e);
}

/* The header cd_npy_save writes for this dtype and shape (magic, version, the dict padded
 * with room for the first axis to grow to 21 digits, data starting on a 64-byte boundary):
 * its length, or 0 for a dtype .npy cannot hold or a bad shape. *nbytes (may be NULL)
 * receives the data size. The length does not depend on shape[0], so a file's header can be
 * rewritten in place as rows are added (core/npy_rows.h). */
#define CD_NPY_HEADER_MAX 640
size_t cd_npy_header(cd_dtype dtype, int ndim, const int64_t *shape, uint8_t out[CD_NPY_HEADER_MAX], size_t *nbytes);

#endif
