/* Plain C reference of LayerNorm: the simplest loops that follow the
 * math, single-threaded, accumulating in double. The ground truth every fast kernel is
 * tested against (tests/test_kernels.c, tests/test_ops_*.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

static void ln_stats(const float *x, int C, double *mean, double *rstd, float eps) {
  double m = 0, v = 0;
  for (int c = 0; c < C; c++) m += x[c];
  m /= C;
  for (int c = 0; c < C; c++) v += (x[c] - m) * (x[c] - m);
  v /= C;
  *mean = m;
  *rstd = 1.0 / sqrt(v + eps);
}

void cd_layernorm_forward_ref(float *out, float *mean, float *rstd, const float *inp,
                              const float *weight, const float *bias, int M, int C, float eps) {
  for (int m = 0; m < M; m++) {
    const float *x = inp + (size_t)m * C;
    double mu, rs;
    ln_stats(x, C, &mu, &rs, eps);
    for (int c = 0; c < C; c++)
      out[(size_t)m * C + c] = (float)((x[c] - mu) * rs * weight[c] + bias[c]);
    if (mean) mean[m] = (float)mu;
    if (rstd) rstd[m] = (float)rs;
  }
}

/* mean/rstd may be NULL (then recomputed with eps 1e-5, CLIP's value). */
void cd_layernorm_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout,
                               const float *inp, const float *weight, const float *mean,
                               const float *rstd, int M, int C) {
  for (int m = 0; m < M; m++) {
    const float *x = inp + (size_t)m * C, *dy = dout + (size_t)m * C;
    double mu, rs;
    if (mean && rstd) {
      mu = mean[m];
      rs = rstd[m];
    } else {
      ln_stats(x, C, &mu, &rs, 1e-5f);
    }
    double g_mean = 0, g_norm_mean = 0;
    for (int c = 0; c < C; c++) {
      double norm = (x[c] - mu) * rs, g = (double)weight[c] * dy[c];
      g_mean += g;
      g_norm_mean += g * norm;
    }
    g_mean /= C;
    g_norm_mean /= C;
    for (int c = 0; c < C; c++) {
      double norm = (x[c] - mu) * rs, g = (double)weight[c] * dy[c];
      if (dbias) dbias[c] += dy[c];
      if (dweight) dweight[c] += (float)(norm * dy[c]);
      if (dinp) dinp[(size_t)m * C + c] += (float)((g - g_mean - norm * g_norm_mean) * rs);
    }
  }
}

