/* Decode + CLIP preprocessing throughput of the C pipeline, through the public API
 * (clipdebias_preprocess_image_files). Usage: bench_preprocess <threads> <S> <image>...
 * Prints images/s. */
#include <stdio.h>
#include <stdlib.h>

#include "clipdebias.h"
#include "tools/cli/args.h"

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s <threads> <S> <image>...\n", argv[0]);
    return 2;
  }
  int threads, S, n = argc - 3, batch = 64;
  if (cd_arg_threads(argv[1], &threads) || cd_arg_int("S", argv[2], 1, 4096, &S)) return 2;
  float *out = malloc((size_t)batch * 3 * S * S * sizeof(float));
  char err[1024];
  double best = 1e30;
  for (int rep = 0; out && rep < 3; rep++) {
    double t0 = clipdebias_seconds();
    for (int i = 0; i < n; i += batch) {
      int k = n - i < batch ? n - i : batch;
      if (clipdebias_preprocess_image_files((const char *const *)argv + 3 + i, k, S, out, err, sizeof err)) {
        fprintf(stderr, "bench_preprocess: %s\n", err);
        return free(out), 1;
      }
    }
    double dt = clipdebias_seconds() - t0;
    if (dt < best) best = dt;
  }
  if (!out) return fprintf(stderr, "bench_preprocess: out of memory\n"), 1;
  printf("C pipeline: %d images in %.3f s (best of 3, %d threads): %.1f images/s\n", n, best, threads, n / best);
  free(out);
  return 0;
}
