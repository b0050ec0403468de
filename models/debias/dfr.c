/* DFR and its L1 logistic regression (see dfr.h). */
#include "models/debias/dfr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- L1 logistic regression ------------------------------------------------------------ */

/* margins m_i = w·[x_i; 1], each one sum over j in order from w[d]; four rows at a time so
 * that their sums are independent chains (one sum waits an add's latency per term). */
static void margins(const double *X, int n, int d, const double *w, double *m) {
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const double *x0 = X + (size_t)i * d, *x1 = x0 + d, *x2 = x1 + d, *x3 = x2 + d;
    double s0 = w[d], s1 = w[d], s2 = w[d], s3 = w[d];
    for (int j = 0; j < d; j++) {
      s0 += w[j] * x0[j];
      s1 += w[j] * x1[j];
      s2 += w[j] * x2[j];
      s3 += w[j] * x3[j];
    }
    m[i] = s0, m[i + 1] = s1, m[i + 2] = s2, m[i + 3] = s3;
  }
  for (; i < n; i++) {
    const double *x = X + (size_t)i * d;
    double s = w[d];
    for (int j = 0; j < d; j++) s += w[j] * x[j];
    m[i] = s;
  }
}

/* g = ∇ of C Σ log(1 + exp(−y_i m_i)) at w. */
static void gradient(const double *X, const int8_t *y, int n, int d, double C, const double *w, double *m,
                     double *g) {
  margins(X, n, d, w, m);
  memset(g, 0, sizeof(double) * (d + 1));
  for (int i = 0; i < n; i++) {
    double z = y[i] * m[i];
    double s = -C * y[i] / (1.0 + exp(z)); /* −C y σ(−z) */
    const double *x = X + (size_t)i * d;
    for (int j = 0; j < d; j++) g[j] += s * x[j];
    g[d] += s;
  }
}

/* Largest eigenvalue of [X 1]ᵀ[X 1] by power iteration (an upper bound after the last step's
 * 1% margin), for the step 1/L. */
static double lipschitz(const double *X, int n, int d, double *v, double *m) {
  int D = d + 1;
  for (int j = 0; j < D; j++) v[j] = 1.0 / sqrt(D);
  double lam = 0;
  for (int it = 0; it < 100; it++) {
    margins(X, n, d, v, m);
    double *u = v + D;
    memset(u, 0, sizeof(double) * D);
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < d; j++) u[j] += m[i] * X[(size_t)i * d + j];
      u[d] += m[i];
    }
    double nu = 0;
    for (int j = 0; j < D; j++) nu += u[j] * u[j];
    nu = sqrt(nu);
    if (!(nu > 0)) return 1.0;
    int done = fabs(nu - lam) <= 1e-6 * nu;
    lam = nu;
    for (int j = 0; j < D; j++) v[j] = u[j] / nu;
    if (done) break;
  }
  return 1.01 * lam;
}

static double soft(double v, double t) { return v > t ? v - t : v < -t ? v + t : 0.0; }

/* Largest violation of 0 ∈ g_j + ∂|w_j| over the coordinates. */
static double violation(const double *g, const double *w, int D) {
  double worst = 0;
  for (int j = 0; j < D; j++) {
    double v = w[j] > 0 ? fabs(g[j] + 1) : w[j] < 0 ? fabs(g[j] - 1) : fmax(0.0, fabs(g[j]) - 1);
    if (v > worst) worst = v;
  }
  return worst;
}

int cd_logreg_l1_fit(const double *X, const int8_t *y, int n, int d, double C, double tol, int max_iter,
                     double *w, cd_error *e) {
  int D = d + 1;
  double *buf = cd_calloc((size_t)4 * D + n, sizeof(double), e);
  if (!buf) return -1;
  double *yk = buf, *g = buf + D, *xprev = buf + 2 * D, *v2 = buf + 2 * D, *m = buf + 4 * D;
  double L = 0.25 * C * lipschitz(X, n, d, v2, m), t = 1;
  memset(w, 0, sizeof(double) * D);
  memcpy(yk, w, sizeof(double) * D);
  int it = 0;
  for (; it < max_iter; it++) {
    gradient(X, y, n, d, C, yk, m, g);
    memcpy(xprev, w, sizeof(double) * D);
    double restart = 0;
    for (int j = 0; j < D; j++) {
      w[j] = soft(yk[j] - g[j] / L, 1.0 / L);
      restart += (yk[j] - w[j]) * (w[j] - xprev[j]);
    }
    double tn = restart > 0 ? 1 : (1 + sqrt(1 + 4 * t * t)) / 2; /* O'Donoghue-Candès restart */
    double beta = restart > 0 ? 0 : (t - 1) / tn;
    for (int j = 0; j < D; j++) yk[j] = w[j] + beta * (w[j] - xprev[j]);
    t = tn;
    if (it % 10 == 9) {
      gradient(X, y, n, d, C, w, m, g);
      if (violation(g, w, D) <= tol) break;
    }
  }
  free(buf);
  return it;
}

/* ---- DFR ------------------------------------------------------------------------------- */

static uint64_t next(uint64_t *s) { /* splitmix64: the same draws on every machine */
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static void shuffle(int *v, int n, uint64_t *s) {
  for (int i = n - 1; i > 0; i--) {
    int j = (int)(next(s) % (uint64_t)(i + 1)), t = v[i];
    v[i] = v[j], v[j] = t;
  }
}

/* rows[0..n) balanced: the first m = min over non-empty groups of each group's rows, after a
 * shuffle of every group (rows are permuted within groups; out gets the kept rows). Returns
 * the count kept, m in *m. */
static int balance(const int *rows, int n, const int32_t *g, int G, uint64_t *s, int *out, int *m, int *tmp) {
  int best = -1, kept = 0;
  for (int k = 0; k < G; k++) {
    int c = 0;
    for (int i = 0; i < n; i++) c += g[rows[i]] == k;
    if (c > 0 && (best < 0 || c < best)) best = c;
  }
  *m = best < 0 ? 0 : best;
  for (int k = 0; k < G; k++) {
    int c = 0;
    for (int i = 0; i < n; i++)
      if (g[rows[i]] == k) tmp[c++] = rows[i];
    shuffle(tmp, c, s);
    for (int i = 0; i < c && i < *m; i++) out[kept++] = tmp[i];
  }
  return kept;
}

/* mean and population std per feature over rows (std 0 -> 1, as StandardScaler). */
static void scaler_fit(const float *x, const int *rows, int n, int d, double *mean, double *scale) {
  for (int j = 0; j < d; j++) {
    double s = 0, q = 0;
    for (int i = 0; i < n; i++) s += x[(size_t)(rows ? rows[i] : i) * d + j];
    s /= n;
    for (int i = 0; i < n; i++) {
      double v = x[(size_t)(rows ? rows[i] : i) * d + j] - s;
      q += v * v;
    }
    mean[j] = s;
    scale[j] = q > 0 ? sqrt(q / n) : 1.0;
  }
}

static void scaled(const float *x, const int *rows, int n, int d, const double *mean, const double *scale,
                   double *out) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < d; j++)
      out[(size_t)i * d + j] = (x[(size_t)rows[i] * d + j] - mean[j]) / scale[j];
}

enum { DFR_MAX_ITER = 20000 };
#define DFR_TOL 1e-6

/* W [k, d + 1]: one fit (two classes) or one per class against the rest. */
static int fit_all(const double *X, const int32_t *y, const int *rows, int n, int d, int n_cls, double C,
                   double *W, int8_t *ypm, cd_error *e) {
  int k = n_cls == 2 ? 1 : n_cls;
  for (int c = 0; c < k; c++) {
    int pos = n_cls == 2 ? 1 : c;
    for (int i = 0; i < n; i++) ypm[i] = y[rows[i]] == pos ? 1 : -1;
    if (cd_logreg_l1_fit(X, ypm, n, d, C, DFR_TOL, DFR_MAX_ITER, W + (size_t)c * (d + 1), e) < 0) return -1;
  }
  return 0;
}

static int32_t decide(const double *W, int k, int d, const double *x) {
  int32_t best = 0;
  double bs = -INFINITY;
  for (int c = 0; c < k; c++) {
    const double *w = W + (size_t)c * (d + 1);
    double s = w[d];
    for (int j = 0; j < d; j++) s += w[j] * x[j];
    if (k == 1) return s > 0;
    if (s > bs) bs = s, best = c;
  }
  return best;
}

/* Worst-group accuracy of W on the standardised held-out rows XH (rows give y and g). */
static double held_out_wga(const double *W, int k, int d, const double *XH, const int *rows, int n,
                           const cd_dfr_data *dt, int *cnt) {
  memset(cnt, 0, sizeof(int) * 2 * dt->G);
  for (int i = 0; i < n; i++) {
    int g = dt->g_val[rows[i]];
    if (g < 0 || g >= dt->G) continue;
    cnt[2 * g]++;
    cnt[2 * g + 1] += decide(W, k, d, XH + (size_t)i * d) == dt->y_val[rows[i]];
  }
  double worst = INFINITY;
  for (int g = 0; g < dt->G; g++)
    if (cnt[2 * g] > 0) worst = fmin(worst, (double)cnt[2 * g + 1] / cnt[2 * g]);
  return isfinite(worst) ? worst : 0;
}

typedef struct {
  int *rows, *fit, *tmp, *cnt;
  double *X, *XH, *W, *mean, *scale;
  int8_t *ypm;
} dfr_scratch;

static void scratch_free(dfr_scratch *s) {
  free(s->rows), free(s->fit), free(s->tmp), free(s->cnt), free(s->X), free(s->XH), free(s->W);
  free(s->mean), free(s->scale), free(s->ypm);
}

static int scratch_init(dfr_scratch *s, const cd_dfr_data *dt, int k, cd_error *e) {
  int n = dt->n_val, d = dt->d;
  memset(s, 0, sizeof *s);
  s->rows = cd_malloc(sizeof(int) * n, e), s->fit = cd_malloc(sizeof(int) * n, e);
  s->tmp = cd_malloc(sizeof(int) * n, e), s->cnt = cd_malloc(sizeof(int) * 2 * dt->G, e);
  s->X = cd_malloc(sizeof(double) * (size_t)n * d, e), s->XH = cd_malloc(sizeof(double) * (size_t)n * d, e);
  s->W = cd_malloc(sizeof(double) * (size_t)k * (d + 1), e);
  s->mean = cd_malloc(sizeof(double) * d, e), s->scale = cd_malloc(sizeof(double) * d, e);
  s->ypm = cd_malloc((size_t)n, e);
  if (s->rows && s->fit && s->tmp && s->cnt && s->X && s->XH && s->W && s->mean && s->scale && s->ypm) return 0;
  scratch_free(s);
  return -1;
}

/* The C of the grid with the best held-out worst-group accuracy (dfr_on_validation_tune). */
static int tune(const cd_dfr_data *dt, const cd_dfr_opts *o, cd_dfr_model *m, dfr_scratch *s, uint64_t *rng,
                cd_error *e) {
  int n = dt->n_val, d = dt->d, nh = n / 2;
  for (int i = 0; i < n; i++) s->rows[i] = i;
  shuffle(s->rows, n, rng);
  int nf = balance(s->rows + nh, n - nh, dt->g_val, dt->G, rng, s->fit, &m->tune_per_group, s->tmp);
  if (m->tune_per_group == 0) return cd_fail(e, "dfr: the fitting half of the validation set has no grouped row");
  scaler_fit(dt->x_val, s->fit, nf, d, s->mean, s->scale);
  scaled(dt->x_val, s->fit, nf, d, s->mean, s->scale, s->X);
  scaled(dt->x_val, s->rows, nh, d, s->mean, s->scale, s->XH);
  m->c_index = 0;
  for (int c = 0; c < o->n_c; c++) {
    if (fit_all(s->X, dt->y_val, s->fit, nf, d, dt->n_cls, o->c_grid[c], s->W, s->ypm, e)) return -1;
    m->held_out_wga[c] = held_out_wga(s->W, m->k, d, s->XH, s->rows, nh, dt, s->cnt);
    if (m->held_out_wga[c] > m->held_out_wga[m->c_index]) m->c_index = c;
  }
  m->c = o->c_grid[m->c_index];
  return 0;
}

/* n_fits balanced subsets of all val with the training scaler, averaged (dfr_on_validation_eval). */
static int final_fits(const cd_dfr_data *dt, const cd_dfr_opts *o, cd_dfr_model *m, dfr_scratch *s, uint64_t *rng,
                      cd_error *e) {
  int n = dt->n_val, d = dt->d, D = d + 1;
  scaler_fit(dt->x_train, NULL, dt->n_train, d, m->mean, m->scale);
  memset(m->w, 0, sizeof(double) * (size_t)m->k * D);
  for (int f = 0; f < o->n_fits; f++) {
    for (int i = 0; i < n; i++) s->rows[i] = i;
    int nf = balance(s->rows, n, dt->g_val, dt->G, rng, s->fit, &m->final_per_group, s->tmp);
    scaled(dt->x_val, s->fit, nf, d, m->mean, m->scale, s->X);
    if (fit_all(s->X, dt->y_val, s->fit, nf, d, dt->n_cls, m->c, s->W, s->ypm, e)) return -1;
    for (size_t j = 0; j < (size_t)m->k * D; j++) m->w[j] += s->W[j] / o->n_fits;
  }
  return 0;
}

int cd_dfr_fit(const cd_dfr_data *dt, const cd_dfr_opts *o, cd_dfr_model *m, cd_error *e) {
  memset(m, 0, sizeof *m);
  if (dt->n_cls < 2) return cd_fail(e, "dfr: needs at least two classes");
  if (o->n_c < 1 || o->n_fits < 1) return cd_fail(e, "dfr: an empty C grid or no fit");
  if (dt->n_val < 4 || dt->n_train < 1) return cd_fail(e, "dfr: %d validation and %d training rows are too few", dt->n_val, dt->n_train);
  m->d = dt->d;
  m->k = dt->n_cls == 2 ? 1 : dt->n_cls;
  m->held_out_wga = cd_calloc((size_t)o->n_c, sizeof(double), e);
  m->mean = cd_malloc(sizeof(double) * dt->d, e);
  m->scale = cd_malloc(sizeof(double) * dt->d, e);
  m->w = cd_malloc(sizeof(double) * (size_t)m->k * (dt->d + 1), e);
  dfr_scratch s;
  uint64_t rng = o->seed * 0x9E3779B97F4A7C15ull + 17;
  if (!m->held_out_wga || !m->mean || !m->scale || !m->w || scratch_init(&s, dt, m->k, e)) return cd_dfr_free(m), -1;
  int rc = tune(dt, o, m, &s, &rng, e) || final_fits(dt, o, m, &s, &rng, e) ? -1 : 0;
  scratch_free(&s);
  if (rc) cd_dfr_free(m);
  return rc;
}

void cd_dfr_free(cd_dfr_model *m) {
  free(m->held_out_wga), free(m->mean), free(m->scale), free(m->w);
  memset(m, 0, sizeof *m);
}

int cd_dfr_predict(const cd_dfr_model *m, const float *x, int N, int32_t *pred, cd_error *e) {
  int d = m->d;
  double *row = cd_malloc(sizeof(double) * d, e);
  if (!row) return -1;
  for (int i = 0; i < N; i++) {
    for (int j = 0; j < d; j++) row[j] = (x[(size_t)i * d + j] - m->mean[j]) / m->scale[j];
    pred[i] = decide(m->w, m->k, d, row);
  }
  free(row);
  return 0;
}
