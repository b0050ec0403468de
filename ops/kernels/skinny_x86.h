/* The scalar ends of the skinny products shared by the x86 kernel files (included only by
 * kernels_avx2.c and kernels_avx512.c). The AVX-512 kernels give the same bits as the AVX2
 * ones: the vector parts keep each output's lane sums and additions in the same order, and
 * these parts (the forward's K tail and bias, the backward's last partial column strip) are
 * one code in both files, compiled with the same floating-point flags. */
#ifndef CD_SKINNY_X86_H
#define CD_SKINNY_X86_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Element i of the weight: float32, or bfloat16 widened exactly (shifted into the high half). */
static inline float cd_x86_skinny_w(const void *W, int BF, size_t i) {
  if (BF) {
    uint32_t u = (uint32_t)((const uint16_t *)W)[i] << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
  }
  return ((const float *)W)[i];
}

/* The forward's output from s, the vector part's sum over k < K8: the products k in [K8, K)
 * added in order, then the bias (w: the weight row's first element, x: the input row). */
static inline float cd_x86_skinny_out(float s, const void *W, int BF, size_t w, const float *x, int K8,
                                      int K, const float *bias, int n) {
  for (int k = K8; k < K; k++) s += cd_x86_skinny_w(W, BF, w + k) * x[k];
  return s + (bias ? bias[n] : 0.0f);
}

/* The backward's columns [c0, j1) of dX (the last partial strip), weight rows in order. */
static inline void cd_x86_skinny_dx_tail(float *dX, const float *dY, const void *W, int BF, int M, int K,
                                         int N, int c0, int j1) {
  for (int m = 0; m < M; m++)
    for (int p = 0; p < N; p++) {
      float gv = dY[(size_t)m * N + p];
      size_t w = (size_t)p * K;
      float *d = dX + (size_t)m * K;
      for (int k = c0; k < j1; k++) d[k] += gv * cd_x86_skinny_w(W, BF, w + k);
    }
}

#endif
