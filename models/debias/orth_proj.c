/* Orth-Proj / Orth-Cali (see orth_proj.h). */
#include "models/debias/orth_proj.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double dot(const double *a, const double *b, int d) {
  double s = 0;
  for (int i = 0; i < d; i++) s += a[i] * b[i];
  return s;
}

void cd_orth_reject(const double *V, int r, int d, const double *x, double *out) {
  if (out != x) memcpy(out, x, sizeof(double) * d);
  for (int k = 0; k < r; k++) {
    double p = dot(V + (size_t)k * d, out, d);
    for (int i = 0; i < d; i++) out[i] -= p * V[(size_t)k * d + i];
  }
}

int cd_orth_basis(const float *A, int K, int d, double *V) {
  int r = 0;
  for (int k = 0; k < K; k++) {
    double *v = V + (size_t)r * d;
    for (int i = 0; i < d; i++) v[i] = A[(size_t)k * d + i];
    double n0 = sqrt(dot(v, v, d));
    /* twice: one pass of modified Gram-Schmidt loses orthogonality on close directions */
    cd_orth_reject(V, r, d, v, v);
    cd_orth_reject(V, r, d, v, v);
    double n = sqrt(dot(v, v, d));
    if (!(n0 > 0) || n < 1e-6 * n0) continue;
    for (int i = 0; i < d; i++) v[i] /= n;
    r++;
  }
  return r;
}

/* In place: lower Cholesky factor of the SPD matrix G [d, d] (upper triangle left as is). */
static int cholesky(double *G, int d, cd_error *e) {
  for (int j = 0; j < d; j++) {
    double s = G[(size_t)j * d + j];
    for (int k = 0; k < j; k++) s -= G[(size_t)j * d + k] * G[(size_t)j * d + k];
    if (!(s > 0)) return cd_fail(e, "orth-cali: I + lambda M is not positive definite (lambda < 0?)");
    double l = sqrt(s);
    G[(size_t)j * d + j] = l;
    for (int i = j + 1; i < d; i++) {
      double t = G[(size_t)i * d + j];
      for (int k = 0; k < j; k++) t -= G[(size_t)i * d + k] * G[(size_t)j * d + k];
      G[(size_t)i * d + j] = t / l;
    }
  }
  return 0;
}

/* x <- G⁻¹ x with G = L Lᵀ. */
static void cholesky_solve(const double *L, int d, double *x) {
  for (int i = 0; i < d; i++) {
    double s = x[i];
    for (int k = 0; k < i; k++) s -= L[(size_t)i * d + k] * x[k];
    x[i] = s / L[(size_t)i * d + i];
  }
  for (int i = d - 1; i >= 0; i--) {
    double s = x[i];
    for (int k = i + 1; k < d; k++) s -= L[(size_t)k * d + i] * x[k];
    x[i] = s / L[(size_t)i * d + i];
  }
}

/* G = I + λ/|S| Σ δδᵀ (debias_vl get_M, then args.lam * M + np.eye), factored in place. */
static int calibration_factor(cd_orth_cali *o, const float *Z, const int *pairs, int n_pairs, double lambda,
                              cd_error *e) {
  int d = o->d;
  double *delta = cd_malloc(sizeof(double) * d, e);
  o->L = cd_calloc((size_t)d * d, sizeof(double), e);
  if (!delta || !o->L) return free(delta), -1;
  for (int s = 0; s < n_pairs; s++) {
    const float *zi = Z + (size_t)pairs[2 * s] * d, *zj = Z + (size_t)pairs[2 * s + 1] * d;
    for (int i = 0; i < d; i++) delta[i] = (double)zi[i] - zj[i];
    for (int i = 0; i < d; i++)
      for (int j = 0; j <= i; j++) o->L[(size_t)i * d + j] += lambda / n_pairs * delta[i] * delta[j];
  }
  for (int i = 0; i < d; i++) o->L[(size_t)i * d + i] += 1.0;
  free(delta);
  return cholesky(o->L, d, e);
}

int cd_orth_cali_init(cd_orth_cali *o, const float *A, int K, int d, const float *Z, const int *pairs,
                      int n_pairs, double lambda, cd_error *e) {
  memset(o, 0, sizeof *o);
  o->d = d;
  if (K < 1) return cd_fail(e, "orth-proj: no spurious prompt");
  if (!(lambda >= 0)) return cd_fail(e, "orth-cali: lambda must be >= 0 (got %g)", lambda);
  if (!(o->V = cd_malloc(sizeof(double) * (size_t)K * d, e))) return -1;
  o->r = cd_orth_basis(A, K, d, o->V);
  if (lambda > 0 && n_pairs > 0 && calibration_factor(o, Z, pairs, n_pairs, lambda, e)) {
    cd_orth_cali_free(o);
    return -1;
  }
  return 0;
}

void cd_orth_cali_free(cd_orth_cali *o) {
  free(o->V);
  free(o->L);
  memset(o, 0, sizeof *o);
}

void cd_orth_cali_apply(const cd_orth_cali *o, const double *x, double *out) {
  if (out != x) memcpy(out, x, sizeof(double) * o->d);
  if (o->L) cholesky_solve(o->L, o->d, out);
  cd_orth_reject(o->V, o->r, o->d, out, out); /* P₀ acts last: t' ⟂ every a_k for any λ */
}

int cd_orth_cali_classes(const cd_orth_cali *o, const float *T, int C, float *out, cd_error *e) {
  int d = o->d;
  double *t = cd_malloc(sizeof(double) * d, e);
  if (!t) return -1;
  for (int c = 0; c < C; c++) {
    for (int i = 0; i < d; i++) t[i] = T[(size_t)c * d + i];
    cd_orth_cali_apply(o, t, t);
    double n = sqrt(dot(t, t, d));
    if (!(n > 1e-12)) {
      free(t);
      return cd_fail(e, "orth-proj: class %d's text feature lies in the span of the spurious prompts", c);
    }
    for (int i = 0; i < d; i++) out[(size_t)c * d + i] = (float)(t[i] / n);
  }
  free(t);
  return 0;
}
