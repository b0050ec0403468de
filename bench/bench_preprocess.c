/* Decode + CLIP preprocessing throughput of the C pipeline (data/image/image_batch.h).
 * Usage: bench_preprocess <threads> <S> <image>...   Prints images/s. */
#include <stdio.h>
#include <stdlib.h>

#include "core/progress.h"
#include "data/image/image_batch.h"

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s <threads> <S> <image>...\n", argv[0]);
    return 2;
  }
  int threads = atoi(argv[1]), S = atoi(argv[2]), n = argc - 3, batch = 64;
  float *out = malloc((size_t)batch * 3 * S * S * sizeof(float));
  cd_image_status *st = malloc((size_t)batch * sizeof *st);
  cd_error e;
  double best = 1e30;
  for (int rep = 0; rep < 3; rep++) {
    double t0 = cd_time_now();
    for (int i = 0; i < n; i += batch) {
      int k = n - i < batch ? n - i : batch;
      int failed = cd_image_batch_preprocess((const char *const *)argv + 3 + i, k, S, threads, out, st, &e);
      if (failed) {
        int j = cd_image_batch_first_failure(st, k);
        fprintf(stderr, "bench_preprocess: %s\n", failed < 0 ? e.msg : st[j].msg);
        return 1;
      }
    }
    double dt = cd_time_now() - t0;
    if (dt < best) best = dt;
  }
  printf("C pipeline: %d images in %.3f s (best of 3, %d threads): %.1f images/s\n", n, best, threads, n / best);
  free(out);
  free(st);
  return 0;
}
