/* Plain C references of every op: the simplest loops that follow the math, single-threaded,
 * accumulating in double so they are the ground truth the fast kernels are tested against. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

void cd_matmul_forward_ref(float *out, const float *inp, const float *weight, const float *bias,
                           int M, int K, int N) {
  for (int m = 0; m < M; m++)
    for (int n = 0; n < N; n++) {
      double s = bias ? bias[n] : 0.0;
      for (int k = 0; k < K; k++) s += (double)inp[(size_t)m * K + k] * weight[(size_t)n * K + k];
      out[(size_t)m * N + n] = (float)s;
    }
}

void cd_matmul_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout,
                            const float *inp, const float *weight, int M, int K, int N) {
  if (dinp)
    for (int m = 0; m < M; m++)
      for (int k = 0; k < K; k++) {
        double s = 0;
        for (int n = 0; n < N; n++) s += (double)dout[(size_t)m * N + n] * weight[(size_t)n * K + k];
        dinp[(size_t)m * K + k] += (float)s;
      }
  if (dweight)
    for (int n = 0; n < N; n++)
      for (int k = 0; k < K; k++) {
        double s = 0;
        for (int m = 0; m < M; m++) s += (double)dout[(size_t)m * N + n] * inp[(size_t)m * K + k];
        dweight[(size_t)n * K + k] += (float)s;
      }
  if (dbias)
    for (int n = 0; n < N; n++) {
      double s = 0;
      for (int m = 0; m < M; m++) s += dout[(size_t)m * N + n];
      dbias[n] += (float)s;
    }
}

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

/* Softmax probabilities of one query row t of head (b,h): p[0..T). Masked entries are 0. */
static void att_row_ref(double *p, const float *qkv, int b, int t, int h, int T, int C, int NH,
                        int causal) {
  int hs = C / NH, len = causal ? t + 1 : T;
  double scale = 1.0 / sqrt((double)hs), mx = -INFINITY, sum = 0;
  const float *q = qkv + ((size_t)b * T + t) * 3 * C + h * hs;
  for (int t2 = 0; t2 < len; t2++) {
    const float *k = qkv + ((size_t)b * T + t2) * 3 * C + C + h * hs;
    double s = 0;
    for (int i = 0; i < hs; i++) s += (double)q[i] * k[i];
    p[t2] = s * scale;
    if (p[t2] > mx) mx = p[t2];
  }
  for (int t2 = 0; t2 < len; t2++) sum += p[t2] = exp(p[t2] - mx);
  for (int t2 = 0; t2 < T; t2++) p[t2] = t2 < len ? p[t2] / sum : 0.0;
}

void cd_attention_forward_ref(float *out, float *att, const float *qkv, int B, int T, int C,
                              int NH, int causal) {
  int hs = C / NH;
  double *p = malloc(sizeof(double) * (size_t)(T > 0 ? T : 1));
  if (!p) abort();
  for (int b = 0; b < B; b++)
    for (int h = 0; h < NH; h++)
      for (int t = 0; t < T; t++) {
        att_row_ref(p, qkv, b, t, h, T, C, NH, causal);
        if (att)
          for (int t2 = 0; t2 < T; t2++) att[(((size_t)b * NH + h) * T + t) * T + t2] = (float)p[t2];
        for (int i = 0; i < hs; i++) {
          double s = 0;
          for (int t2 = 0; t2 < T; t2++) s += p[t2] * qkv[((size_t)b * T + t2) * 3 * C + 2 * C + h * hs + i];
          out[((size_t)b * T + t) * C + h * hs + i] = (float)s;
        }
      }
  free(p);
}

/* att may be NULL: the probabilities are then recomputed from qkv. */
void cd_attention_backward_ref(float *dqkv, const float *dout, const float *qkv,
                               const float *att, int B, int T, int C, int NH, int causal) {
  int hs = C / NH;
  double scale = 1.0 / sqrt((double)hs);
  double *p = malloc(sizeof(double) * 3 * (size_t)(T > 0 ? T : 1));
  if (!p) abort();
  double *dp = p + T, *ds = p + 2 * T;
  for (int b = 0; b < B; b++)
    for (int h = 0; h < NH; h++)
      for (int t = 0; t < T; t++) {
        if (att) {
          for (int t2 = 0; t2 < T; t2++) p[t2] = att[(((size_t)b * NH + h) * T + t) * T + t2];
        } else {
          att_row_ref(p, qkv, b, t, h, T, C, NH, causal);
        }
        const float *dy = dout + ((size_t)b * T + t) * C + h * hs;
        double dot = 0;
        for (int t2 = 0; t2 < T; t2++) {
          const float *v = qkv + ((size_t)b * T + t2) * 3 * C + 2 * C + h * hs;
          float *dv = dqkv + ((size_t)b * T + t2) * 3 * C + 2 * C + h * hs;
          double s = 0;
          for (int i = 0; i < hs; i++) {
            s += (double)dy[i] * v[i];
            dv[i] += (float)(p[t2] * dy[i]);
          }
          dp[t2] = s;
          dot += p[t2] * s;
        }
        for (int t2 = 0; t2 < T; t2++) ds[t2] = p[t2] * (dp[t2] - dot) * scale;
        const float *q = qkv + ((size_t)b * T + t) * 3 * C + h * hs;
        float *dq = dqkv + ((size_t)b * T + t) * 3 * C + h * hs;
        for (int t2 = 0; t2 < T; t2++) {
          const float *k = qkv + ((size_t)b * T + t2) * 3 * C + C + h * hs;
          float *dk = dqkv + ((size_t)b * T + t2) * 3 * C + C + h * hs;
          for (int i = 0; i < hs; i++) {
            dq[i] += (float)(ds[t2] * k[i]);
            dk[i] += (float)(ds[t2] * q[i]);
          }
        }
      }
  free(p);
}

/* CLIP computes x * sigmoid(1.702 * x) on float tensors, so 1.702 * x is rounded to float
 * first; the reference does the same and is exact from there on. */
void cd_quickgelu_forward_ref(float *out, const float *inp, size_t n) {
  for (size_t i = 0; i < n; i++) {
    double y = (float)(1.702f * inp[i]);
    out[i] = (float)(inp[i] / (1.0 + exp(-y)));
  }
}

void cd_quickgelu_backward_ref(float *dinp, const float *dout, const float *inp, size_t n) {
  for (size_t i = 0; i < n; i++) {
    double x = inp[i], s = 1.0 / (1.0 + exp(-1.702 * x));
    dinp[i] += (float)(dout[i] * (s + 1.702 * x * s * (1.0 - s)));
  }
}

void cd_gelu_forward_ref(float *out, const float *inp, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = (float)(0.5 * inp[i] * (1.0 + erf(inp[i] / sqrt(2.0))));
}

void cd_gelu_backward_ref(float *dinp, const float *dout, const float *inp, size_t n) {
  const double inv_sqrt_2pi = 0.39894228040143267794;
  for (size_t i = 0; i < n; i++) {
    double x = inp[i];
    double d = 0.5 * (1.0 + erf(x / sqrt(2.0))) + x * inv_sqrt_2pi * exp(-0.5 * x * x);
    dinp[i] += (float)(dout[i] * d);
  }
}

void cd_add_forward_ref(float *out, const float *a, const float *b, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void cd_softmax_forward_ref(float *out, const float *inp, int M, int N) {
  for (int m = 0; m < M; m++) {
    const float *x = inp + (size_t)m * N;
    double mx = -INFINITY, sum = 0;
    for (int n = 0; n < N; n++)
      if (x[n] > mx) mx = x[n];
    for (int n = 0; n < N; n++) sum += exp(x[n] - mx);
    for (int n = 0; n < N; n++) out[(size_t)m * N + n] = (float)(exp(x[n] - mx) / sum);
  }
}
