/* Plain C reference of multi-head attention: the simplest loops that follow the
 * math, single-threaded, accumulating in double. The ground truth every fast kernel is
 * tested against (tests/test_kernels.c, tests/test_ops_*.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

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

