/* Linear layers: the typed-weight entry point (linear.h) and the plain float32 matmul of
 * ops.h, both on top of the packed GEMM. */
#include "ops/gemm/linear.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "ops/gemm/gemm.h"
#include "ops/gemm/skinny.h"
#include "ops/ops.h"

/* Few rows against a plain weight: streaming its rows beats packing it (~the cost of the
 * arithmetic at this size). */
#define SKINNY_MAX_ROWS 96

/* out = act(out) + resid (resid != out): the epilogue of the paths without a fused one. */
static void epilogue_rows(float *out, int M, int N, cd_activation act, const float *resid) {
  if (act != CD_ACT_NONE) cd_activation_forward(out, out, (size_t)M * N, act);
  if (resid) cd_add_forward(out, out, resid, (size_t)M * N);
}

static void linear_forward(float *out, const float *x, const cd_weight *w, const float *bias, int M,
                           cd_activation act, const float *resid, cd_arena *ws, int max_skinny) {
  int N = w->rows, K = w->cols;
  if (M <= 0 || N <= 0) return;
  if (w->packed) {
    cd_gemm_weight(w, x, K, M, out, N, bias, act, resid, ws);
    return;
  }
  const float *W = cd_weight_f32(w);
  const uint16_t *Wh = W ? NULL : cd_weight_bf16(w);
  if (!W && !Wh) {
    fprintf(stderr, "clipdebias: internal error: weight [%d, %d] has neither packed nor float32 or bfloat16 rows\n", N, K);
    abort();
  }
  /* In place (out == resid): the product goes to scratch first. */
  cd_scratch s = {0};
  float *dst = out;
  if (resid == out && !(dst = cd_scratch_get(&s, ws, sizeof(float) * (size_t)M * N))) {
    fprintf(stderr, "clipdebias: out of memory (linear scratch)\n");
    abort();
  }
  /* bfloat16 rows (a tuning tower) stream through the row-wise kernels at any M */
  if (Wh) cd_skinny_linear_forward_bf16_tiled(cd_kernels_get(), dst, x, Wh, w->tiles, bias, M, K, N);
  else if (M <= max_skinny) cd_skinny_linear_forward(cd_kernels_get(), dst, x, W, bias, M, K, N);
  else cd_matmul_forward(dst, x, W, bias, M, K, N);
  epilogue_rows(dst, M, N, act, resid == out ? NULL : resid);
  if (resid == out) cd_add_forward(out, out, dst, (size_t)M * N);
  cd_scratch_put(&s);
}

void cd_linear_forward(float *out, const float *x, const cd_weight *w, const float *bias, int M,
                       cd_activation act, const float *resid, cd_arena *ws) {
  linear_forward(out, x, w, bias, M, act, resid, ws, SKINNY_MAX_ROWS);
}

void cd_linear_forward_rowwise(float *out, const float *x, const cd_weight *w, const float *bias,
                               int M, cd_activation act, const float *resid, cd_arena *ws) {
  linear_forward(out, x, w, bias, M, act, resid, ws, INT_MAX);
}

void cd_linear_backward_input(float *dx, const float *dout, const cd_weight *w, int M) {
  if (w->rows_t) { /* dx = dout · (W^T)^T: the forward's row-wise kernels over W^T's rows */
    cd_weight wt = {w->cols, w->rows, w->dtype, w->rows_t, NULL, NULL, 0, NULL, NULL};
    linear_forward(dx, dout, &wt, NULL, M, CD_ACT_NONE, NULL, NULL, INT_MAX);
    return;
  }
  const float *W = cd_weight_f32(w);
  const uint16_t *Wh = W ? NULL : cd_weight_bf16(w);
  if (!W && !Wh) {
    fprintf(stderr, "clipdebias: internal error: the input gradient needs weight [%d, %d] unpacked\n", w->rows, w->cols);
    abort();
  }
  if (M <= 0) return;
  memset(dx, 0, sizeof(float) * (size_t)M * w->cols); /* the strip kernels accumulate into dx */
  if (Wh) cd_skinny_linear_backward_bf16_tiled(cd_kernels_get(), dx, dout, Wh, w->tiles, M, w->cols, w->rows);
  else cd_skinny_linear_backward(cd_kernels_get(), dx, dout, W, M, w->cols, w->rows);
}

void cd_matmul_forward(float *out, const float *inp, const float *weight, const float *bias,
                       int M, int K, int N) {
  if (M <= 0 || N <= 0) return;
  cd_weight w = {N, K, CD_F32, weight, NULL, NULL, 0, NULL, NULL};
  if (cd_weight_pack(&w, cd_kernels_get()->gemm[CD_PREC_FP32], NULL) == 0) {
    cd_gemm_weight(&w, inp, K, M, out, N, bias, CD_ACT_NONE, NULL, NULL);
    cd_weight_free(&w);
    return;
  }
  /* No memory to pack: the general GEMM (which has its own fallback), then the bias. */
  cd_gemm(0, 1, M, N, K, 1.0f, inp, K, weight, K, 0.0f, out, N);
  if (bias)
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) out[(size_t)i * N + j] += bias[j];
}

typedef struct {
  float *dbias;
  const float *dout;
  int M, N;
} bias_job;

/* Columns [n0, n1) of dbias (at most 64): each sums its rows in order. */
static void bias_cols(void *ctx, size_t n0, size_t n1, int worker) {
  const bias_job *j = ctx;
  float acc[64];
  for (size_t n = n0; n < n1; n++) acc[n - n0] = 0.0f;
  for (int m = 0; m < j->M; m++) {
    const float *row = j->dout + (size_t)m * j->N;
    for (size_t n = n0; n < n1; n++) acc[n - n0] += row[n];
  }
  for (size_t n = n0; n < n1; n++) j->dbias[n] += acc[n - n0];
}

/* Column sums of dout; items split the columns so each sum runs over rows in order. */
static void bias_grad(float *dbias, const float *dout, int M, int N) {
  bias_job j = {dbias, dout, M, N};
  cd_pool_range((size_t)N, 64, (double)M * N > 65536 ? 0 : 1, bias_cols, &j);
}

void cd_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, int M, int K, int N) {
  if (M <= 0 || N <= 0 || K <= 0) return;
  if (dinp) cd_gemm(0, 0, M, K, N, 1.0f, dout, N, weight, K, 1.0f, dinp, K);
  if (dweight) cd_gemm(1, 0, N, K, M, 1.0f, dout, N, inp, K, 1.0f, dweight, K);
  if (dbias) bias_grad(dbias, dout, M, N);
}
