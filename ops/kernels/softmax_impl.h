/* In-place row softmax with an optional causal mask, as portable loops the compiler
 * vectorises; included by every kernels_<level>.c (level_ops.h). Row i keeps columns
 * < len = causal ? i + 1 + diag : N (diag: the row's offset in its sequence), and masked
 * columns become exactly 0, as PyTorch's -inf mask gives. Single-threaded. */
#ifndef CD_SOFTMAX_KERNELS_H
#define CD_SOFTMAX_KERNELS_H

#include <math.h>
#include <stddef.h>

#include "ops/kernels/vecmath.h"

CD_VEC_FN static inline void softmax_rows_impl(float *x, int M, int N, ptrdiff_t ld, int causal, int diag) {
  for (int i = 0; i < M; i++) {
    float *r = x + (ptrdiff_t)i * ld, mx = -INFINITY, sum = 0.0f;
    int len = causal ? i + 1 + diag : N;
    if (len > N) len = N;
#pragma omp simd reduction(max : mx)
    for (int j = 0; j < len; j++) mx = r[j] > mx ? r[j] : mx;
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j < len; j++) sum += r[j] = cd_expf_fast(r[j] - mx);
    float inv = 1.0f / sum;
#pragma omp simd
    for (int j = 0; j < len; j++) r[j] *= inv;
    for (int j = len; j < N; j++) r[j] = 0.0f;
  }
}

#endif
