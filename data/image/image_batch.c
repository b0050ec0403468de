/* Batch image pipeline (see image_batch.h). Files are independent, so each OpenMP thread
 * decodes and preprocesses whole files; dynamic scheduling balances mixed image sizes. */
#include "data/image/image_batch.h"

#include <string.h>

#include "data/image/image.h"

#ifdef _OPENMP
#include <omp.h>
#endif

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

int cd_image_batch_preprocess(const char *const *paths, int n, int S, int threads, float *out,
                              cd_image_status *status, cd_error *e) {
  if (n < 0 || (n > 0 && (!paths || !out || !status)))
    return cd_fail(e, "image batch: bad arguments (n = %d)", n);
  if (S < 1 || S > 4096) return cd_fail(e, "image batch: image size %d is out of range", S);
  size_t plane = (size_t)3 * S * S;
  int failed = 0;
#ifdef _OPENMP
  int nt = threads > 0 ? threads : omp_get_max_threads();
  if (nt > n) nt = n > 0 ? n : 1;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) reduction(+ : failed)
#endif
  for (int i = 0; i < n; i++) {
    one_file(paths[i], S, out + (size_t)i * plane, &status[i]);
    failed += !status[i].ok;
  }
  (void)threads;
  return failed;
}

int cd_image_batch_first_failure(const cd_image_status *status, int n) {
  for (int i = 0; i < n; i++)
    if (!status[i].ok) return i;
  return -1;
}
