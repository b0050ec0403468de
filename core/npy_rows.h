/* A [rows, D] .npy file of float32 (or float16: each appended float32 row rounded to nearest
 * even) grown by appending rows: for outputs that should not be held
 * in memory (a data set's features) and for progress checkpoints that cost only the rows added
 * since the last one.
 *
 * The file always starts with the header cd_npy_save writes for its shape; numpy's header
 * leaves room for the first axis to grow, so adding rows rewrites the header in place and the
 * finished file is byte-identical to cd_npy_save of the same rows. Finishing is a rename.
 *
 * Durability: cd_npy_rows_sync makes the rows appended so far durable (header updated, data
 * flushed and fdatasync'ed). A crash afterwards leaves a file holding at least those rows,
 * possibly followed by later ones; cd_npy_rows_reopen with the row count that was made durable
 * cuts the rest off and appends from there.
 *
 *   cd_npy_rows f;
 *   if (cd_npy_rows_create(&f, "out.partial.npy", D, CD_F32, e)) return -1;
 *   while (...) if (cd_npy_rows_append(&f, batch, n, e)) ...;
 *   cd_npy_rows_commit(&f, "out.npy", e);   (or cd_npy_rows_close(&f) to keep it) */
#ifndef CD_NPY_ROWS_H
#define CD_NPY_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "core/dtype.h"
#include "core/error.h"

typedef struct {
  int fd, is_open;  /* a zeroed struct is closed */
  int64_t rows, D;  /* rows appended so far, values per row */
  cd_dtype dtype;   /* stored: CD_F32 or CD_F16 */
  size_t header;    /* bytes before row 0 */
  char path[4096];
} cd_npy_rows;

/* Creates (or empties) path as a [0, D] array of dtype (CD_F32 or CD_F16). */
int cd_npy_rows_create(cd_npy_rows *f, const char *path, int64_t D, cd_dtype dtype, cd_error *e);
/* Opens an existing file written by this module, checks it is dtype [*, D] holding at least
 * `rows` rows, and truncates it to exactly `rows` rows (later appends follow them). */
int cd_npy_rows_reopen(cd_npy_rows *f, const char *path, int64_t D, cd_dtype dtype, int64_t rows, cd_error *e);
/* Appends n rows (x is float32 [n, D]; stored as the file's dtype). */
int cd_npy_rows_append(cd_npy_rows *f, const float *x, int64_t n, cd_error *e);
/* Writes the header for the current row count and fdatasyncs the file. */
int cd_npy_rows_sync(cd_npy_rows *f, cd_error *e);
/* Sync, close, and rename the file to dest (the finished output). */
int cd_npy_rows_commit(cd_npy_rows *f, const char *dest, cd_error *e);
/* Closes without syncing (the file stays as it is). Safe on a closed or zeroed struct. */
void cd_npy_rows_close(cd_npy_rows *f);

#endif
