/* AVX2 + FMA micro-kernel: a 6 x 16 tile of C in 12 ymm accumulators; per k step two 8-wide
 * loads of the packed B row and six broadcasts of the packed A column (BLIS haswell shape). */
#include "ops/gemm.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define ROW(i)                                      \
  do {                                              \
    __m256 ai = _mm256_broadcast_ss(a + (i));       \
    c##i##0 = _mm256_fmadd_ps(ai, b0, c##i##0);     \
    c##i##1 = _mm256_fmadd_ps(ai, b1, c##i##1);     \
  } while (0)

#define STORE(i)                                                                            \
  do {                                                                                      \
    float *ci = c + (i) * ldc;                                                              \
    if (beta == 0.0f) {                                                                     \
      _mm256_storeu_ps(ci, _mm256_mul_ps(va, c##i##0));                                    \
      _mm256_storeu_ps(ci + 8, _mm256_mul_ps(va, c##i##1));                                \
    } else {                                                                                \
      _mm256_storeu_ps(ci, _mm256_fmadd_ps(va, c##i##0, _mm256_mul_ps(vb, _mm256_loadu_ps(ci)))); \
      _mm256_storeu_ps(ci + 8,                                                              \
                       _mm256_fmadd_ps(va, c##i##1, _mm256_mul_ps(vb, _mm256_loadu_ps(ci + 8)))); \
    }                                                                                       \
  } while (0)

void cd_gemm_ukernel_avx2(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                          float alpha, float beta) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int p = 0; p < kc; p++, a += 6, b += 16) {
    __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    ROW(0); ROW(1); ROW(2); ROW(3); ROW(4); ROW(5);
  }
  __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  STORE(0); STORE(1); STORE(2); STORE(3); STORE(4); STORE(5);
}
#else
/* Keeps the translation unit non-empty (ISO C) on other architectures. */
typedef int cd_gemm_avx2_unused;
#endif
