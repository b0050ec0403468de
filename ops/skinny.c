/* Dispatch and plain C versions of the skinny products (see ops/skinny.h). */
#include "ops/skinny.h"

#include <stddef.h>

#include "core/cpu.h"

static int use_avx2(cd_isa isa) { return isa == CD_ISA_AVX2 || isa == CD_ISA_AVX512; }

void cd_skinny_linear_forward_ref(float *out, const float *X, const float *W, const float *bias,
                                  int M, int K, int N) {
#pragma omp parallel for schedule(static) if ((double)M * N * K > 1e6)
  for (int n = 0; n < N; n++)
    for (int m = 0; m < M; m++) {
      const float *x = X + (size_t)m * K, *w = W + (size_t)n * K;
      float s = 0;
      for (int k = 0; k < K; k++) s += x[k] * w[k];
      out[(size_t)m * N + n] = s + (bias ? bias[n] : 0.0f);
    }
}

void cd_skinny_linear_backward_ref(float *dX, const float *dY, const float *W, int M, int K,
                                   int N) {
#pragma omp parallel for schedule(static) if ((double)M * N * K > 1e6)
  for (int m = 0; m < M; m++)
    for (int p = 0; p < N; p++) {
      float g = dY[(size_t)m * N + p];
      const float *w = W + (size_t)p * K;
      float *d = dX + (size_t)m * K;
      for (int k = 0; k < K; k++) d[k] += g * w[k];
    }
}

void cd_skinny_linear_forward(cd_isa isa, float *out, const float *X, const float *W,
                              const float *bias, int M, int K, int N) {
  if (M <= 0 || N <= 0) return;
#if defined(__x86_64__) || defined(_M_X64)
  if (use_avx2(isa)) {
    cd_skinny_linear_forward_avx2(out, X, W, bias, M, K, N);
    return;
  }
#endif
  cd_skinny_linear_forward_ref(out, X, W, bias, M, K, N);
}

void cd_skinny_linear_backward(cd_isa isa, float *dX, const float *dY, const float *W, int M,
                               int K, int N) {
  if (M <= 0 || N <= 0 || K <= 0) return;
#if defined(__x86_64__) || defined(_M_X64)
  if (use_avx2(isa)) {
    cd_skinny_linear_backward_avx2(dX, dY, W, M, K, N);
    return;
  }
#endif
  cd_skinny_linear_backward_ref(dX, dY, W, M, K, N);
}
