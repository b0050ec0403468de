/* AVX-512F micro-kernel: a 12 x 32 tile of C in 24 zmm accumulators (of 32 registers); per k
 * step two 16-wide loads of the packed B row and twelve broadcasts of the packed A column.
 * Selected only when cd_cpu_best_isa() reports AVX-512 with OS support. */
#include "ops/gemm.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

void cd_gemm_ukernel_avx512(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                            float alpha, float beta) {
  enum { MR = CD_GEMM_AVX512_MR };
  __m512 acc0[MR], acc1[MR];
  for (int i = 0; i < MR; i++) acc0[i] = acc1[i] = _mm512_setzero_ps();
  for (int p = 0; p < kc; p++, a += MR, b += 32) {
    __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
    /* Fully unrolled so the accumulators stay in registers. */
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
      __m512 ai = _mm512_set1_ps(a[i]);
      acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
    }
  }
  __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int i = 0; i < MR; i++) {
    float *ci = c + i * ldc;
    if (beta == 0.0f) {
      _mm512_storeu_ps(ci, _mm512_mul_ps(va, acc0[i]));
      _mm512_storeu_ps(ci + 16, _mm512_mul_ps(va, acc1[i]));
    } else {
      _mm512_storeu_ps(ci, _mm512_fmadd_ps(va, acc0[i], _mm512_mul_ps(vb, _mm512_loadu_ps(ci))));
      _mm512_storeu_ps(ci + 16,
                       _mm512_fmadd_ps(va, acc1[i], _mm512_mul_ps(vb, _mm512_loadu_ps(ci + 16))));
    }
  }
}
#else
/* Keeps the translation unit non-empty (ISO C) on other architectures. */
typedef int cd_gemm_avx512_unused;
#endif
