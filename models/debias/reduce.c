/* Fitting the projections of reduce.h. */
#include "models/debias/reduce.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "core/sym_eigen.h"

const char *cd_reduce_name(cd_reduce_kind k) {
  return k == CD_REDUCE_RANDOM ? "random" : k == CD_REDUCE_TRUNCATE ? "truncate" : "pca";
}

int cd_reduce_parse(const char *s) {
  for (int k = 0; k < 3; k++)
    if (!strcmp(s, cd_reduce_name((cd_reduce_kind)k))) return k;
  return -1;
}

int cd_reduce_check(cd_reduce_kind kind, int K, int D, int n_train, cd_error *e) {
  if (K < 2) return cd_fail(e, "--dims %d: an embedding needs at least 2 dimensions", K);
  if (K > D) return cd_fail(e, "--dims %d is larger than the features' %d dimensions", K, D);
  if (kind == CD_REDUCE_PCA && K > n_train)
    return cd_fail(e, "--dims %d: pca cannot find more directions than the %d training rows", K, n_train);
  return 0;
}

typedef struct {
  const float *x;
  int n, D;
  double *G;
} gram_job;

/* Row a of the upper triangle (and its mirror), summed over the rows in order. */
static void gram_row(void *ctx, int a, int worker) {
  const gram_job *j = ctx;
  int D = j->D;
  for (int b = a; b < D; b++) {
    double s = 0;
    for (int i = 0; i < j->n; i++) s += (double)j->x[(size_t)i * D + a] * j->x[(size_t)i * D + b];
    j->G[(size_t)a * D + b] = j->G[(size_t)b * D + a] = s;
  }
}

/* G [D,D] = XᵀX in double; each entry by one item in row order (thread-count independent). */
static void gram(const float *x, int n, int D, double *G) {
  gram_job j = {x, n, D, G};
  cd_pool_run(D, 0, gram_row, &j);
}

static int fit_pca(const float *x, int n, int D, int K, float *P, cd_error *e) {
  double *G = cd_malloc(sizeof(double) * (size_t)D * D, e);
  double *V = cd_malloc(sizeof(double) * (size_t)D * D, e);
  double *ev = cd_malloc(sizeof(double) * (size_t)D, e);
  int rc = !G || !V || !ev ? -1 : 0;
  if (!rc) {
    gram(x, n, D, G);
    rc = cd_sym_eigen(G, D, ev, V, e);
  }
  for (int d = 0; !rc && d < D; d++)
    for (int k = 0; k < K; k++) P[(size_t)d * K + k] = (float)V[(size_t)d * D + k];
  free(G), free(V), free(ev);
  return rc;
}

/* xorshift64* + Box-Muller, as the prompt's random context: the same numbers everywhere. */
static uint64_t rng_next(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 0x2545F4914F6CDD1Dull;
}

static double rng_uniform01(uint64_t *s) { return ((rng_next(s) >> 11) + 1) * (1.0 / 9007199254740992.0); }

static void fit_random(int D, int K, uint64_t seed, float *P) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull ^ 0x6A09E667F3BCC909ull;
  if (!s) s = 1;
  double sd = 1.0 / sqrt((double)K);
  size_t n = (size_t)D * K;
  for (size_t i = 0; i < n; i += 2) {
    double u1 = rng_uniform01(&s), u2 = rng_uniform01(&s), r = sqrt(-2.0 * log(u1));
    P[i] = (float)(sd * r * cos(2 * M_PI * u2));
    if (i + 1 < n) P[i + 1] = (float)(sd * r * sin(2 * M_PI * u2));
  }
}

int cd_reduce_fit(cd_reduce_kind kind, const float *x_train, int n, int D, int K, uint64_t seed,
                  float *P, cd_error *e) {
  if (cd_reduce_check(kind, K, D, n, e)) return -1;
  if (kind == CD_REDUCE_PCA) return fit_pca(x_train, n, D, K, P, e);
  if (kind == CD_REDUCE_RANDOM) return fit_random(D, K, seed, P), 0;
  memset(P, 0, sizeof(float) * (size_t)D * K);
  for (int k = 0; k < K; k++) P[(size_t)k * K + k] = 1;
  return 0;
}
