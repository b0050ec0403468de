/* Weighted cross-entropy over cosine logits, with the backward through the text-feature
 * normalisation. n_cls and E are small (classes x embed), so double precision is cheap and
 * keeps the gradient free of cancellation error. */
#include "models/tuning/coop_loss.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int cd_coop_loss(const float *img_n, int N, const float *txt, int n_cls, int E,
                 float logit_scale_log, const int32_t *labels, const float *weights,
                 float *logits, double *loss, float *dtxt, int *n_correct, cd_error *e) {
  if (N < 1 || n_cls < 1 || E < 1) return cd_fail(e, "loss: empty batch or no classes");
  double wsum = 0;
  for (int i = 0; i < N; i++) {
    if (labels[i] < 0 || labels[i] >= n_cls)
      return cd_fail(e, "label %d of sample %d is outside [0, %d)", labels[i], i, n_cls);
    double w = weights ? weights[i] : 1.0;
    if (!(w >= 0) || !isfinite(w)) return cd_fail(e, "weight %g of sample %d is not >= 0", w, i);
    wsum += w;
  }
  if (!(wsum > 0)) return cd_fail(e, "loss: the sample weights sum to 0");
  size_t tn_n = (size_t)n_cls * E, g_n = (size_t)N * n_cls;
  double *tn = malloc(sizeof(double) * (tn_n * 2 + (size_t)n_cls + g_n));
  if (!tn) return cd_fail(e, "loss: out of memory");
  double *dtn = tn + tn_n, *norm = dtn + tn_n, *g = norm + n_cls;
  for (int c = 0; c < n_cls; c++) {
    double ss = 0;
    for (int d = 0; d < E; d++) ss += (double)txt[(size_t)c * E + d] * txt[(size_t)c * E + d];
    norm[c] = sqrt(ss);
    double inv = norm[c] > 0 ? 1.0 / norm[c] : 0.0;
    for (int d = 0; d < E; d++) tn[(size_t)c * E + d] = txt[(size_t)c * E + d] * inv;
  }
  double scale = exp((double)logit_scale_log), total = 0;
  int correct = 0;
  for (int i = 0; i < N; i++) {
    double *gi = g + (size_t)i * n_cls, mx = -INFINITY;
    int arg = 0;
    for (int c = 0; c < n_cls; c++) {
      double s = 0;
      for (int d = 0; d < E; d++) s += (double)img_n[(size_t)i * E + d] * tn[(size_t)c * E + d];
      gi[c] = scale * s;
      if (logits) logits[(size_t)i * n_cls + c] = (float)gi[c];
      if (gi[c] > mx) {
        mx = gi[c];
        arg = c;
      }
    }
    correct += arg == labels[i];
    double z = 0;
    for (int c = 0; c < n_cls; c++) z += exp(gi[c] - mx);
    double lse = mx + log(z), w = (weights ? weights[i] : 1.0) / wsum;
    total += w * (lse - gi[labels[i]]);
    /* d loss / d logit = w (softmax - onehot) */
    for (int c = 0; c < n_cls; c++) gi[c] = w * (exp(gi[c] - lse) - (c == labels[i]));
  }
  *loss = total;
  if (n_correct) *n_correct = correct;
  if (dtxt) {
    memset(dtn, 0, sizeof(double) * tn_n);
    for (int i = 0; i < N; i++)
      for (int c = 0; c < n_cls; c++) {
        double gs = g[(size_t)i * n_cls + c] * scale;
        for (int d = 0; d < E; d++) dtn[(size_t)c * E + d] += gs * img_n[(size_t)i * E + d];
      }
    /* through t/|t|: (I - t̂ t̂ᵀ) / |t| */
    for (int c = 0; c < n_cls; c++) {
      double dot = 0, inv = norm[c] > 0 ? 1.0 / norm[c] : 0.0;
      for (int d = 0; d < E; d++) dot += dtn[(size_t)c * E + d] * tn[(size_t)c * E + d];
      for (int d = 0; d < E; d++)
        dtxt[(size_t)c * E + d] =
            (float)((dtn[(size_t)c * E + d] - dot * tn[(size_t)c * E + d]) * inv);
    }
  }
  free(tn);
  return 0;
}
