/* LayerNorm over the last dimension: rows in parallel, two-pass mean/variance in float. The
 * forward and the backward run the kernel table's kernels on blocks of rows (or columns), each
 * block an item of the pool. */
#include <math.h>
#include <stdlib.h>

#include "core/pool.h"
#include "ops/dispatch.h"
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
  const cd_kernels *kt;
  float *dinp, *dweight, *dbias;
  const float *dout, *inp, *weight, *mean, *rstd;
  int M, C;
} ln_back_job;

enum { LN_BACK_COLS = 64 };

/* dinp for rows [blk * LN_ROWS, ...). */
static void ln_back_rows_item(void *ctx, int blk, int worker) {
  const ln_back_job *j = ctx;
  int m0 = blk * LN_ROWS, n = j->M - m0 < LN_ROWS ? j->M - m0 : LN_ROWS;
  size_t off = (size_t)m0 * j->C;
  (void)worker;
  j->kt->layernorm_backward_rows(j->dinp + off, j->dout + off, j->inp + off, j->weight, j->mean + m0,
                                 j->rstd + m0, n, j->C);
}

/* dweight/dbias for columns [ch * LN_BACK_COLS, ...). */
static void ln_back_cols_item(void *ctx, int ch, int worker) {
  const ln_back_job *j = ctx;
  int c0 = ch * LN_BACK_COLS, c1 = c0 + LN_BACK_COLS < j->C ? c0 + LN_BACK_COLS : j->C;
  (void)worker;
  j->kt->layernorm_backward_cols(j->dweight, j->dbias, j->dout, j->inp, j->mean, j->rstd, j->M, j->C, c0, c1);
}

/* dinp row by row; dweight/dbias by column blocks so each column sums its rows in order,
 * whatever the thread count. mean/rstd may be NULL: then they are recomputed (eps 1e-5). */
void cd_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                           const float *inp, const float *weight, const float *mean,
                           const float *rstd, int M, int C) {
  if (M <= 0 || C <= 0) return;
  const cd_kernels *kt = cd_kernels_get();
  float *stats = NULL;
  if (!mean || !rstd) {
    stats = malloc(sizeof(float) * 2 * (size_t)M);
    if (!stats) {
      cd_layernorm_backward_ref(dinp, dweight, dbias, dout, inp, weight, NULL, NULL, M, C);
      return;
    }
    kt->layernorm_stats(stats, stats + M, inp, M, C, 1e-5f);
    mean = stats;
    rstd = stats + M;
  }
  ln_back_job j = {kt, dinp, dweight, dbias, dout, inp, weight, mean, rstd, M, C};
  int nt = (double)M * C > PAR_MIN ? 0 : 1;
  if (dinp) cd_pool_run((M + LN_ROWS - 1) / LN_ROWS, nt, ln_back_rows_item, &j);
  if (dweight || dbias) cd_pool_run((C + LN_BACK_COLS - 1) / LN_BACK_COLS, nt, ln_back_cols_item, &j);
  free(stats);
}
