/* Drivers and portable kernels of the skinny products (see ops/gemm/skinny.h). */
#include "ops/gemm/skinny.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

void cd_skinny_forward_portable(float *out, const float *X, size_t ldx, const float *W,
                                const float *bias, int M, int K, int N, int n0, int n1) {
  for (int n = n0; n < n1; n++)
    for (int m = 0; m < M; m++) {
      const float *x = X + (size_t)m * ldx, *w = W + (size_t)n * K;
      float s = 0;
      for (int k = 0; k < K; k++) s += x[k] * w[k];
      out[(size_t)m * N + n] = s + (bias ? bias[n] : 0.0f);
    }
}

void cd_skinny_backward_portable(float *dX, const float *dY, const float *W, int M, int K, int N,
                                 int j0, int j1, float *strip) {
  (void)strip;
  for (int m = 0; m < M; m++)
    for (int p = 0; p < N; p++) {
      float g = dY[(size_t)m * N + p];
      const float *w = W + (size_t)p * K;
      float *d = dX + (size_t)m * K;
      for (int k = j0; k < j1; k++) d[k] += g * w[k];
    }
}

void cd_skinny_linear_forward_ref(float *out, const float *X, const float *W, const float *bias,
                                  int M, int K, int N) {
  cd_skinny_forward_portable(out, X, (size_t)K, W, bias, M, K, N, 0, N);
}

void cd_skinny_linear_backward_ref(float *dX, const float *dY, const float *W, int M, int K,
                                   int N) {
  cd_skinny_backward_portable(dX, dY, W, M, K, N, 0, K, NULL);
}

/* Weight rows per work item: a multiple of the AVX2 kernel's 3-row tile. */
enum { ROWS = 12 };

void cd_skinny_linear_forward(const cd_kernels *kt, float *out, const float *X, const float *W,
                              const float *bias, int M, int K, int N) {
  if (M <= 0 || N <= 0) return;
  /* Rows a multiple of 4 KB apart share L1 sets, and a tile streams 7 rows at once: give the
   * inputs a padded copy (small next to the weight) so they spread over the sets. */
  size_t ldx = (size_t)K;
  float *pad = NULL;
  if (K >= 1024 && K % 1024 == 0 && (pad = malloc(sizeof(float) * (size_t)M * (K + 16)))) {
    ldx = (size_t)K + 16;
    for (int m = 0; m < M; m++) memcpy(pad + m * ldx, X + (size_t)m * K, sizeof(float) * K);
    X = pad;
  }
  int nb = (N + ROWS - 1) / ROWS;
#pragma omp parallel for schedule(static) if ((double)M * N * K > 2e5)
  for (int b = 0; b < nb; b++) {
    int n0 = b * ROWS, n1 = n0 + ROWS < N ? n0 + ROWS : N;
    kt->skinny_forward(out, X, ldx, W, bias, M, K, N, n0, n1);
  }
  free(pad);
}

void cd_skinny_linear_backward(const cd_kernels *kt, float *dX, const float *dY, const float *W,
                               int M, int K, int N) {
  if (M <= 0 || N <= 0 || K <= 0) return;
  int nj = (K + 15) / 16;
#pragma omp parallel if ((double)M * N * K > 2e5)
  {
    int nt = 1, tid = 0;
#ifdef _OPENMP
    nt = omp_get_num_threads();
    tid = omp_get_thread_num();
#endif
    int jb0 = (int)((long)nj * tid / nt), jb1 = (int)((long)nj * (tid + 1) / nt);
    int j0 = jb0 * 16, j1 = jb1 * 16 < K ? jb1 * 16 : K;
    if (j1 > j0) {
      float *strip = aligned_alloc(32, sizeof(float) * CD_SKINNY_PCHUNK * (size_t)(jb1 - jb0) * 16);
      if (strip) kt->skinny_backward(dX, dY, W, M, K, N, j0, j1, strip);
      else cd_skinny_backward_portable(dX, dY, W, M, K, N, j0, j1, NULL); /* needs no memory */
      free(strip);
    }
  }
}
