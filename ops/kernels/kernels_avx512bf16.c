/* AVX512_BF16 GEMM kernels (vdpbf16ps: 16 lanes, each the float32 sum of two bfloat16
 * products): tiles of 10 x 32 in 20 zmm accumulators over K pairs.
 *   bf16:   A and B rounded to bfloat16; per K pair two loads of B and ten dword broadcasts
 *           of A pairs: twice the products of a float32 FMA per instruction.
 *   bf16x3: A and B split into bfloat16 hi + lo, hi*hi + hi*lo + lo*hi per pair (three
 *           instructions): float32-level accuracy from bf16 arithmetic, the layout an AMX
 *           tile kernel takes too.
 * Layouts: kernels_portable.c. The other entries of this level come from avx512 below it. */
#include "ops/kernels/kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

enum { MR = 10, NR = 32 };

#define INLINE static inline __attribute__((always_inline))

INLINE void store_acc(__m512 *acc0, __m512 *acc1, float *c, ptrdiff_t ldc, int accumulate) {
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    float *ci = c + i * ldc;
    if (accumulate) {
      acc0[i] = _mm512_add_ps(acc0[i], _mm512_loadu_ps(ci));
      acc1[i] = _mm512_add_ps(acc1[i], _mm512_loadu_ps(ci + 16));
    }
    _mm512_storeu_ps(ci, acc0[i]);
    _mm512_storeu_ps(ci + 16, acc1[i]);
  }
}

INLINE void bf16_body(int kc, const uint32_t *a, const uint16_t *b, float *c, ptrdiff_t ldc,
                      int accumulate, const uint16_t *bnext) {
  __m512 acc0[MR], acc1[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) acc0[i] = acc1[i] = _mm512_setzero_ps();
  for (int q = 0; q < kc / 2; q++, a += MR, b += 2 * NR) {
    if (bnext) {
      _mm_prefetch((const char *)bnext, _MM_HINT_T0);
      _mm_prefetch((const char *)(bnext + 32), _MM_HINT_T0);
      bnext += 2 * NR;
    }
    __m512bh b0 = (__m512bh)_mm512_load_si512(b), b1 = (__m512bh)_mm512_load_si512(b + 32);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      __m512bh ai = (__m512bh)_mm512_set1_epi32((int)a[i]);
      acc0[i] = _mm512_dpbf16_ps(acc0[i], ai, b0);
      acc1[i] = _mm512_dpbf16_ps(acc1[i], ai, b1);
    }
  }
  store_acc(acc0, acc1, c, ldc, accumulate);
}

static void tile_bf16(const cd_tile *t) {
  if (t->b_next) bf16_body(t->kc, t->a, t->b, t->c, t->ldc, t->accumulate, t->b_next);
  else bf16_body(t->kc, t->a, t->b, t->c, t->ldc, t->accumulate, NULL);
}

INLINE void bf16x3_body(int kc, const uint32_t *a, const uint16_t *b, float *c, ptrdiff_t ldc,
                        int accumulate, const uint16_t *bnext) {
  __m512 acc0[MR], acc1[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) acc0[i] = acc1[i] = _mm512_setzero_ps();
  for (int q = 0; q < kc / 2; q++, a += 2 * MR, b += 4 * NR) {
    if (bnext) {
      for (int l = 0; l < 4; l++) _mm_prefetch((const char *)(bnext + 32 * l), _MM_HINT_T0);
      bnext += 4 * NR;
    }
    __m512bh h0 = (__m512bh)_mm512_load_si512(b), h1 = (__m512bh)_mm512_load_si512(b + 32);
    __m512bh l0 = (__m512bh)_mm512_load_si512(b + 64), l1 = (__m512bh)_mm512_load_si512(b + 96);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      __m512bh ahi = (__m512bh)_mm512_set1_epi32((int)a[2 * i]);
      __m512bh alo = (__m512bh)_mm512_set1_epi32((int)a[2 * i + 1]);
      acc0[i] = _mm512_dpbf16_ps(acc0[i], alo, h0);
      acc1[i] = _mm512_dpbf16_ps(acc1[i], alo, h1);
      acc0[i] = _mm512_dpbf16_ps(acc0[i], ahi, l0);
      acc1[i] = _mm512_dpbf16_ps(acc1[i], ahi, l1);
      acc0[i] = _mm512_dpbf16_ps(acc0[i], ahi, h0);
      acc1[i] = _mm512_dpbf16_ps(acc1[i], ahi, h1);
    }
  }
  store_acc(acc0, acc1, c, ldc, accumulate);
}

static void tile_bf16x3(const cd_tile *t) {
  if (t->b_next) bf16x3_body(t->kc, t->a, t->b, t->c, t->ldc, t->accumulate, t->b_next);
  else bf16x3_body(t->kc, t->a, t->b, t->c, t->ldc, t->accumulate, NULL);
}

/* Rows of A rounded to bfloat16 pairs (vcvtne2ps2bf16, round to nearest even like the
 * portable packer): 32 floats of a row give 16 pair dwords, scattered to their K-pair slots
 * (stride MR dwords; bf16x3: hi at 2i, lo at 2i + 1 of stride 2·MR). */
static void pack_a_pairs(const float *A, ptrdiff_t lda, int mr, int kc, float alpha, uint32_t *d, int parts) {
  if (mr != MR || alpha != 1.0f || kc % 32) {
    cd_gemm_pack_a_bf16(A, lda, mr, kc, alpha, (uint16_t *)d, MR, parts);
    return;
  }
  const int stride = MR * parts;
  const __m512i idx = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                         _mm512_set1_epi32(stride));
  for (int i = 0; i < MR; i++)
    for (int p = 0; p < kc; p += 32) {
      __m512 x0 = _mm512_loadu_ps(A + i * lda + p), x1 = _mm512_loadu_ps(A + i * lda + p + 16);
      __m512i hi = (__m512i)_mm512_cvtne2ps_pbh(x1, x0);
      uint32_t *base = d + (size_t)(p / 2) * stride + (size_t)i * parts;
      _mm512_i32scatter_epi32(base, idx, hi, 4);
      if (parts == 2) {
        /* remainder x - float(hi), each half widened back from its 16 bf16 */
        __m512 h0 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_castsi512_si256(hi)), 16));
        __m512 h1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(hi, 1)), 16));
        __m512i lo = (__m512i)_mm512_cvtne2ps_pbh(_mm512_sub_ps(x1, h1), _mm512_sub_ps(x0, h0));
        _mm512_i32scatter_epi32(base + 1, idx, lo, 4);
      }
    }
}

static void pack_a_bf16(const float *A, ptrdiff_t lda, int mr, int kc, float alpha, void *dst) {
  pack_a_pairs(A, lda, mr, kc, alpha, dst, 1);
}
static void pack_b_bf16(const void *W, cd_dtype dtype, size_t ldw, int nr, int K, void *dst) {
  cd_gemm_pack_b_bf16(W, dtype, ldw, nr, K, dst, NR, 1);
}
static void pack_a_bf16x3(const float *A, ptrdiff_t lda, int mr, int kc, float alpha, void *dst) {
  pack_a_pairs(A, lda, mr, kc, alpha, dst, 2);
}
static void pack_b_bf16x3(const void *W, cd_dtype dtype, size_t ldw, int nr, int K, void *dst) {
  cd_gemm_pack_b_bf16(W, dtype, ldw, nr, K, dst, NR, 2);
}

const cd_gemm_kernel cd_gemm_avx512bf16_bf16 = {
    .name = "avx512bf16 bf16 10x32 (vdpbf16ps)",
    .isa = CD_ISA_AVX512BF16, .prec = CD_PREC_BF16, .mr = MR, .nr = NR, .mc = 240, .kc = 512,
    .kstep = 2, .a_bytes = 2, .b_bytes = 2, .tile = tile_bf16, .pack_a = pack_a_bf16,
    .pack_b = pack_b_bf16, .widen_b = NULL};

const cd_gemm_kernel cd_gemm_avx512bf16_bf16x3 = {
    .name = "avx512bf16 bf16x3 10x32 (3 x vdpbf16ps)",
    .isa = CD_ISA_AVX512BF16, .prec = CD_PREC_BF16X3, .mr = MR, .nr = NR, .mc = 240, .kc = 256,
    .kstep = 2, .a_bytes = 4, .b_bytes = 4, .tile = tile_bf16x3, .pack_a = pack_a_bf16x3,
    .pack_b = pack_b_bf16x3, .widen_b = NULL};
#else
typedef int cd_gemm_avx512bf16_unused; /* ISO C: no empty translation unit */
#endif
