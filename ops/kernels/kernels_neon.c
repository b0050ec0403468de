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

/* ---- the per-op kernels (activation, epilogue, LayerNorm, softmax, attention head) ---- */
#define ATT_W 16 /* attention tile columns */
#include "ops/kernels/level_ops.h"

CD_LEVEL_OPS(neon)
#else
typedef int cd_kernels_neon_unused; /* ISO C: no empty translation unit */
#endif
