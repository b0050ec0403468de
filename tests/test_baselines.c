/* The field's baselines (models/debias: orth_proj, roboshot, dfr, jtt) against hand-computed
 * cases from /work's baselines spec (docs/baselines.md, section (d) of each method) and
 * against an independent numpy computation on a small cache (tools/gen/gen_baseline_fixtures.py
 * -> tests/fixtures/baselines): Orth-Proj, Orth-Cali and RoboShot features and their zero-shot
 * accuracies to 0.1 points, L1 logistic regression weights, DFR's chosen C, held-out worst
 * groups, averaged head and test accuracy. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/npy.h"
#include "models/debias/dfr.h"
#include "models/debias/jtt.h"
#include "models/debias/orth_proj.h"
#include "models/debias/roboshot.h"
#include "tests/testutil.h"

#define DIR "tests/fixtures/baselines/"

static void unit(float *v, int d) {
  double s = 0;
  for (int i = 0; i < d; i++) s += (double)v[i] * v[i];
  for (int i = 0; i < d; i++) v[i] = (float)(v[i] / sqrt(s));
}

static int near3(const float *v, double a, double b, double c, double tol) {
  return fabs(v[0] - a) <= tol && fabs(v[1] - b) <= tol && fabs(v[2] - c) <= tol;
}

/* Orth-Proj toy: a = n(1,1,0), t = (1,0,0) -> t' = (0.70711, -0.70711, 0). */
static void orth_proj_toy(void) {
  float a[3] = {1, 1, 0}, t[3] = {1, 0, 0}, out[3];
  unit(a, 3);
  cd_orth_cali o;
  cd_error e;
  int rc = cd_orth_cali_init(&o, a, 1, 3, NULL, NULL, 0, 0, &e) || cd_orth_cali_classes(&o, t, 1, out, &e);
  CHECK(rc == 0, "orth-proj toy: %s", e.msg);
  printf("orth-proj toy: t' = (%.5f, %.5f, %.5f), expected (0.70711, -0.70711, 0)\n", out[0], out[1], out[2]);
  CHECK(near3(out, 0.70711, -0.70711, 0, 1e-5), "orth-proj toy");
  cd_orth_cali_free(&o);
}

/* Orth-Cali toy: a = (0,0,1), δ = (1.2,0,0), λ = 1000, t = (0.48,0.6,0.64): t' =
 * (0.00055517, 0.99999985, 0), |P δ| = 1.2/1441; λ = 0: t' = (0.62470, 0.78087, 0). */
static void orth_cali_toy(void) {
  float a[3] = {0, 0, 1}, z[6] = {1.2f, 0, 0, 0, 0, 0}, t[3] = {0.48f, 0.6f, 0.64f}, out[3];
  int pairs[2] = {0, 1};
  cd_error e;
  for (int k = 0; k < 2; k++) {
    double lambda = k ? 1000 : 0;
    cd_orth_cali o;
    int rc = cd_orth_cali_init(&o, a, 1, 3, z, pairs, 1, lambda, &e) || cd_orth_cali_classes(&o, t, 1, out, &e);
    CHECK(rc == 0, "orth-cali toy: %s", e.msg);
    if (rc) return;
    printf("orth-cali toy, lambda %g: t' = (%.8f, %.8f, %.8f)\n", lambda, out[0], out[1], out[2]);
    if (k) {
      CHECK(near3(out, 0.00055517, 0.99999985, 0, 2e-7), "orth-cali toy lambda 1000");
      double d[3] = {1.2, 0, 0}, pd[3];
      cd_orth_cali_apply(&o, d, pd);
      double norm = sqrt(pd[0] * pd[0] + pd[1] * pd[1] + pd[2] * pd[2]);
      printf("orth-cali toy: |P delta| = %.9g, expected 1.2/1441 = %.9g\n", norm, 1.2 / 1441);
      CHECK(fabs(norm / (1.2 / 1441) - 1) < 1e-6, "|P delta|");
    } else {
      CHECK(near3(out, 0.62470, 0.78087, 0, 1e-5), "orth-cali toy lambda 0");
    }
    cd_orth_cali_free(&o);
  }
}

/* RoboShot toy: x = (0.6,0.48,0.64), v = (2,0,0), u = (0,3,0): after rejection (0,0.6,0.8),
 * then (0,0.83205,0.55470). */
static void roboshot_toy(void) {
  float pv[6] = {2, 0, 0, 0, 0, 0}, pu[6] = {0, 3, 0, 0, 0, 0};
  int pair[2] = {0, 1};
  double Qs[3], Qu[3];
  cd_error e;
  int ks = cd_roboshot_basis(pv, 3, pair, 1, Qs, &e), ku = cd_roboshot_basis(pu, 3, pair, 1, Qu, &e);
  CHECK(ks == 1 && ku == 1, "roboshot toy bases: %d %d", ks, ku);
  float x[3] = {0.6f, 0.48f, 0.64f}, y[3] = {0.6f, 0.48f, 0.64f};
  cd_roboshot_transform(x, 1, 3, Qs, ks, NULL, 0, &e);
  cd_roboshot_transform(y, 1, 3, Qs, ks, Qu, ku, &e);
  printf("roboshot toy: rejected (%.5f, %.5f, %.5f), expected (0, 0.6, 0.8); with the boost (%.5f, %.5f, %.5f), "
         "expected (0, 0.83205, 0.55470)\n", x[0], x[1], x[2], y[0], y[1], y[2]);
  CHECK(near3(x, 0, 0.6, 0.8, 1e-6), "roboshot rejection");
  CHECK(near3(y, 0, 0.83205, 0.55470, 1e-5), "roboshot boost");
}

/* JTT: N = 10, |E| = 2, λ_up = 3 -> 16 samples' worth, each error 4 times; λ_up = 0 is ERM. */
static void jtt_toy(void) {
  int32_t y[10] = {0, 0, 0, 1, 1, 1, 0, 1, 0, 1}, pred[10] = {0, 1, 0, 1, 1, 0, 0, 1, 0, 1};
  float w[10];
  int errors = cd_jtt_weights(pred, y, 10, 3, w);
  double sum = 0;
  for (int i = 0; i < 10; i++) sum += w[i];
  printf("jtt toy: |E| = %d (expected 2), total weight %g (expected 16), w[1] = %g w[5] = %g (expected 4)\n",
         errors, sum, w[1], w[5]);
  CHECK(errors == 2 && sum == 16 && w[1] == 4 && w[5] == 4 && w[0] == 1, "jtt weights");
  cd_jtt_weights(pred, y, 10, 0, w);
  for (int i = 0; i < 10; i++) CHECK(w[i] == 1, "jtt up 0 is erm");
  int T;
  double up;
  cd_jtt_defaults("waterbirds", &T, &up);
  CHECK(T == 60 && up == 100, "jtt waterbirds defaults %d %g", T, up);
  cd_jtt_defaults("celeba", &T, &up);
  CHECK(T == 1 && up == 50, "jtt celeba defaults %d %g", T, up);
}

/* ---- the numpy fixture ----------------------------------------------------------------- */

typedef struct {
  cd_array x, y, a, t, attr, z;
  int N, d;
  cd_json_doc *exp;
} fixture;

static int load(const char *name, cd_array *arr) {
  cd_error e;
  char path[256];
  snprintf(path, sizeof path, DIR "%s", name);
  int rc = cd_npy_load(path, arr, &e);
  CHECK(rc == 0, "%s", e.msg);
  return rc;
}

/* Average and worst-group accuracy in % of argmax_c x·t_c over the fixture's 4 groups. */
static void accuracy(const fixture *f, const float *x, const float *t, double *avg, double *wga) {
  int n[4] = {0}, ok[4] = {0}, correct = 0;
  const int32_t *y = f->y.data, *a = f->a.data;
  for (int i = 0; i < f->N; i++) {
    double s0 = 0, s1 = 0;
    for (int j = 0; j < f->d; j++) s0 += x[(size_t)i * f->d + j] * t[j], s1 += x[(size_t)i * f->d + j] * t[f->d + j];
    int p = s1 > s0, g = 2 * y[i] + a[i];
    n[g]++, ok[g] += p == y[i], correct += p == y[i];
  }
  *avg = 100.0 * correct / f->N;
  *wga = 100;
  for (int g = 0; g < 4; g++)
    if (n[g]) *wga = fmin(*wga, 100.0 * ok[g] / n[g]);
}

static void check_acc(const fixture *f, const char *key, const float *x, const float *t) {
  const cd_json *e = cd_json_get(cd_json_root(f->exp), key);
  double avg, wga;
  accuracy(f, x, t, &avg, &wga);
  double ea = e && e->n == 2 ? e->items[0].number : NAN, ew = e && e->n == 2 ? e->items[1].number : NAN;
  printf("%-10s on the small cache: avg %.2f%% (numpy %.2f%%), worst group %.2f%% (numpy %.2f%%)\n", key, avg, ea,
         wga, ew);
  CHECK(fabs(avg - ea) < 0.1 && fabs(wga - ew) < 0.1, "%s accuracy", key);
}

static void check_orth(const fixture *f) {
  const float *A = f->attr.data;
  int K = (int)f->attr.shape[0], d = f->d, pairs[4] = {0, 1, 2, 3};
  float *out = malloc(sizeof(float) * 2 * d);
  cd_error e;
  for (int k = 0; k < 2; k++) {
    cd_orth_cali o;
    int rc = cd_orth_cali_init(&o, A, K, d, f->z.data, pairs, 2, k ? 1000 : 0, &e) ||
             cd_orth_cali_classes(&o, f->t.data, 2, out, &e);
    CHECK(rc == 0, "orth: %s", e.msg);
    if (rc) break;
    cd_array ref;
    if (load(k ? "t_cali.npy" : "t_proj.npy", &ref)) break;
    cd_test_close(k ? "orth-cali t' vs numpy" : "orth-proj t' vs numpy", out, ref.data, 2 * (size_t)d, 1e-5);
    cd_array_free(&ref);
    double worst = 0; /* |a_k · t'_c| < 1e-6 for every k and c, whatever λ */
    for (int c = 0; c < 2; c++)
      for (int j = 0; j < K; j++) {
        double s = 0;
        for (int i = 0; i < d; i++) s += (double)A[(size_t)j * d + i] * out[(size_t)c * d + i];
        worst = fmax(worst, fabs(s));
      }
    printf("%s: max |a_k . t'_c| = %.3g (< 1e-6)\n", k ? "orth-cali" : "orth-proj", worst);
    CHECK(worst < 1e-6, "t' orthogonal to the spurious prompts");
    check_acc(f, k ? "orth_cali" : "orth_proj", f->x.data, out);
    cd_orth_cali_free(&o);
  }
  free(out);
}

/* P₀ = I − VᵀV: symmetric, idempotent, trace d − K. */
static void check_projector(const fixture *f) {
  int K = (int)f->attr.shape[0], d = f->d;
  double *V = malloc(sizeof(double) * K * d), *P = malloc(sizeof(double) * d * d);
  int r = cd_orth_basis(f->attr.data, K, d, V);
  for (int i = 0; i < d; i++)
    for (int j = 0; j < d; j++) {
      double s = i == j;
      for (int k = 0; k < r; k++) s -= V[k * d + i] * V[k * d + j];
      P[i * d + j] = s;
    }
  double sym = 0, idem = 0, trace = 0;
  for (int i = 0; i < d; i++) {
    trace += P[i * d + i];
    for (int j = 0; j < d; j++) {
      double pp = 0;
      for (int k = 0; k < d; k++) pp += P[i * d + k] * P[k * d + j];
      sym = fmax(sym, fabs(P[i * d + j] - P[j * d + i]));
      idem = fmax(idem, fabs(pp - P[i * d + j]));
    }
  }
  printf("P0: rank %d of %d prompts, max|P-P^T| %.2g, max|P^2-P| %.2g, trace %.12f (d-K = %d)\n", r, K, sym, idem,
         trace, d - K);
  CHECK(r == K && sym < 1e-12 && idem < 1e-12 && fabs(trace - (d - K)) < 1e-12, "P0 checks");
  free(V);
  free(P);
}

static void check_roboshot(const fixture *f) {
  int d = f->d, pair[2] = {0, 1};
  double *Q = malloc(sizeof(double) * d);
  float *x = malloc(sizeof(float) * (size_t)f->N * d);
  for (size_t i = 0; i < (size_t)f->N * d; i++) x[i] = 2.5f * ((const float *)f->x.data)[i]; /* normalised first */
  cd_error e;
  int r = cd_roboshot_basis(f->attr.data, d, pair, 1, Q, &e);
  CHECK(r == 1, "roboshot basis rank %d", r);
  cd_roboshot_transform(x, f->N, d, Q, r, NULL, 0, &e);
  cd_array ref;
  if (!load("x_robo.npy", &ref)) {
    cd_test_close("roboshot rejected embeddings vs numpy", x, ref.data, (size_t)f->N * d, 1e-5);
    cd_array_free(&ref);
  }
  double worst = 0;
  for (int i = 0; i < f->N; i++) {
    double s = 0, nn = 0;
    for (int j = 0; j < d; j++) s += x[(size_t)i * d + j] * Q[j], nn += (double)x[(size_t)i * d + j] * x[(size_t)i * d + j];
    worst = fmax(worst, fmax(fabs(s), fabs(sqrt(nn) - 1)));
  }
  printf("roboshot: max |x.q|, |‖x‖-1| after rejection = %.3g\n", worst);
  CHECK(worst < 1e-6, "roboshot rejection leaves unit rows orthogonal to q");
  check_acc(f, "roboshot", x, f->t.data);
  free(Q);
  free(x);
}

static void check_logreg(const fixture *f) {
  cd_array X, Y, W;
  if (load("lr_x.npy", &X) || load("lr_y.npy", &Y) || load("lr_w.npy", &W)) return;
  int n = (int)X.shape[0], d = (int)X.shape[1];
  int8_t *y = malloc((size_t)n);
  for (int i = 0; i < n; i++) y[i] = (int8_t)((int32_t *)Y.data)[i];
  double w[16], err = 0, C = cd_json_get_num(cd_json_root(f->exp), "logreg_c", NAN);
  cd_error e;
  int it = cd_logreg_l1_fit(X.data, y, n, d, C, 1e-9, 100000, w, &e);
  for (int j = 0; j <= d; j++) err = fmax(err, fabs(w[j] - ((double *)W.data)[j]));
  printf("L1 logistic regression (n %d, d %d, C %g): %d iterations, max |w - numpy| = %.3g (tol 1e-6)\n", n, d, C, it,
         err);
  CHECK(it >= 0 && err < 1e-6, "logistic weights");
  free(y);
  cd_array_free(&X), cd_array_free(&Y), cd_array_free(&W);
}

static void check_dfr(const fixture *f) {
  const cd_json *x = cd_json_get(cd_json_root(f->exp), "dfr"), *grid = cd_json_get(x, "grid"),
                *hw = cd_json_get(x, "held_out_wga"), *test = cd_json_get(x, "test");
  double c[8];
  int nc = grid ? (int)grid->n : 0, nv = 160, d = f->d;
  for (int k = 0; k < nc && k < 8; k++) c[k] = grid->items[k].number;
  int32_t g[160];
  const int32_t *y = f->y.data, *a = f->a.data;
  for (int i = 0; i < nv; i++) g[i] = 2 * y[i] + a[i];
  cd_dfr_data data = {f->x.data, y, g, nv, f->x.data, f->N, d, 2, 4};
  cd_dfr_opts o = {c, nc, (int)cd_json_get_num(x, "fits", 0), (uint64_t)cd_json_get_num(x, "seed", 0)};
  cd_dfr_model m;
  cd_error e;
  if (cd_dfr_fit(&data, &o, &m, &e)) {
    CHECK(0, "dfr: %s", e.msg);
    return;
  }
  int best = (int)cd_json_get_num(x, "best", -1);
  printf("dfr: chosen C %g (numpy %g); held-out worst group per C:", m.c, c[best]);
  double herr = 0;
  for (int k = 0; k < nc; k++) {
    printf(" %.4f (numpy %.4f)", m.held_out_wga[k], hw->items[k].number);
    herr = fmax(herr, fabs(m.held_out_wga[k] - hw->items[k].number));
  }
  printf("\n");
  CHECK(m.c_index == best && herr < 1e-9, "dfr tuning");
  cd_array W;
  if (!load("dfr_w.npy", &W)) {
    double err = 0;
    for (int j = 0; j <= d; j++) err = fmax(err, fabs(m.w[j] - ((double *)W.data)[j]));
    printf("dfr: averaged head max |w - numpy| = %.3g (tol 1e-5)\n", err);
    CHECK(err < 1e-5, "dfr averaged head");
    cd_array_free(&W);
  }
  int32_t *pred = malloc(sizeof(int32_t) * f->N);
  cd_dfr_predict(&m, f->x.data, f->N, pred, &e);
  int n[4] = {0}, ok[4] = {0}, correct = 0;
  for (int i = 0; i < f->N; i++) {
    int gi = 2 * y[i] + a[i];
    n[gi]++, ok[gi] += pred[i] == y[i], correct += pred[i] == y[i];
  }
  double avg = 100.0 * correct / f->N, wga = 100;
  for (int k = 0; k < 4; k++) wga = fmin(wga, 100.0 * ok[k] / n[k]);
  printf("dfr on the small cache: avg %.2f%% (numpy %.2f%%), worst group %.2f%% (numpy %.2f%%)\n", avg,
         test->items[0].number, wga, test->items[1].number);
  CHECK(fabs(avg - test->items[0].number) < 0.1 && fabs(wga - test->items[1].number) < 0.1, "dfr accuracy");
  free(pred);
  cd_dfr_free(&m);
}

int main(void) {
  orth_proj_toy();
  orth_cali_toy();
  roboshot_toy();
  jtt_toy();
  fixture f;
  memset(&f, 0, sizeof f);
  cd_error e;
  if (load("x.npy", &f.x) || load("y.npy", &f.y) || load("a.npy", &f.a) || load("t.npy", &f.t) ||
      load("attr.npy", &f.attr) || load("z.npy", &f.z) || !(f.exp = cd_json_parse_file(DIR "expected.json", 1 << 20, &e)))
    return cd_test_finish("test_baselines");
  f.N = (int)f.x.shape[0], f.d = (int)f.x.shape[1];
  check_acc(&f, "zeroshot", f.x.data, f.t.data);
  check_projector(&f);
  check_orth(&f);
  check_roboshot(&f);
  check_logreg(&f);
  check_dfr(&f);
  cd_json_free(f.exp);
  cd_array_free(&f.x), cd_array_free(&f.y), cd_array_free(&f.a), cd_array_free(&f.t), cd_array_free(&f.attr);
  cd_array_free(&f.z);
  return cd_test_finish("test_baselines");
}
