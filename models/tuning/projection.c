/* Linear projection of embeddings (see projection.h); sums in double, in index order. */
#include "models/tuning/projection.h"

#include <stddef.h>

void cd_projection_forward(const cd_projection *p, const float *x, int N, float *y) {
  const int D = p->D, K = p->K;
#pragma omp parallel for schedule(static) if ((long long)N * D * K > 1 << 18)
  for (int i = 0; i < N; i++) {
    const float *xi = x + (size_t)i * D;
    for (int k = 0; k < K; k++) {
      double s = 0;
      for (int d = 0; d < D; d++) s += (double)xi[d] * p->P[(size_t)d * K + k];
      y[(size_t)i * K + k] = (float)s;
    }
  }
}

void cd_projection_backward(const cd_projection *p, const float *dy, int N, float *dx) {
  const int D = p->D, K = p->K;
  for (int i = 0; i < N; i++) {
    const float *g = dy + (size_t)i * K;
    for (int d = 0; d < D; d++) {
      const float *row = p->P + (size_t)d * K;
      double s = 0;
      for (int k = 0; k < K; k++) s += (double)g[k] * row[k];
      dx[(size_t)i * D + d] = (float)s;
    }
  }
}
