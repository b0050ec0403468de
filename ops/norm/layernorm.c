/* LayerNorm over the last dimension: rows in parallel, two-pass mean/variance in float. The
 * forward runs the kernel table's row kernel on blocks of rows; the backward is portable.
 * Both run blocks of rows (or columns) as items of the pool. */
#include <math.h>
#include <stdlib.h>

#include "core/pool.h"
#include "ops/dispatch.h"
#include "ops/kernels/layernorm_impl.h"
#include "ops/ops.h"

/* Below this many elements a fork/join costs more than the rows (one image: 38400). */
#define PAR_MIN 65536


typedef struct {
  const cd_kernels *kt;
  float *out, *mean, *rstd;
  const float *inp, *weight, *bias;
  int M, C;
  float eps;
} ln_job;

enum { LN_ROWS = 8 };

static void ln_item(void *ctx, int blk, int w) {
  const ln_job *j = ctx;
  int m0 = blk * LN_ROWS, n = j->M - m0 < LN_ROWS ? j->M - m0 : LN_ROWS;
  size_t off = (size_t)m0 * j->C;
  (void)w;
  j->kt->layernorm_rows(j->out + off, j->mean ? j->mean + m0 : NULL, j->rstd ? j->rstd + m0 : NULL, j->inp + off,
                        j->weight, j->bias, n, j->C, j->eps);
}

void cd_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                          const float *weight, const float *bias, int M, int C, float eps) {
  ln_job j = {cd_kernels_get(), out, mean, rstd, inp, weight, bias, M, C, eps};
  cd_pool_run((M + LN_ROWS - 1) / LN_ROWS, (double)M * C > PAR_MIN ? 0 : 1, ln_item, &j);
}

typedef struct {
  float *dinp, *dweight, *dbias;
  const float *dout, *inp, *weight, *mean, *rstd;
  int M, C;
} ln_back_job;

enum { LN_BACK_COLS = 64 };

/* dinp for rows [blk * LN_ROWS, ...): each row on its own. */
static void ln_back_rows_item(void *ctx, int blk, int worker) {
  const ln_back_job *j = ctx;
  int C = j->C, m1 = (blk + 1) * LN_ROWS < j->M ? (blk + 1) * LN_ROWS : j->M;
  const float *weight = j->weight;
  (void)worker;
  for (int m = blk * LN_ROWS; m < m1; m++) {
    const float *x = j->inp + (size_t)m * C, *dy = j->dout + (size_t)m * C;
    float *dx = j->dinp + (size_t)m * C, mu = j->mean[m], rs = j->rstd[m], gm = 0.0f, gnm = 0.0f;
#pragma omp simd reduction(+ : gm, gnm)
    for (int c = 0; c < C; c++) {
      float g = weight[c] * dy[c];
      gm += g;
      gnm += g * (x[c] - mu) * rs;
    }
    gm /= C;
    gnm /= C;
#pragma omp simd
    for (int c = 0; c < C; c++)
      dx[c] += (weight[c] * dy[c] - gm - (x[c] - mu) * rs * gnm) * rs;
  }
}

/* dweight/dbias for columns [ch * LN_BACK_COLS, ...): each column sums its rows in order. */
static void ln_back_cols_item(void *ctx, int ch, int worker) {
  const ln_back_job *j = ctx;
  int C = j->C, c0 = ch * LN_BACK_COLS, c1 = c0 + LN_BACK_COLS < C ? c0 + LN_BACK_COLS : C;
  float dw[LN_BACK_COLS] = {0}, db[LN_BACK_COLS] = {0};
  (void)worker;
  for (int m = 0; m < j->M; m++) {
    const float *x = j->inp + (size_t)m * C, *dy = j->dout + (size_t)m * C;
    float mu = j->mean[m], rs = j->rstd[m];
#pragma omp simd
    for (int c = c0; c < c1; c++) {
      dw[c - c0] += (x[c] - mu) * rs * dy[c];
      db[c - c0] += dy[c];
    }
  }
  for (int c = c0; c < c1; c++) {
    if (j->dweight) j->dweight[c] += dw[c - c0];
    if (j->dbias) j->dbias[c] += db[c - c0];
  }
}

/* dinp row by row; dweight/dbias by column blocks so each column sums its rows in order,
 * whatever the thread count. mean/rstd may be NULL: then they are recomputed (eps 1e-5). */
void cd_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                           const float *inp, const float *weight, const float *mean,
                           const float *rstd, int M, int C) {
  if (M <= 0 || C <= 0) return;
  float *stats = NULL;
  if (!mean || !rstd) {
    stats = malloc(sizeof(float) * 2 * (size_t)M);
    if (!stats) {
      cd_layernorm_backward_ref(dinp, dweight, dbias, dout, inp, weight, NULL, NULL, M, C);
      return;
    }
    for (int m = 0; m < M; m++) layernorm_row_stats(inp + (size_t)m * C, C, 1e-5f, stats + m, stats + M + m);
    mean = stats;
    rstd = stats + M;
  }
  ln_back_job j = {dinp, dweight, dbias, dout, inp, weight, mean, rstd, M, C};
  int nt = (double)M * C > PAR_MIN ? 0 : 1;
  if (dinp) cd_pool_run((M + LN_ROWS - 1) / LN_ROWS, nt, ln_back_rows_item, &j);
  if (dweight || dbias) cd_pool_run((C + LN_BACK_COLS - 1) / LN_BACK_COLS, nt, ln_back_cols_item, &j);
  free(stats);
}
