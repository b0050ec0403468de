/* Parallel decode + CLIP preprocessing of a batch of image files into one float32
 * [n, 3, S, S] buffer (files on the thread pool). Each file's failure is recorded separately, so a
 * caller can stop at the first bad file or skip bad files (--skip-bad) and keep going.
 * Memory stays bounded: the caller passes one batch of paths at a time and owns the buffer;
 * at most one decoded image per thread is alive at once. */
#ifndef CD_IMAGE_BATCH_H
#define CD_IMAGE_BATCH_H

#include <stddef.h>

#include "core/error.h"

typedef struct {
  int ok;        /* 1: pixels for this file are in the buffer; 0: failed, see msg */
  char msg[sizeof(cd_error)]; /* the failure message (names the file) */
} cd_image_status;

/* Decodes and preprocesses paths[0..n) at size S into out (n * 3 * S * S floats); slot i of
 * out belongs to paths[i] (a failed file's slot is zero-filled). status (n entries) receives
 * per-file results. threads <= 0 uses cd_threads_get(). Returns the number of files that
 * failed (0 = all fine); -1 only for bad arguments (message in e). */
int cd_image_batch_preprocess(const char *const *paths, int n, int S, int threads, float *out,
                              cd_image_status *status, cd_error *e);

/* Index of the first failed file in status[0..n), or -1 when all succeeded. */
int cd_image_batch_first_failure(const cd_image_status *status, int n);

#endif
