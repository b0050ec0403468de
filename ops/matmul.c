/* Linear layer (PyTorch layout) on top of the blocked GEMM. */
#include "ops/gemm.h"
#include "ops/ops.h"

void cd_matmul_forward(float *out, const float *inp, const float *weight, const float *bias,
                       int M, int K, int N) {
  if (M <= 0 || N <= 0) return;
  if (bias) cd_gemm_bias_ex(cd_cpu_best_isa(), 0, 0, 1, M, N, K, inp, K, weight, K, bias, out, N);
  else cd_gemm(0, 1, M, N, K, 1.0f, inp, K, weight, K, 0.0f, out, N);
}

/* Column sums of dout; threads split the columns so each sum runs over rows in order. */
static void bias_grad(float *dbias, const float *dout, int M, int N) {
  enum { CHUNK = 64 };
  int nchunks = (N + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) if ((double)M * N > 65536)
  for (int ch = 0; ch < nchunks; ch++) {
    int n0 = ch * CHUNK, n1 = n0 + CHUNK < N ? n0 + CHUNK : N;
    float acc[CHUNK];
    for (int n = n0; n < n1; n++) acc[n - n0] = 0.0f;
    for (int m = 0; m < M; m++) {
      const float *row = dout + (size_t)m * N;
      for (int n = n0; n < n1; n++) acc[n - n0] += row[n];
    }
    for (int n = n0; n < n1; n++) dbias[n] += acc[n - n0];
  }
}

void cd_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, int M, int K, int N) {
  if (M <= 0 || N <= 0 || K <= 0) return;
  if (dinp) cd_gemm(0, 0, M, K, N, 1.0f, dout, N, weight, K, 1.0f, dinp, K);
  if (dweight) cd_gemm(1, 0, N, K, M, 1.0f, dout, N, inp, K, 1.0f, dweight, K);
  if (dbias) bias_grad(dbias, dout, M, N);
}
