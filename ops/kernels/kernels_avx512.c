/* Every AVX-512 kernel: the GEMM tiles and their packers, and the per-op kernels compiled
 * for AVX-512 (see kernels.h).
 *
 * GEMM: float32 and fp16-weight tiles of 10 x 32, C in 20 zmm accumulators;
 * per k step two 16-wide loads of the packed B row and ten broadcasts of the packed A column.
 * MR = 10 divides CLIP's 50 rows per image (no wasted tile rows at any batch of ViT-B/32),
 * and 20 accumulators cover the FMA latency of two pipes. The next B micro-panel (128 bytes
 * per k step) is prefetched while this one runs, so the weight stream does not stall: one
 * line per k step by each of the first two tiles (pf_tiles = 2), so that the requests do not
 * all queue in one tile's miss buffers (+4% at batch 1). */
#include "ops/kernels/kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include "ops/kernels/gemm_x86.h"

enum { MR = 10, NR = 32 };

#define INLINE static inline __attribute__((always_inline))

/* A's element (i, p) is a[i * rs + p * cs]: packed (rs 1, cs MR) or in place (rs lda, cs 1). */
INLINE void tile_body(int kc, const float *a, ptrdiff_t rs, ptrdiff_t cs, const float *b, float *c,
                      ptrdiff_t ldc, int accumulate, const float *bnext) {
  __m512 acc0[MR], acc1[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) acc0[i] = acc1[i] = _mm512_setzero_ps();
  for (int p = 0; p < kc; p++, a += cs, b += NR) {
    if (bnext) { /* one line per k step: with float32 weights one of the next micro-panel's
                  * two (pf_tiles = 2: the second tile takes the other half); fp16 weights
                  * have 64 bytes per k step, all of it */
      _mm_prefetch((const char *)bnext, _MM_HINT_T0);
      bnext += 16;
    }
    __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      __m512 ai = _mm512_set1_ps(a[i * rs]);
      acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
    }
  }
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

CD_X86_TILE_FP32(tile_fp32, tile_body, MR)

/* A full 10-row micro-panel: rows 0-7 by 8 x 8 register transposes straight into the
 * panel's columns (stride 10), rows 8-9 element by element. */
static void pack_a(const float *A, ptrdiff_t lda, int mr, int kc, float alpha, void *dst) {
  float *d = dst;
  if (mr != MR || alpha != 1.0f) {
    cd_gemm_pack_a_f32(A, lda, mr, kc, alpha, d, MR);
    return;
  }
  int p = 0;
  for (; p + 8 <= kc; p += 8) {
    cd_x86_transpose8(A + p, lda, d + (size_t)p * MR, MR);
    for (int q = 0; q < 8; q++) {
      d[(size_t)(p + q) * MR + 8] = A[8 * lda + p + q];
      d[(size_t)(p + q) * MR + 9] = A[9 * lda + p + q];
    }
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
  const __m256i *h = b;
  for (int i = 0; i < kc * NR / 16; i++) _mm512_store_ps(dst + 16 * i, _mm512_cvtph_ps(_mm256_load_si256(h + i)));
}

const cd_gemm_kernel cd_gemm_avx512_fp32 = {
    .name = "avx512 fp32 10x32",
    .isa = CD_ISA_AVX512, .prec = CD_PREC_FP32, .mr = MR, .nr = NR, .mc = 240, .kc = 256,
    .kstep = 1, .a_bytes = 4, .b_bytes = 4, .pf_tiles = 2, .a_in_place = 1, .tile = tile_fp32, .pack_a = pack_a,
    .pack_b = pack_b_fp32, .widen_b = NULL};

const cd_gemm_kernel cd_gemm_avx512_fp16 = {
    .name = "avx512 fp16 10x32 (half weights widened by vcvtph2ps, float32 arithmetic)",
    .isa = CD_ISA_AVX512, .prec = CD_PREC_FP16, .mr = MR, .nr = NR, .mc = 240, .kc = 256,
    .kstep = 1, .a_bytes = 4, .b_bytes = 2, .a_in_place = 1, .tile = tile_fp32, .pack_a = pack_a,
    .pack_b = pack_b_fp16, .widen_b = widen_fp16};

/* ---- the per-op kernels (activation, epilogue, LayerNorm, softmax, attention head) ---- */
#define ATT_W 32 /* attention tile columns */
#include "ops/kernels/level_ops.h"

CD_LEVEL_OPS(avx512)
#else
typedef int cd_kernels_avx512_unused; /* ISO C: no empty translation unit */
#endif
