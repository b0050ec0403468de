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


/* One job for the forward and the backward: each reads the fields it needs. */
typedef struct {
  const cd_kernels *kt;
  float *out, *mean_out, *rstd_out;  /* forward (statistics may be NULL) */
  float *dinp, *dweight, *dbias;     /* backward */
  const float *inp, *weight, *bias, *dout, *mean, *rstd;
  int M, C;
  float eps;
} ln_job;

enum { LN_ROWS = 8, LN_COLS = 64 };

static void ln_rows(void *ctx, size_t m0, size_t m1, int worker) {
  const ln_job *j = ctx;
  size_t off = m0 * (size_t)j->C;
  j->kt->layernorm_rows(j->out + off, j->mean_out ? j->mean_out + m0 : NULL, j->rstd_out ? j->rstd_out + m0 : NULL,
                        j->inp + off, j->weight, j->bias, (int)(m1 - m0), j->C, j->eps);
}

void cd_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                          const float *weight, const float *bias, int M, int C, float eps) {
  if (M <= 0) return;
  ln_job j = {.kt = cd_kernels_get(), .out = out, .mean_out = mean, .rstd_out = rstd, .inp = inp,
              .weight = weight, .bias = bias, .M = M, .C = C, .eps = eps};
  cd_pool_range((size_t)M, LN_ROWS, (double)M * C > PAR_MIN ? 0 : 1, ln_rows, &j);
}

/* dinp for rows [m0, m1). */
static void ln_back_rows(void *ctx, size_t m0, size_t m1, int worker) {
  const ln_job *j = ctx;
  size_t off = m0 * (size_t)j->C;
  j->kt->layernorm_backward_rows(j->dinp + off, j->dout + off, j->inp + off, j->weight, j->mean + m0,
                                 j->rstd + m0, (int)(m1 - m0), j->C);
}

/* dweight/dbias for columns [c0, c1). */
static void ln_back_cols(void *ctx, size_t c0, size_t c1, int worker) {
  const ln_job *j = ctx;
  j->kt->layernorm_backward_cols(j->dweight, j->dbias, j->dout, j->inp, j->mean, j->rstd, j->M, j->C, (int)c0,
                                 (int)c1);
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
  ln_job j = {.kt = kt, .dinp = dinp, .dweight = dweight, .dbias = dbias, .inp = inp, .weight = weight,
              .dout = dout, .mean = mean, .rstd = rstd, .M = M, .C = C};
  int nt = (double)M * C > PAR_MIN ? 0 : 1;
  if (dinp) cd_pool_range((size_t)M, LN_ROWS, nt, ln_back_rows, &j);
  if (dweight || dbias) cd_pool_range((size_t)C, LN_COLS, nt, ln_back_cols, &j);
  free(stats);
}
