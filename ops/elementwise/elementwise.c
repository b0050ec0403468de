/* Residual add and row softmax (the table's row kernel, rows in parallel). */
#include <string.h>

#include "core/pool.h"
#include "ops/dispatch.h"
#include "ops/ops.h"

enum { ADD_CHUNK = 16384, SOFTMAX_ROWS = 8 };

typedef struct {
  float *out;
  const float *a, *b;
  size_t n;
} add_job;

static void add_item(void *ctx, int c, int worker) {
  const add_job *j = ctx;
  (void)worker;
  size_t i0 = (size_t)c * ADD_CHUNK, len = j->n - i0 < ADD_CHUNK ? j->n - i0 : ADD_CHUNK;
  float *out = j->out + i0;
  const float *a = j->a + i0, *b = j->b + i0;
#pragma omp simd
  for (size_t i = 0; i < len; i++) out[i] = a[i] + b[i];
}

void cd_add_forward(float *out, const float *a, const float *b, size_t n) {
  add_job j = {out, a, b, n};
  cd_pool_run((int)((n + ADD_CHUNK - 1) / ADD_CHUNK), n > 65536 ? 0 : 1, add_item, &j);
}

typedef struct {
  const cd_kernels *kt;
  float *out;
  const float *inp;
  int M, N;
} softmax_job;

static void softmax_item(void *ctx, int blk, int worker) {
  const softmax_job *j = ctx;
  (void)worker;
  int m1 = (blk + 1) * SOFTMAX_ROWS < j->M ? (blk + 1) * SOFTMAX_ROWS : j->M;
  for (int m = blk * SOFTMAX_ROWS; m < m1; m++) {
    float *y = j->out + (size_t)m * j->N;
    const float *x = j->inp + (size_t)m * j->N;
    if (y != x) memcpy(y, x, sizeof(float) * (size_t)j->N);
    j->kt->softmax_rows(y, 1, j->N, j->N, 0, 0);
  }
}

void cd_softmax_forward(float *out, const float *inp, int M, int N) {
  softmax_job j = {cd_kernels_get(), out, inp, M, N};
  cd_pool_run((M + SOFTMAX_ROWS - 1) / SOFTMAX_ROWS, (double)M * N > 32768 ? 0 : 1, softmax_item, &j);
}
