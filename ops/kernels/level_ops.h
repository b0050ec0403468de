/* The per-op kernels every level has, from one portable source each: each kernels_<level>.c
 * defines ATT_W (the attention tile's vector columns for its registers), includes this file
 * and writes CD_LEVEL_OPS(<level>) once. The compiler turns the same loops into each level's
 * vector code; the names (cd_act_forward_avx2, ...) are declared in kernels.h. */
#ifndef CD_LEVEL_OPS_H
#define CD_LEVEL_OPS_H

#ifndef ATT_W
#error "define ATT_W (the attention tile's vector columns) before including level_ops.h"
#endif
#define ATT_RB 4 /* query rows per attention block */
#include "ops/kernels/activation_impl.h"
#include "ops/kernels/attention_impl.h"
#include "ops/kernels/attention_segments_impl.h"
#include "ops/kernels/layernorm_impl.h"
#include "ops/kernels/softmax_impl.h"

#define CD_LEVEL_OPS(level)                                                                          \
  void cd_bias_act_tile_##level(float *c, ptrdiff_t ldc, int mr, int nr, const float *bias,         \
                                cd_activation act) {                                                \
    bias_act_tile_impl(c, ldc, mr, nr, bias, act);                                                  \
  }                                                                                                 \
  void cd_act_forward_##level(float *out, const float *in, size_t n, cd_activation act) {           \
    act_forward_impl(out, in, n, act);                                                              \
  }                                                                                                 \
  void cd_act_backward_##level(float *din, const float *dout, const float *in, size_t n,            \
                               cd_activation act) {                                                 \
    act_backward_impl(din, dout, in, n, act);                                                       \
  }                                                                                                 \
  void cd_act_forward_deriv_##level(float *out, float *deriv, const float *in, size_t n,            \
                                    cd_activation act) {                                            \
    act_forward_deriv_impl(out, deriv, in, n, act);                                                 \
  }                                                                                                 \
  void cd_act_backward_deriv_##level(float *din, const float *dout, const float *deriv, size_t n) { \
    act_backward_deriv_impl(din, dout, deriv, n);                                                   \
  }                                                                                                 \
  void cd_layernorm_rows_##level(float *out, float *mean, float *rstd, const float *inp,             \
                                 const float *w, const float *b, int M, int C, float eps) {          \
    layernorm_rows_impl(out, mean, rstd, inp, w, b, M, C, eps);                                     \
  }                                                                                                 \
  void cd_softmax_rows_##level(float *x, int M, int N, ptrdiff_t ld, int causal, int diag) {        \
    softmax_rows_impl(x, M, N, ld, causal, diag);                                                   \
  }                                                                                                 \
  void cd_attention_head_##level(float *out, ptrdiff_t ldo, const float *q, const float *k,         \
                                 const float *v, ptrdiff_t ldqkv, int T, int hs, float scale,       \
                                 int causal, float *probs, float *scratch) {                        \
    attention_head_impl(out, ldo, q, k, v, ldqkv, T, hs, scale, causal, probs, scratch);            \
  }                                                                                                 \
  void cd_segatt_forward_##level(const cd_segatt *a, int h, int i0, int i1, float *out, float *att, \
                                 float *scratch) {                                                  \
    segatt_forward_impl(a, h, i0, i1, out, att, scratch);                                           \
  }                                                                                                 \
  void cd_segatt_backward_##level(const cd_segatt *a, int h, const float *dout, const float *att,    \
                                  float *dqkv, float *scratch) {                                    \
    segatt_backward_impl(a, h, dout, att, dqkv, scratch);                                           \
  }

#endif
