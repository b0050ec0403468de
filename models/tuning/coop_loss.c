/* Cosine logits, softmax cross-entropy and their backward (see coop_loss.h). */
#include "models/tuning/coop_loss.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"

void cd_class_matrix_forward(const float *txt, int C, int E, float logit_scale_log, double *Z,
                             double *norm) {
  double scale = exp((double)logit_scale_log);
  for (int c = 0; c < C; c++) {
    const float *t = txt + (size_t)c * E;
    double ss = 0;
    for (int d = 0; d < E; d++) ss += (double)t[d] * t[d];
    norm[c] = sqrt(ss);
    double k = norm[c] > 0 ? scale / norm[c] : 0.0;
    for (int d = 0; d < E; d++) Z[(size_t)c * E + d] = t[d] * k;
  }
}

void cd_class_matrix_backward(const double *Z, const double *norm, int C, int E,
                              float logit_scale_log, const double *dZ, float *dtxt) {
  double scale = exp((double)logit_scale_log);
  for (int c = 0; c < C; c++) {
    const double *z = Z + (size_t)c * E, *dz = dZ + (size_t)c * E;
    /* with t̂ = z / s and dt̂ = s dz: dt = (dt̂ - (dt̂·t̂) t̂) / |t| */
    double dot = 0, inv = norm[c] > 0 ? 1.0 / norm[c] : 0.0;
    for (int d = 0; d < E; d++) dot += dz[d] * z[d];
    for (int d = 0; d < E; d++)
      dtxt[(size_t)c * E + d] = (float)((scale * dz[d] - dot * z[d] / scale) * inv);
  }
}

typedef struct {
  const float *x;
  const double *Z, *bias;
  int C, E;
  double *logits;
} logits_job;

/* Logits of rows [i0, i1). Each logit is one sum over d in order, started from the bias; rows
 * go four at a time so that their sums are independent chains (the single sum waited an add's
 * latency per term), each rounded as alone. */
static void logits_rows(void *ctx, size_t i0, size_t i1, int worker) {
  const logits_job *j = ctx;
  int C = j->C, E = j->E;
  size_t i = i0;
  for (; i + 4 <= i1; i += 4) {
    const float *x0 = j->x + i * E, *x1 = x0 + E, *x2 = x1 + E, *x3 = x2 + E;
    for (int c = 0; c < C; c++) {
      const double *z = j->Z + (size_t)c * E;
      double b = j->bias ? j->bias[c] : 0.0, s0 = b, s1 = b, s2 = b, s3 = b;
      for (int d = 0; d < E; d++) {
        double zd = z[d];
        s0 += x0[d] * zd;
        s1 += x1[d] * zd;
        s2 += x2[d] * zd;
        s3 += x3[d] * zd;
      }
      double *l = j->logits + i * C + c;
      l[0] = s0, l[C] = s1, l[2 * C] = s2, l[3 * C] = s3;
    }
  }
  for (; i < i1; i++) {
    const float *xi = j->x + (size_t)i * E;
    for (int c = 0; c < C; c++) {
      const double *z = j->Z + (size_t)c * E;
      double s = j->bias ? j->bias[c] : 0.0;
      for (int d = 0; d < E; d++) s += xi[d] * z[d];
      j->logits[(size_t)i * C + c] = s;
    }
  }
}

void cd_logits_forward(const float *x, int N, const double *Z, const double *bias, int C, int E,
                       double *logits) {
  logits_job j = {x, Z, bias, C, E, logits};
  cd_pool_range((size_t)(N > 0 ? N : 0), 16, (long long)N * C * E > 1 << 16 ? 0 : 1, logits_rows, &j);
}

void cd_logits_backward(const float *x, int N, const double *dlogits, int C, int E, double *dZ,
                        double *dbias) {
  memset(dZ, 0, sizeof(double) * (size_t)C * E);
  if (dbias) memset(dbias, 0, sizeof(double) * (size_t)C);
  for (int i = 0; i < N; i++)
    for (int c = 0; c < C; c++) {
      double g = dlogits[(size_t)i * C + c];
      if (dbias) dbias[c] += g;
      for (int d = 0; d < E; d++) dZ[(size_t)c * E + d] += g * x[(size_t)i * E + d];
    }
}

void cd_softmax_xent_forward(double *l, const int32_t *labels, int N, int C, double *ce,
                             double *p_true, int32_t *pred) {
  for (int i = 0; i < N; i++) {
    double *li = l + (size_t)i * C, mx = -INFINITY;
    int arg = 0;
    for (int c = 0; c < C; c++)
      if (li[c] > mx) mx = li[c], arg = c;
    double z = 0;
    for (int c = 0; c < C; c++) z += exp(li[c] - mx);
    double lse = mx + log(z);
    if (labels && ce) ce[i] = lse - li[labels[i]];
    for (int c = 0; c < C; c++) li[c] = exp(li[c] - lse);
    if (labels && p_true) p_true[i] = li[labels[i]];
    if (pred) pred[i] = arg;
  }
}

void cd_softmax_xent_backward(const double *p, const int32_t *labels, const float *w,
                              double denom, int N, int C, double *dl) {
  for (int i = 0; i < N; i++) {
    double k = (w ? w[i] : 1.0) / denom;
    for (int c = 0; c < C; c++)
      dl[(size_t)i * C + c] = k * (p[(size_t)i * C + c] - (c == labels[i]));
  }
}

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
  size_t zn = (size_t)n_cls * E, ln = (size_t)N * n_cls;
  double *Z = malloc(sizeof(double) * (2 * zn + (size_t)n_cls + 2 * ln + (size_t)N));
  int32_t *pred = malloc(sizeof(int32_t) * (size_t)N);
  if (!Z || !pred) {
    free(Z), free(pred);
    return cd_fail(e, "loss: out of memory");
  }
  double *dZ = Z + zn, *norm = dZ + zn, *l = norm + n_cls, *dl = l + ln, *ce = dl + ln;
  cd_class_matrix_forward(txt, n_cls, E, logit_scale_log, Z, norm);
  cd_logits_forward(img_n, N, Z, NULL, n_cls, E, l);
  if (logits)
    for (size_t k = 0; k < ln; k++) logits[k] = (float)l[k];
  cd_softmax_xent_forward(l, labels, N, n_cls, ce, NULL, pred);
  double total = 0;
  int correct = 0;
  for (int i = 0; i < N; i++) {
    total += (weights ? weights[i] : 1.0) * ce[i];
    correct += pred[i] == labels[i];
  }
  *loss = total / wsum;
  if (n_correct) *n_correct = correct;
  if (dtxt) {
    cd_softmax_xent_backward(l, labels, weights, wsum, N, n_cls, dl);
    cd_logits_backward(img_n, N, dl, n_cls, E, dZ, NULL);
    cd_class_matrix_backward(Z, norm, n_cls, E, logit_scale_log, dZ, dtxt);
  }
  free(Z);
  free(pred);
  return 0;
}
