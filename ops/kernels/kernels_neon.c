/* Every NEON (aarch64) kernel: the GEMM tiles and their packers, and the per-op kernels
 * compiled for NEON (see kernels.h).
 *
 * GEMM: an 8 x 8 tile of C in 16 q-register accumulators; per k step
 * two 4-wide loads of the packed B row, two of the packed A column, and lane-indexed FMAs.
 * fp16 weights are widened to float32 per micro-panel (vcvt_f32_f16) for the same tile.
 * NEON is architectural on aarch64, so there is no special compile flag. */
#include "ops/kernels/kernels.h"

#if defined(__aarch64__)
#include <arm_neon.h>

enum { MR = 8, NR = 8 };

static void tile_fp32(const cd_tile *t) {
  const float *a = t->a, *b = t->b;
  float32x4_t acc0[8], acc1[8];
  for (int i = 0; i < 8; i++) acc0[i] = acc1[i] = vdupq_n_f32(0.0f);
  for (int p = 0; p < t->kc; p++, a += 8, b += 8) {
    float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
    float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
    acc0[0] = vfmaq_laneq_f32(acc0[0], b0, a0, 0); acc1[0] = vfmaq_laneq_f32(acc1[0], b1, a0, 0);
    acc0[1] = vfmaq_laneq_f32(acc0[1], b0, a0, 1); acc1[1] = vfmaq_laneq_f32(acc1[1], b1, a0, 1);
    acc0[2] = vfmaq_laneq_f32(acc0[2], b0, a0, 2); acc1[2] = vfmaq_laneq_f32(acc1[2], b1, a0, 2);
    acc0[3] = vfmaq_laneq_f32(acc0[3], b0, a0, 3); acc1[3] = vfmaq_laneq_f32(acc1[3], b1, a0, 3);
    acc0[4] = vfmaq_laneq_f32(acc0[4], b0, a1, 0); acc1[4] = vfmaq_laneq_f32(acc1[4], b1, a1, 0);
    acc0[5] = vfmaq_laneq_f32(acc0[5], b0, a1, 1); acc1[5] = vfmaq_laneq_f32(acc1[5], b1, a1, 1);
    acc0[6] = vfmaq_laneq_f32(acc0[6], b0, a1, 2); acc1[6] = vfmaq_laneq_f32(acc1[6], b1, a1, 2);
    acc0[7] = vfmaq_laneq_f32(acc0[7], b0, a1, 3); acc1[7] = vfmaq_laneq_f32(acc1[7], b1, a1, 3);
  }
  for (int i = 0; i < 8; i++) {
    float *ci = t->c + i * t->ldc;
    if (t->accumulate) {
      acc0[i] = vaddq_f32(acc0[i], vld1q_f32(ci));
      acc1[i] = vaddq_f32(acc1[i], vld1q_f32(ci + 4));
    }
    vst1q_f32(ci, acc0[i]);
    vst1q_f32(ci + 4, acc1[i]);
  }
}

static void pack_a(const float *A, ptrdiff_t lda, int mr, int kc, float alpha, void *dst) {
  cd_gemm_pack_a_f32(A, lda, mr, kc, alpha, dst, MR);
}

static void pack_b_fp32(const void *W, cd_dtype dtype, size_t ldw, int nr, int K, void *dst) {
  cd_gemm_pack_b_f32(W, dtype, ldw, nr, K, dst, NR);
}

static void pack_b_fp16(const void *W, cd_dtype dtype, size_t ldw, int nr, int K, void *dst) {
  uint16_t *d = dst;
  for (int j = 0; j < NR; j++)
    for (int p = 0; p < K; p++)
      d[(size_t)p * NR + j] = j < nr ? cd_f32_to_f16(cd_gemm_load(W, dtype, (size_t)j * ldw + p)) : 0;
}

static void widen_fp16(const void *b, int kc, float *dst) {
  const float16_t *h = b;
  for (int i = 0; i < kc * NR; i += 4) vst1q_f32(dst + i, vcvt_f32_f16(vld1_f16(h + i)));
}

const cd_gemm_kernel cd_gemm_neon_fp32 = {
    .name = "neon fp32 8x8",
    .isa = CD_ISA_NEON, .prec = CD_PREC_FP32, .mr = MR, .nr = NR, .mc = 128, .kc = 256,
    .kstep = 1, .a_bytes = 4, .b_bytes = 4, .tile = tile_fp32, .pack_a = pack_a,
    .pack_b = pack_b_fp32, .widen_b = NULL};

const cd_gemm_kernel cd_gemm_neon_fp16 = {
    .name = "neon fp16 8x8 (half weights widened, float32 arithmetic)",
    .isa = CD_ISA_NEON, .prec = CD_PREC_FP16, .mr = MR, .nr = NR, .mc = 128, .kc = 256,
    .kstep = 1, .a_bytes = 4, .b_bytes = 2, .tile = tile_fp32, .pack_a = pack_a,
    .pack_b = pack_b_fp16, .widen_b = widen_fp16};

/* ---- skinny products with bfloat16 weight rows (see kernels.h) ----
 * bfloat16 widens exactly to float32 by a 16-bit shift (vshll), then float32 FMAs.
 *   forward : 2 input rows x 8 lanes of partial dot products per weight row, reduced at the end;
 *   backward: one dX row's 8-wide column block updated by a broadcast of dY times the weight
 *             row, over the weight rows in order. */
static inline float32x4_t bf16x4(const uint16_t *w) {
  return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(w), 16));
}

static inline float bf16x1(uint16_t h) {
  return vgetq_lane_f32(vreinterpretq_f32_u32(vshll_n_u16(vdup_n_u16(h), 16)), 0);
}

void cd_skinny_forward_bf16_neon(float *out, const float *X, size_t ldx, const uint16_t *W,
                                 const float *bias, int M, int K, int N, int n0, int n1) {
  int K8 = K & ~7;
  for (int n = n0; n < n1; n++) {
    const uint16_t *w = W + (size_t)n * K;
    for (int m = 0; m < M; m++) {
      const float *x = X + (size_t)m * ldx;
      float32x4_t a0 = vdupq_n_f32(0.0f), a1 = vdupq_n_f32(0.0f);
      for (int k = 0; k < K8; k += 8) {
        a0 = vfmaq_f32(a0, bf16x4(w + k), vld1q_f32(x + k));
        a1 = vfmaq_f32(a1, bf16x4(w + k + 4), vld1q_f32(x + k + 4));
      }
      float s = vaddvq_f32(vaddq_f32(a0, a1));
      for (int k = K8; k < K; k++) s += bf16x1(w[k]) * x[k];
      out[(size_t)m * N + n] = s + (bias ? bias[n] : 0.0f);
    }
  }
}

void cd_skinny_backward_bf16_neon(float *dX, const float *dY, const uint16_t *W, int M, int K,
                                  int N, int j0, int j1, float *strip) {
  (void)strip;
  int J8 = j0 + ((j1 - j0) & ~7);
  for (int m = 0; m < M; m++) {
    float *d = dX + (size_t)m * K;
    for (int j = j0; j < J8; j += 8) {
      float32x4_t c0 = vld1q_f32(d + j), c1 = vld1q_f32(d + j + 4);
      for (int p = 0; p < N; p++) {
        float32x4_t g = vdupq_n_f32(dY[(size_t)m * N + p]);
        const uint16_t *w = W + (size_t)p * K + j;
        c0 = vfmaq_f32(c0, g, bf16x4(w));
        c1 = vfmaq_f32(c1, g, bf16x4(w + 4));
      }
      vst1q_f32(d + j, c0);
      vst1q_f32(d + j + 4, c1);
    }
    for (int p = 0; p < N; p++) {
      float g = dY[(size_t)m * N + p];
      const uint16_t *w = W + (size_t)p * K;
      for (int k = J8; k < j1; k++) d[k] += g * bf16x1(w[k]);
    }
  }
}

/* ---- the per-op kernels (activation, epilogue, LayerNorm, softmax, attention head) ---- */
#define ATT_W 16 /* attention tile columns */
#include "ops/kernels/level_ops.h"

CD_LEVEL_OPS(neon)
#else
typedef int cd_kernels_neon_unused; /* ISO C: no empty translation unit */
#endif
