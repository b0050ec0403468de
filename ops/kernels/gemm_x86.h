/* Weight packers shared by the x86 GEMM kernel files (included only by kernels_avx2.c and
 * kernels_avx512.c, both compiled with AVX2 + F16C): panels of NR columns (a multiple of 8)
 * built from 8 x 8 register transposes of float32 rows, or converted to half precision. */
#ifndef CD_GEMM_X86_H
#define CD_GEMM_X86_H

#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#include "ops/kernels/kernels.h"

/* A kernel file's float32 tile entry point `name` over its inlined tile_body(kc, a, rs, cs, b,
 * c, ldc, accumulate, bnext): four copies of the loop, A packed (strides 1, MR) or read in
 * place (lda, 1), with or without the prefetch of the next B panel, so that constant strides
 * and a NULL known at compile time keep each loop minimal. */
#define CD_X86_TILE_FP32(name, body, MR)                                            \
  static void name(const cd_tile *t) {                                             \
    const float *a = t->a, *bn = t->b_next;                                       \
    if (t->lda > 0) {                                                               \
      if (bn) body(t->kc, a, t->lda, 1, t->b, t->c, t->ldc, t->accumulate, bn);     \
      else body(t->kc, a, t->lda, 1, t->b, t->c, t->ldc, t->accumulate, NULL);      \
    } else {                                                                        \
      if (bn) body(t->kc, a, 1, MR, t->b, t->c, t->ldc, t->accumulate, bn);         \
      else body(t->kc, a, 1, MR, t->b, t->c, t->ldc, t->accumulate, NULL);          \
    }                                                                               \
  }

/* Transposes 8 rows x 8 columns (row i at src + i*ld) into dst[q * ldd + i]. */
static inline void cd_x86_transpose8(const float *src, ptrdiff_t ld, float *dst, ptrdiff_t ldd) {
  __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + ld);
  __m256 r2 = _mm256_loadu_ps(src + 2 * ld), r3 = _mm256_loadu_ps(src + 3 * ld);
  __m256 r4 = _mm256_loadu_ps(src + 4 * ld), r5 = _mm256_loadu_ps(src + 5 * ld);
  __m256 r6 = _mm256_loadu_ps(src + 6 * ld), r7 = _mm256_loadu_ps(src + 7 * ld);
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(dst + 0 * ldd, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(dst + 1 * ldd, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(s3, s7, 0x31));
}

/* A full panel of NR float32 rows (row stride ldw) over K steps: dst[p * NR + j] = W[j][p]. */
static inline void cd_x86_pack_b16_f32(const float *W, size_t ldw, int K, float *dst, int NR) {
  int p = 0;
  for (; p + 8 <= K; p += 8)
    for (int j = 0; j < NR; j += 8) cd_x86_transpose8(W + (size_t)j * ldw + p, (ptrdiff_t)ldw, dst + (size_t)p * NR + j, NR);
  for (; p < K; p++)
    for (int j = 0; j < NR; j++) dst[(size_t)p * NR + j] = W[(size_t)j * ldw + p];
}

/* A panel of nr rows of W (any dtype) as IEEE half: float32 sources are transposed in
 * float32 (a scratch of 8 steps) and rounded to nearest even by F16C. */
static inline void cd_x86_pack_b_f16(const void *W, cd_dtype dtype, size_t ldw, int nr, int K,
                                     void *dst, int NR) {
  uint16_t *d = dst;
  if (dtype == CD_F16) {
    for (int j = 0; j < NR; j++)
      for (int p = 0; p < K; p++) {
        uint16_t h = 0;
        if (j < nr) memcpy(&h, (const unsigned char *)W + 2 * ((size_t)j * ldw + p), 2);
        d[(size_t)p * NR + j] = h;
      }
    return;
  }
  float tmp[8 * 64];
  for (int p0 = 0; p0 < K; p0 += 8) {
    int kk = K - p0 < 8 ? K - p0 : 8;
    if (dtype == CD_F32 && nr == NR && kk == 8 && NR <= 64)
      for (int j = 0; j < NR; j += 8) cd_x86_transpose8((const float *)W + (size_t)j * ldw + p0, (ptrdiff_t)ldw, tmp + j, NR);
    else
      for (int p = 0; p < kk; p++)
        for (int j = 0; j < NR; j++) tmp[p * NR + j] = j < nr ? cd_gemm_load(W, dtype, (size_t)j * ldw + p0 + p) : 0.0f;
    for (int p = 0; p < kk; p++)
      for (int j = 0; j < NR; j += 8)
        _mm_storeu_si128((__m128i *)(d + (size_t)(p0 + p) * NR + j),
                         _mm256_cvtps_ph(_mm256_loadu_ps(tmp + p * NR + j), _MM_FROUND_TO_NEAREST_INT));
  }
}

#endif
