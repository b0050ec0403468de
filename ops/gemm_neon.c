/* NEON (aarch64) micro-kernel: an 8 x 8 tile of C in 16 q-register accumulators; per k step
 * two 4-wide loads of the packed B row, two of the packed A column, and lane-indexed FMAs.
 * NEON is architectural on aarch64, so there is no special compile flag. */
#include "ops/gemm.h"

#if defined(__aarch64__)
#include <arm_neon.h>

void cd_gemm_ukernel_neon(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                          float alpha, float beta) {
  float32x4_t acc0[8], acc1[8];
  for (int i = 0; i < 8; i++) acc0[i] = acc1[i] = vdupq_n_f32(0.0f);
  for (int p = 0; p < kc; p++, a += 8, b += 8) {
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
  float32x4_t va = vdupq_n_f32(alpha), vb = vdupq_n_f32(beta);
  for (int i = 0; i < 8; i++) {
    float *ci = c + i * ldc;
    if (beta == 0.0f) {
      vst1q_f32(ci, vmulq_f32(va, acc0[i]));
      vst1q_f32(ci + 4, vmulq_f32(va, acc1[i]));
    } else {
      vst1q_f32(ci, vfmaq_f32(vmulq_f32(vb, vld1q_f32(ci)), va, acc0[i]));
      vst1q_f32(ci + 4, vfmaq_f32(vmulq_f32(vb, vld1q_f32(ci + 4)), va, acc1[i]));
    }
  }
}
#else
/* Keeps the translation unit non-empty (ISO C) on other architectures. */
typedef int cd_gemm_neon_unused;
#endif
