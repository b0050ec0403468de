/* Batch image pipeline (see image_batch.h). Files are independent, so each file is one item
 * of the pool: a thread decodes and preprocesses whole files, and takes the next file when
 * done, which balances mixed image sizes. */
#include "data/image/image_batch.h"

#include <string.h>

#include "core/pool.h"
#include "data/image/image.h"

static void one_file(const char *path, int S, float *out, cd_image_status *st) {
  cd_image img;
  cd_error e;
  size_t plane = (size_t)3 * S * S;
  st->ok = 0;
  st->msg[0] = 0;
  if (cd_image_load(path, &img, &e) == 0) {
    if (cd_clip_preprocess(&img, S, out, &e) == 0)
      st->ok = 1;
    else
      cd_fail_prefix(&e, "%s", path); /* preprocessing messages do not name the file */
    cd_image_free(&img);
  }
  if (!st->ok) memcpy(st->msg, e.msg, sizeof st->msg);
  if (!st->ok) memset(out, 0, plane * sizeof(float));
}

typedef struct {
  const char *const *paths;
  int S;
  float *out;
  cd_image_status *status;
} batch_job;

static void file_item(void *ctx, int i, int worker) {
  const batch_job *j = ctx;
  one_file(j->paths[i], j->S, j->out + (size_t)i * 3 * j->S * j->S, &j->status[i]);
}

int cd_image_batch_preprocess(const char *const *paths, int n, int S, int threads, float *out,
                              cd_image_status *status, cd_error *e) {
  if (n < 0 || (n > 0 && (!paths || !out || !status)))
    return cd_fail(e, "image batch: bad arguments (n = %d)", n);
  if (S < 1 || S > 4096) return cd_fail(e, "image batch: image size %d is out of range", S);
  batch_job j = {paths, S, out, status};
  cd_pool_run(n, threads, file_item, &j);
  int failed = 0;
  for (int i = 0; i < n; i++) failed += !status[i].ok;
  return failed;
}

int cd_image_batch_first_failure(const cd_image_status *status, int n) {
  for (int i = 0; i < n; i++)
    if (!status[i].ok) return i;
  return -1;
}
