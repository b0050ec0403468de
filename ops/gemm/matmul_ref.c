/* Plain C reference of the Linear layer (forward and backward): the simplest loops that follow the
 * math, single-threaded, accumulating in double. The ground truth every fast kernel is
 * tested against (tests/test_kernels.c, tests/test_ops_*.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

void cd_matmul_forward_ref(float *out, const float *inp, const float *weight, const float *bias,
                           int M, int K, int N) {
  for (int m = 0; m < M; m++)
    for (int n = 0; n < N; n++) {
      double s = bias ? bias[n] : 0.0;
      for (int k = 0; k < K; k++) s += (double)inp[(size_t)m * K + k] * weight[(size_t)n * K + k];
      out[(size_t)m * N + n] = (float)s;
    }
}

void cd_matmul_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout,
                            const float *inp, const float *weight, int M, int K, int N) {
  if (dinp)
    for (int m = 0; m < M; m++)
      for (int k = 0; k < K; k++) {
        double s = 0;
        for (int n = 0; n < N; n++) s += (double)dout[(size_t)m * N + n] * weight[(size_t)n * K + k];
        dinp[(size_t)m * K + k] += (float)s;
      }
  if (dweight)
    for (int n = 0; n < N; n++)
      for (int k = 0; k < K; k++) {
        double s = 0;
        for (int m = 0; m < M; m++) s += (double)dout[(size_t)m * N + n] * inp[(size_t)m * K + k];
        dweight[(size_t)n * K + k] += (float)s;
      }
  if (dbias)
    for (int n = 0; n < N; n++) {
      double s = 0;
      for (int m = 0; m < M; m++) s += dout[(size_t)m * N + n];
      dbias[n] += (float)s;
    }
}

