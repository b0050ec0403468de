/* LayerNorm of rows over the last dim C, two-pass mean/variance in float, as portable loops
 * the compiler vectorises; included by every kernels_<level>.c (level_ops.h). Single-threaded. */
#ifndef CD_LAYERNORM_KERNELS_H
#define CD_LAYERNORM_KERNELS_H

#include <math.h>
#include <stddef.h>

static inline void layernorm_row_stats(const float *x, int C, float eps, float *mean, float *rstd) {
  float s = 0.0f, v = 0.0f;
#pragma omp simd reduction(+ : s)
  for (int c = 0; c < C; c++) s += x[c];
  float mu = s / C;
#pragma omp simd reduction(+ : v)
  for (int c = 0; c < C; c++) v += (x[c] - mu) * (x[c] - mu);
  *mean = mu;
  *rstd = 1.0f / sqrtf(v / C + eps);
}

static inline void layernorm_rows_impl(float *out, float *mean, float *rstd, const float *inp,
                                       const float *w, const float *b, int M, int C, float eps) {
  for (int m = 0; m < M; m++) {
    const float *x = inp + (size_t)m * C;
    float *y = out + (size_t)m * C, mu, rs;
    layernorm_row_stats(x, C, eps, &mu, &rs);
#pragma omp simd
    for (int c = 0; c < C; c++) y[c] = (x[c] - mu) * rs * w[c] + b[c];
    if (mean) mean[m] = mu;
    if (rstd) rstd[m] = rs;
  }
}

#endif
