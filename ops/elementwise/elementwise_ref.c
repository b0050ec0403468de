/* Plain C reference of the residual add and the row softmax: the simplest loops that follow the
 * math, single-threaded, accumulating in double. The ground truth every fast kernel is
 * tested against (tests/test_kernels.c, tests/test_ops_*.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

void cd_add_forward_ref(float *out, const float *a, const float *b, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void cd_softmax_forward_ref(float *out, const float *inp, int M, int N) {
  for (int m = 0; m < M; m++) {
    const float *x = inp + (size_t)m * N;
    double mx = -INFINITY, sum = 0;
    for (int n = 0; n < N; n++)
      if (x[n] > mx) mx = x[n];
    for (int n = 0; n < N; n++) sum += exp(x[n] - mx);
    for (int n = 0; n < N; n++) out[(size_t)m * N + n] = (float)(exp(x[n] - mx) / sum);
  }
}
