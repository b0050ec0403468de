/* Residual add and row softmax. */
#include <math.h>

#include "ops/ops.h"
#include "ops/vecmath.h"

void cd_add_forward(float *out, const float *a, const float *b, size_t n) {
  ptrdiff_t nn = (ptrdiff_t)n;
#pragma omp parallel for simd schedule(static) if (nn > 65536)
  for (ptrdiff_t i = 0; i < nn; i++) out[i] = a[i] + b[i];
}

CD_VEC_FN void cd_softmax_forward(float *out, const float *inp, int M, int N) {
#pragma omp parallel for schedule(static) if ((double)M * N > 32768)
  for (int m = 0; m < M; m++) {
    const float *x = inp + (size_t)m * N;
    float *y = out + (size_t)m * N, mx = -INFINITY, sum = 0.0f;
    for (int n = 0; n < N; n++) mx = x[n] > mx ? x[n] : mx;
#pragma omp simd reduction(+ : sum)
    for (int n = 0; n < N; n++) sum += y[n] = cd_expf_fast(x[n] - mx);
    float inv = 1.0f / sum;
    for (int n = 0; n < N; n++) y[n] *= inv;
  }
}
