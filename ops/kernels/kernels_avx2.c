/* AVX2 + FMA GEMM kernels: float32 and fp16-weight (F16C widening) tiles of MR x 16, C in
 * 2·MR ymm accumulators; per k step two 8-wide loads of the packed B row and MR broadcasts
 * of the packed A column. MR = 5 divides CLIP's 50 rows per image, so no tile rows are
 * wasted on ViT-B/32 (and 10 accumulators cover the FMA latency). */
#include "ops/gemm/gemm.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include "ops/kernels/gemm_x86.h"

enum { MR = 5, NR = 16 };

#define INLINE static inline __attribute__((always_inline))

/* A's element (i, p) is a[i * rs + p * cs]: packed (rs 1, cs MR) or in place (rs lda, cs 1). */
INLINE void tile_body(int kc, const float *a, ptrdiff_t rs, ptrdiff_t cs, const float *b, float *c,
                      ptrdiff_t ldc, int accumulate, const float *bnext) {
  __m256 acc0[MR], acc1[MR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; i++) acc0[i] = acc1[i] = _mm256_setzero_ps();
  for (int p = 0; p < kc; p++, a += cs, b += NR) {
    if (bnext) { /* the next micro-panel is 64 bytes per k step: one line per step */
      _mm_prefetch((const char *)bnext, _MM_HINT_T0);
      bnext += NR;
    }
    __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
      __m256 ai = _mm256_broadcast_ss(a + i * rs);
      acc0[i] = _mm256_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm256_fmadd_ps(ai, b1, acc1[i]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; i++) {
    float *ci = c + i * ldc;
    if (accumulate) {
      acc0[i] = _mm256_add_ps(acc0[i], _mm256_loadu_ps(ci));
      acc1[i] = _mm256_add_ps(acc1[i], _mm256_loadu_ps(ci + 8));
    }
    _mm256_storeu_ps(ci, acc0[i]);
    _mm256_storeu_ps(ci + 8, acc1[i]);
  }
}

CD_X86_TILE_FP32(tile_fp32, tile_body, MR)

/* A full 5-row micro-panel: rows 0-3 by 4 x 4 register transposes into the panel's columns
 * (stride 5), row 4 element by element. */
static void pack_a(const float *A, ptrdiff_t lda, int mr, int kc, float alpha, void *dst) {
  float *d = dst;
  if (mr != MR || alpha != 1.0f) {
    cd_gemm_pack_a_f32(A, lda, mr, kc, alpha, d, MR);
    return;
  }
  int p = 0;
  for (; p + 4 <= kc; p += 4) {
    __m128 r0 = _mm_loadu_ps(A + p), r1 = _mm_loadu_ps(A + lda + p);
    __m128 r2 = _mm_loadu_ps(A + 2 * lda + p), r3 = _mm_loadu_ps(A + 3 * lda + p);
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
    float *c = d + (size_t)p * MR;
    _mm_storeu_ps(c, r0);
    _mm_storeu_ps(c + MR, r1);
    _mm_storeu_ps(c + 2 * MR, r2);
    _mm_storeu_ps(c + 3 * MR, r3);
    for (int q = 0; q < 4; q++) c[q * MR + 4] = A[4 * lda + p + q];
  }
  for (; p < kc; p++)
    for (int i = 0; i < MR; i++) d[(size_t)p * MR + i] = A[i * lda + p];
}

static void pack_b_fp32(const void *W, cd_dtype dtype, size_t ldw, int nr, int K, void *dst) {
  if (dtype == CD_F32 && nr == NR) cd_x86_pack_b16_f32(W, ldw, K, dst, NR);
  else cd_gemm_pack_b_f32(W, dtype, ldw, nr, K, dst, NR);
}

static void pack_b_fp16(const void *W, cd_dtype dtype, size_t ldw, int nr, int K, void *dst) {
  cd_x86_pack_b_f16(W, dtype, ldw, nr, K, dst, NR);
}

static void widen_fp16(const void *b, int kc, float *dst) {
  const __m128i *h = b;
  for (int i = 0; i < kc * NR / 8; i++) _mm256_store_ps(dst + 8 * i, _mm256_cvtph_ps(_mm_load_si128(h + i)));
}

const cd_gemm_kernel cd_gemm_avx2_fp32 = {
    .name = "avx2 fp32 5x16",
    .isa = CD_ISA_AVX2, .prec = CD_PREC_FP32, .mr = MR, .nr = NR, .mc = 120, .kc = 384,
    .kstep = 1, .a_bytes = 4, .b_bytes = 4, .a_in_place = 1, .tile = tile_fp32, .pack_a = pack_a,
    .pack_b = pack_b_fp32, .widen_b = NULL};

const cd_gemm_kernel cd_gemm_avx2_fp16 = {
    .name = "avx2 fp16 5x16 (half weights widened by F16C, float32 arithmetic)",
    .isa = CD_ISA_AVX2, .prec = CD_PREC_FP16, .mr = MR, .nr = NR, .mc = 120, .kc = 384,
    .kstep = 1, .a_bytes = 4, .b_bytes = 2, .a_in_place = 1, .tile = tile_fp32, .pack_a = pack_a,
    .pack_b = pack_b_fp16, .widen_b = widen_fp16};
#else
typedef int cd_gemm_avx2_unused; /* ISO C: no empty translation unit */
#endif
