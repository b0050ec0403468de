/* Residual add and row softmax (the table's row kernel, rows in parallel). */
#include <string.h>

#include "core/pool.h"
#include "ops/dispatch.h"
#include "ops/ops.h"

enum { ADD_CHUNK = 16384, SOFTMAX_ROWS = 8 };

typedef struct {
  float *out;
  const float *a, *b;
} add_job;

static void add_range(void *ctx, size_t i0, size_t i1, int worker) {
  const add_job *j = ctx;
  float *out = j->out;
  const float *a = j->a, *b = j->b;
#pragma omp simd
  for (size_t i = i0; i < i1; i++) out[i] = a[i] + b[i];
}

void cd_add_forward(float *out, const float *a, const float *b, size_t n) {
  add_job j = {out, a, b};
  cd_pool_range(n, ADD_CHUNK, n > 65536 ? 0 : 1, add_range, &j);
}

typedef struct {
  const cd_kernels *kt;
  float *out;
  const float *inp;
  int N;
} softmax_job;

static void softmax_range(void *ctx, size_t m0, size_t m1, int worker) {
  const softmax_job *j = ctx;
  for (size_t m = m0; m < m1; m++) {
    float *y = j->out + (size_t)m * j->N;
    const float *x = j->inp + (size_t)m * j->N;
    if (y != x) memcpy(y, x, sizeof(float) * (size_t)j->N);
    j->kt->softmax_rows(y, 1, j->N, j->N, 0, 0);
  }
}

void cd_softmax_forward(float *out, const float *inp, int M, int N) {
  softmax_job j = {cd_kernels_get(), out, inp, N};
  cd_pool_range((size_t)(M > 0 ? M : 0), SOFTMAX_ROWS, (double)M * N > 32768 ? 0 : 1, softmax_range, &j);
}
