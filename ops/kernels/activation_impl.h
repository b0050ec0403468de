/* QuickGELU (PyTorch's order: x * sigmoid(1.702 x), sigmoid(y) = 1 / (1 + e^-y)) and erf
 * GELU, forward and backward, plus the GEMM epilogue (bias then activation on a tile), as
 * portable loops the compiler vectorises. Included by every kernels_<level>.c (through
 * level_ops.h), each compiled with its level's flags; single-threaded (callers split the work). */
#ifndef CD_ACTIVATION_KERNELS_H
#define CD_ACTIVATION_KERNELS_H

#include <stddef.h>

#include "ops/ops.h"
#include "ops/kernels/vecmath.h"

CD_VEC_FN static inline void quickgelu_n(float *out, const float *in, ptrdiff_t n) {
#pragma omp simd
  for (ptrdiff_t i = 0; i < n; i++) out[i] = in[i] * (1.0f / (1.0f + cd_expf_fast(-(1.702f * in[i]))));
}

CD_VEC_FN static inline void gelu_n(float *out, const float *in, ptrdiff_t n) {
#pragma omp simd
  for (ptrdiff_t i = 0; i < n; i++) out[i] = in[i] * cd_normcdf_fast(in[i]);
}

CD_VEC_FN static inline void quickgelu_backward_n(float *din, const float *dout, const float *in, ptrdiff_t n) {
#pragma omp simd
  for (ptrdiff_t i = 0; i < n; i++) {
    float x = in[i], s = 1.0f / (1.0f + cd_expf_fast(-1.702f * x));
    din[i] += dout[i] * (s + 1.702f * x * s * (1.0f - s));
  }
}

CD_VEC_FN static inline void gelu_backward_n(float *din, const float *dout, const float *in, ptrdiff_t n) {
  const float inv_sqrt_2pi = 0.3989422804014327f;
#pragma omp simd
  for (ptrdiff_t i = 0; i < n; i++) {
    float x = in[i];
    float d = cd_normcdf_fast(x) + x * inv_sqrt_2pi * cd_expf_fast(-0.5f * x * x);
    din[i] += dout[i] * d;
  }
}

/* Training: out = act(in) and deriv = act'(in), each by the very expressions of the forward
 * and of the backward above (the same bits), so that a backward can multiply by the saved
 * derivative instead of evaluating the exponential again. deriv may be in (in place). */
CD_VEC_FN static inline void quickgelu_deriv_n(float *out, float *deriv, const float *in, ptrdiff_t n) {
#pragma omp simd
  for (ptrdiff_t i = 0; i < n; i++) {
    float x = in[i], s = 1.0f / (1.0f + cd_expf_fast(-(1.702f * x)));
    out[i] = x * s;
    deriv[i] = s + 1.702f * x * s * (1.0f - s);
  }
}

CD_VEC_FN static inline void gelu_deriv_n(float *out, float *deriv, const float *in, ptrdiff_t n) {
  const float inv_sqrt_2pi = 0.3989422804014327f;
#pragma omp simd
  for (ptrdiff_t i = 0; i < n; i++) {
    float x = in[i], c = cd_normcdf_fast(x);
    out[i] = x * c;
    deriv[i] = c + x * inv_sqrt_2pi * cd_expf_fast(-0.5f * x * x);
  }
}

static inline void act_forward_deriv_impl(float *out, float *deriv, const float *in, size_t n, cd_activation act) {
  if (act == CD_ACT_QUICKGELU) quickgelu_deriv_n(out, deriv, in, (ptrdiff_t)n);
  else if (act == CD_ACT_GELU) gelu_deriv_n(out, deriv, in, (ptrdiff_t)n);
  else
    for (size_t i = 0; i < n; i++) out[i] = in[i], deriv[i] = 1.0f;
}

/* din += dout * deriv (the saved derivative): the backward's last multiply and add. */
static inline void act_backward_deriv_impl(float *din, const float *dout, const float *deriv, size_t n) {
#pragma omp simd
  for (size_t i = 0; i < n; i++) din[i] += dout[i] * deriv[i];
}

static inline void act_forward_impl(float *out, const float *in, size_t n, cd_activation act) {
  if (act == CD_ACT_QUICKGELU) quickgelu_n(out, in, (ptrdiff_t)n);
  else if (act == CD_ACT_GELU) gelu_n(out, in, (ptrdiff_t)n);
  else if (out != in)
    for (size_t i = 0; i < n; i++) out[i] = in[i];
}

static inline void act_backward_impl(float *din, const float *dout, const float *in, size_t n,
                                     cd_activation act) {
  if (act == CD_ACT_QUICKGELU) quickgelu_backward_n(din, dout, in, (ptrdiff_t)n);
  else if (act == CD_ACT_GELU) gelu_backward_n(din, dout, in, (ptrdiff_t)n);
  else
    for (size_t i = 0; i < n; i++) din[i] += dout[i];
}

CD_VEC_FN static inline void bias_act_tile_impl(float *c, ptrdiff_t ldc, int mr, int nr,
                                                const float *bias, cd_activation act) {
  for (int i = 0; i < mr; i++) {
    float *r = c + i * ldc;
    if (bias) {
#pragma omp simd
      for (int j = 0; j < nr; j++) r[j] += bias[j];
    }
    if (act != CD_ACT_NONE) act_forward_impl(r, r, (size_t)nr, act);
  }
}

#endif
