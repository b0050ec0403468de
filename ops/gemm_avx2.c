/* AVX2 + FMA micro-kernel: a 6 x 16 tile of C in 12 ymm accumulators; per k step two 8-wide
 * loads of the packed B row and six broadcasts of the packed A column (BLIS haswell shape). */
#include "ops/gemm.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define ROW(o, i)                                   \
  do {                                              \
    __m256 ai = _mm256_broadcast_ss(a + (o));       \
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

#define STEP(k)                                                   \
  do {                                                            \
    b0 = _mm256_load_ps(b + 16 * (k));                            \
    b1 = _mm256_load_ps(b + 16 * (k) + 8);                        \
    ROW(6 * (k) + 0, 0); ROW(6 * (k) + 1, 1); ROW(6 * (k) + 2, 2); \
    ROW(6 * (k) + 3, 3); ROW(6 * (k) + 4, 4); ROW(6 * (k) + 5, 5); \
  } while (0)

void cd_gemm_ukernel_avx2(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                          float alpha, float beta) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, b0, b1;
  /* The tile of C is read (and written) only after the loop: start fetching it now. */
  for (int i = 0; i < 6; i++) {
    _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch((const char *)(c + i * ldc + 15), _MM_HINT_T0);
  }
  int p = 0;
  for (; p + 4 <= kc; p += 4, a += 24, b += 64) {
    _mm_prefetch((const char *)(a + 96), _MM_HINT_T0); /* A streams from L2 */
    STEP(0); STEP(1);
    _mm_prefetch((const char *)(a + 112), _MM_HINT_T0);
    STEP(2); STEP(3);
  }
  for (; p < kc; p++, a += 6, b += 16) STEP(0);
  __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  STORE(0); STORE(1); STORE(2); STORE(3); STORE(4); STORE(5);
}

/* Transposes 8 rows x 8 columns (rows r[i], contiguous) into dst[q * 16 + i]. */
static void transpose8(const float *src, ptrdiff_t ld, float *dst) {
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
  _mm256_store_ps(dst + 0 * 16, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_store_ps(dst + 1 * 16, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_store_ps(dst + 2 * 16, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_store_ps(dst + 3 * 16, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_store_ps(dst + 4 * 16, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_store_ps(dst + 5 * 16, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_store_ps(dst + 6 * 16, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_store_ps(dst + 7 * 16, _mm256_permute2f128_ps(s3, s7, 0x31));
}

/* Packing a Linear weight panel is a 16 x kc transpose; doing it 8 x 8 in registers keeps
 * it well below the micro-kernel's cost even when M is only a few rows. dst is 64-byte
 * aligned (packed buffers are). */
void cd_gemm_pack_bt_avx2(const float *B, ptrdiff_t ldb, int kc, float *dst) {
  int p = 0;
  for (; p + 8 <= kc; p += 8) {
    transpose8(B + p, ldb, dst + (size_t)p * 16);
    transpose8(B + 8 * ldb + p, ldb, dst + (size_t)p * 16 + 8);
  }
  for (; p < kc; p++)
    for (int j = 0; j < 16; j++) dst[(size_t)p * 16 + j] = B[j * ldb + p];
}
/* Packs a full 6-row micro-panel of a row-major A (row i at A + i * lda) for kc steps:
 * 8 x 8 register transposes (rows 6 and 7 are unused copies), each column stored as 4 + 2
 * floats so that nothing outside the panel is written. */
void cd_gemm_pack_a_avx2(const float *A, ptrdiff_t lda, int kc, float *dst) {
  int p = 0;
  for (; p + 8 <= kc; p += 8) {
    const float *s = A + p;
    __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + lda);
    __m256 r2 = _mm256_loadu_ps(s + 2 * lda), r3 = _mm256_loadu_ps(s + 3 * lda);
    __m256 r4 = _mm256_loadu_ps(s + 4 * lda), r5 = _mm256_loadu_ps(s + 5 * lda);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    /* columns q: rows 0-3 from t0..t3, rows 4-5 from t4/t5 */
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    /* s0 = col 0 rows 0-3 | col 4 rows 0-3, s1 = cols 1 | 5, s2 = cols 2 | 6, s3 = cols 3 | 7;
     * t4 = (c0 r4, c0 r5, c1 r4, c1 r5 | c4.., c5..), t5 = (c2.., c3.. | c6.., c7..) */
    float *d = dst + (size_t)p * 6;
    __m128 lo4 = _mm256_castps256_ps128(t4), hi4 = _mm256_extractf128_ps(t4, 1);
    __m128 lo5 = _mm256_castps256_ps128(t5), hi5 = _mm256_extractf128_ps(t5, 1);
    _mm_storeu_ps(d + 0, _mm256_castps256_ps128(s0));
    _mm_storel_pi((__m64 *)(d + 4), lo4);
    _mm_storeu_ps(d + 6, _mm256_castps256_ps128(s1));
    _mm_storeh_pi((__m64 *)(d + 10), lo4);
    _mm_storeu_ps(d + 12, _mm256_castps256_ps128(s2));
    _mm_storel_pi((__m64 *)(d + 16), lo5);
    _mm_storeu_ps(d + 18, _mm256_castps256_ps128(s3));
    _mm_storeh_pi((__m64 *)(d + 22), lo5);
    _mm_storeu_ps(d + 24, _mm256_extractf128_ps(s0, 1));
    _mm_storel_pi((__m64 *)(d + 28), hi4);
    _mm_storeu_ps(d + 30, _mm256_extractf128_ps(s1, 1));
    _mm_storeh_pi((__m64 *)(d + 34), hi4);
    _mm_storeu_ps(d + 36, _mm256_extractf128_ps(s2, 1));
    _mm_storel_pi((__m64 *)(d + 40), hi5);
    _mm_storeu_ps(d + 42, _mm256_extractf128_ps(s3, 1));
    _mm_storeh_pi((__m64 *)(d + 46), hi5);
  }
  for (; p < kc; p++)
    for (int i = 0; i < 6; i++) dst[(size_t)p * 6 + i] = A[i * lda + p];
}
#else
/* Keeps the translation unit non-empty (ISO C) on other architectures. */
typedef int cd_gemm_avx2_unused;
#endif
