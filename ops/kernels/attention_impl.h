/* One attention head, fused (see attention.h), as portable loops over small register tiles
 * (ATT_RB query rows x ATT_W columns, constants set by the including kernels_<level>.c to fit
 * its registers) that the compiler turns into that ISA's vector code. Single-threaded. */
#ifndef CD_ATTENTION_KERNELS_H
#define CD_ATTENTION_KERNELS_H

#include <stddef.h>

#include "ops/kernels/softmax_impl.h"

#ifndef ATT_RB
#error "define ATT_RB (query rows per block) and ATT_W (vector columns) before including"
#endif

/* s[r, j] = scale · q[r] · Kt[:, j] for rows r < rb and columns j < ncols (s rows ld apart). */
static inline void att_scores(float *s, ptrdiff_t ld, const float *q, ptrdiff_t ldq, const float *Kt,
                              int Tp, int hs, int rb, int ncols, float scale) {
  for (int j0 = 0; j0 < ncols; j0 += ATT_W) {
    float acc[ATT_RB][ATT_W] = {{0}};
    for (int d = 0; d < hs; d++) {
      const float *kt = Kt + (size_t)d * Tp + j0;
      for (int r = 0; r < ATT_RB; r++) {
        float qv = r < rb ? q[r * ldq + d] : 0.0f;
#pragma omp simd
        for (int w = 0; w < ATT_W; w++) acc[r][w] += qv * kt[w];
      }
    }
    int nw = ncols - j0 < ATT_W ? ncols - j0 : ATT_W;
    for (int r = 0; r < rb; r++)
      for (int w = 0; w < nw; w++) s[r * ld + j0 + w] = acc[r][w] * scale;
  }
}

/* o[r, :] = Σ_{j < nk} p[r, j] · v[j, :] for rows r < rb. */
static inline void att_pv(float *o, ptrdiff_t ldo, const float *p, ptrdiff_t ld, const float *v,
                          ptrdiff_t ldv, int rb, int nk, int hs) {
  int h0 = 0;
  for (; h0 + ATT_W <= hs; h0 += ATT_W) {
    float acc[ATT_RB][ATT_W] = {{0}};
    for (int j = 0; j < nk; j++) {
      const float *vr = v + j * ldv + h0;
      for (int r = 0; r < ATT_RB; r++) {
        float pv = r < rb ? p[r * ld + j] : 0.0f;
#pragma omp simd
        for (int w = 0; w < ATT_W; w++) acc[r][w] += pv * vr[w];
      }
    }
    for (int r = 0; r < rb; r++)
      for (int w = 0; w < ATT_W; w++) o[r * ldo + h0 + w] = acc[r][w];
  }
  for (; h0 < hs; h0++) /* head sizes that are not a multiple of the vector width */
    for (int r = 0; r < rb; r++) {
      float a = 0.0f;
      for (int j = 0; j < nk; j++) a += p[r * ld + j] * v[j * ldv + h0];
      o[r * ldo + h0] = a;
    }
}

static inline void attention_head_impl(float *out, ptrdiff_t ldo, const float *q, const float *k,
                                       const float *v, ptrdiff_t ldqkv, int T, int hs, float scale,
                                       int causal, float *probs, float *scratch) {
  int Tp = (T + ATT_W - 1) / ATT_W * ATT_W;
  float *Kt = scratch, *S = scratch + (size_t)hs * Tp;
  for (int d = 0; d < hs; d++) {
    float *kt = Kt + (size_t)d * Tp;
    for (int j = 0; j < T; j++) kt[j] = k[j * ldqkv + d];
    for (int j = T; j < Tp; j++) kt[j] = 0.0f;
  }
  for (int t0 = 0; t0 < T; t0 += ATT_RB) {
    int rb = T - t0 < ATT_RB ? T - t0 : ATT_RB, nk = causal ? t0 + rb : T;
    float *s = probs ? probs + (size_t)t0 * T : S;
    ptrdiff_t ld = probs ? T : Tp;
    att_scores(s, ld, q + t0 * ldqkv, ldqkv, Kt, Tp, hs, rb, nk, scale);
    softmax_rows_impl(s, rb, T, ld, causal, t0);
    att_pv(out + t0 * ldo, ldo, s, ld, v, ldqkv, rb, nk, hs);
  }
}

#endif
