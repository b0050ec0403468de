/* Backward ops against central finite differences of double-precision forwards written
 * here, with the random projection loss L = Σ r·out (so dL/dout = r). Then the dispatched
 * backward against the reference backward on larger shapes, accumulation (+=) semantics,
 * and 1 vs 2 thread bit-exactness. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "ops/attention/attention_segments.h"
#include "ops/ops.h"
#include "tests/testutil.h"

#define FD_TOL 1e-5 /* measured errors are ~1e-7; 1e-5 leaves room for other compilers */

static float *fmake(size_t n, uint64_t seed, float scale) {
  float *x = malloc(sizeof(float) * (n ? n : 1));
  if (!x) abort();
  cd_test_fill(x, n, seed, scale);
  return x;
}
static float *fzero(size_t n) {
  float *x = calloc(n ? n : 1, sizeof(float));
  if (!x) abort();
  return x;
}
static double *dcopy(const float *x, size_t n) {
  double *d = malloc(sizeof(double) * (n ? n : 1));
  if (!d) abort();
  for (size_t i = 0; i < n; i++) d[i] = x[i];
  return d;
}

/* ---- double-precision forwards ---- */

static void matmul_d(double *out, const double *x, const double *w, const double *b, int M, int K, int N) {
  for (int m = 0; m < M; m++)
    for (int n = 0; n < N; n++) {
      double s = b ? b[n] : 0;
      for (int k = 0; k < K; k++) s += x[m * K + k] * w[n * K + k];
      out[m * N + n] = s;
    }
}

static void layernorm_d(double *out, const double *x, const double *w, const double *b, int M, int C) {
  for (int m = 0; m < M; m++) {
    double mu = 0, v = 0;
    for (int c = 0; c < C; c++) mu += x[m * C + c];
    mu /= C;
    for (int c = 0; c < C; c++) v += (x[m * C + c] - mu) * (x[m * C + c] - mu);
    double rs = 1 / sqrt(v / C + 1e-5);
    for (int c = 0; c < C; c++) out[m * C + c] = (x[m * C + c] - mu) * rs * w[c] + b[c];
  }
}

static void attention_d(double *out, const double *qkv, int B, int T, int C, int NH, int causal) {
  int hs = C / NH;
  double p[64];
  for (int b = 0; b < B; b++)
    for (int h = 0; h < NH; h++)
      for (int t = 0; t < T; t++) {
        const double *q = qkv + (b * T + t) * 3 * C + h * hs;
        double mx = -INFINITY, sum = 0;
        int len = causal ? t + 1 : T;
        for (int u = 0; u < len; u++) {
          const double *k = qkv + (b * T + u) * 3 * C + C + h * hs;
          double s = 0;
          for (int i = 0; i < hs; i++) s += q[i] * k[i];
          p[u] = s / sqrt((double)hs);
          mx = p[u] > mx ? p[u] : mx;
        }
        for (int u = 0; u < len; u++) sum += p[u] = exp(p[u] - mx);
        for (int i = 0; i < hs; i++) {
          double s = 0;
          for (int u = 0; u < len; u++) s += p[u] / sum * qkv[(b * T + u) * 3 * C + 2 * C + h * hs + i];
          out[(b * T + t) * C + h * hs + i] = s;
        }
      }
}

/* ---- finite differences ---- */

typedef struct {
  int op; /* 0 matmul, 1 layernorm, 2 attention, 3 quickgelu, 4 gelu */
  double *x, *w, *b, *out;
  const double *r;
  int M, K, N, B, T, C, NH, causal;
  size_t nout;
} fd_ctx;

static double loss(fd_ctx *c) {
  switch (c->op) {
  case 0: matmul_d(c->out, c->x, c->w, c->b, c->M, c->K, c->N); break;
  case 1: layernorm_d(c->out, c->x, c->w, c->b, c->M, c->C); break;
  case 2: attention_d(c->out, c->x, c->B, c->T, c->C, c->NH, c->causal); break;
  case 3:
    for (size_t i = 0; i < c->nout; i++) c->out[i] = c->x[i] / (1 + exp(-1.702 * c->x[i]));
    break;
  case 4:
    for (size_t i = 0; i < c->nout; i++) c->out[i] = 0.5 * c->x[i] * (1 + erf(c->x[i] / sqrt(2.0)));
    break;
  }
  double L = 0;
  for (size_t i = 0; i < c->nout; i++) L += c->r[i] * c->out[i];
  return L;
}

/* max|g - fd| / max|fd| over the n entries of param (a double array inside c). */
static double fd_check(fd_ctx *c, double *param, size_t n, const float *g) {
  double mx = 0, d = 0;
  for (size_t i = 0; i < n; i++) {
    double x0 = param[i], h = 1e-4 * (fabs(x0) > 1 ? fabs(x0) : 1);
    param[i] = x0 + h;
    double lp = loss(c);
    param[i] = x0 - h;
    double lm = loss(c);
    param[i] = x0;
    double fd = (lp - lm) / (2 * h), e = fabs(fd - g[i]);
    mx = fabs(fd) > mx ? fabs(fd) : mx;
    d = e > d || e != e ? e : d;
  }
  return mx > 0 ? d / mx : d;
}

static void report(const char *name, double e, double tol) {
  printf("  %-48s max rel err %.3e (tol %.0e) %s\n", name, e, tol, e <= tol ? "ok" : "FAIL");
  CHECK(e <= tol, "%s: %.3e > %.0e", name, e, tol);
}

static void fd_matmul(int M, int K, int N, uint64_t seed) {
  float *x = fmake(M * K, seed, 1.0f), *w = fmake(N * K, seed + 1, 0.5f), *b = fmake(N, seed + 2, 1.0f);
  float *r = fmake(M * N, seed + 3, 1.0f), *out = fzero(M * N);
  float *dx = fzero(M * K), *dw = fzero(N * K), *db = fzero(N);
  cd_matmul_forward(out, x, w, b, M, K, N);
  cd_matmul_backward(dx, dw, db, r, x, w, M, K, N);
  fd_ctx c = {0, dcopy(x, M * K), dcopy(w, N * K), dcopy(b, N), malloc(sizeof(double) * M * N),
              dcopy(r, M * N), M, K, N, 0, 0, 0, 0, 0, (size_t)M * N};
  char name[96];
  snprintf(name, sizeof name, "matmul %dx%dx%d dinp", M, K, N);
  report(name, fd_check(&c, c.x, M * K, dx), FD_TOL);
  snprintf(name, sizeof name, "matmul %dx%dx%d dweight", M, K, N);
  report(name, fd_check(&c, c.w, N * K, dw), FD_TOL);
  snprintf(name, sizeof name, "matmul %dx%dx%d dbias", M, K, N);
  report(name, fd_check(&c, c.b, N, db), FD_TOL);
  free(c.x), free(c.w), free(c.b), free(c.out), free((void *)c.r);
  free(x), free(w), free(b), free(r), free(out), free(dx), free(dw), free(db);
}

static void fd_layernorm(int M, int C, uint64_t seed) {
  float *x = fmake(M * C, seed, 2.0f), *w = fmake(C, seed + 1, 1.0f), *b = fmake(C, seed + 2, 1.0f);
  float *r = fmake(M * C, seed + 3, 1.0f), *out = fzero(M * C), mean[16], rstd[16];
  float *dx = fzero(M * C), *dw = fzero(C), *db = fzero(C);
  for (int i = 0; i < M * C; i++) x[i] += 1.0f;
  cd_layernorm_forward(out, mean, rstd, x, w, b, M, C, 1e-5f);
  cd_layernorm_backward(dx, dw, db, r, x, w, mean, rstd, M, C);
  fd_ctx c = {1, dcopy(x, M * C), dcopy(w, C), dcopy(b, C), malloc(sizeof(double) * M * C),
              dcopy(r, M * C), M, 0, 0, 0, 0, C, 0, 0, (size_t)M * C};
  char name[96];
  snprintf(name, sizeof name, "layernorm %dx%d dinp", M, C);
  report(name, fd_check(&c, c.x, M * C, dx), FD_TOL);
  snprintf(name, sizeof name, "layernorm %dx%d dweight", M, C);
  report(name, fd_check(&c, c.w, C, dw), FD_TOL);
  snprintf(name, sizeof name, "layernorm %dx%d dbias", M, C);
  report(name, fd_check(&c, c.b, C, db), FD_TOL);
  /* Without the saved statistics the backward recomputes them. */
  float *dx2 = fzero(M * C);
  cd_layernorm_backward(dx2, NULL, NULL, r, x, w, NULL, NULL, M, C);
  snprintf(name, sizeof name, "layernorm %dx%d dinp (stats recomputed)", M, C);
  report(name, fd_check(&c, c.x, M * C, dx2), FD_TOL);
  free(c.x), free(c.w), free(c.b), free(c.out), free((void *)c.r), free(dx2);
  free(x), free(w), free(b), free(r), free(out), free(dx), free(dw), free(db);
}

static void fd_attention(int B, int T, int C, int NH, int causal, uint64_t seed) {
  size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C, na = (size_t)B * NH * T * T;
  float *qkv = fmake(nq, seed, 1.5f), *r = fmake(no, seed + 1, 1.0f), *out = fzero(no);
  float *att = fzero(na), *dqkv = fzero(nq), *dqkv2 = fzero(nq);
  cd_attention_forward(out, att, qkv, B, T, C, NH, causal);
  cd_attention_backward(dqkv, r, qkv, att, B, T, C, NH, causal);
  cd_attention_backward(dqkv2, r, qkv, NULL, B, T, C, NH, causal);
  fd_ctx c = {2, dcopy(qkv, nq), NULL, NULL, malloc(sizeof(double) * no), dcopy(r, no),
              0, 0, 0, B, T, C, NH, causal, no};
  char name[96];
  snprintf(name, sizeof name, "attention B%d T%d C%d NH%d %s dqkv", B, T, C, NH,
           causal ? "causal" : "full");
  report(name, fd_check(&c, c.x, nq, dqkv), FD_TOL);
  snprintf(name, sizeof name, "attention B%d T%d C%d NH%d %s dqkv (att=NULL)", B, T, C, NH,
           causal ? "causal" : "full");
  report(name, fd_check(&c, c.x, nq, dqkv2), FD_TOL);
  free(c.x), free(c.out), free((void *)c.r);
  free(qkv), free(r), free(out), free(att), free(dqkv), free(dqkv2);
}

static void fd_activation(int gelu) {
  size_t n = 61;
  float *x = fmake(n, 71, 5.0f), *r = fmake(n, 72, 1.0f), *dx = fzero(n);
  x[0] = 0.0f;
  if (gelu) cd_gelu_backward(dx, r, x, n);
  else cd_quickgelu_backward(dx, r, x, n);
  fd_ctx c = {gelu ? 4 : 3, dcopy(x, n), NULL, NULL, malloc(sizeof(double) * n), dcopy(r, n),
              0, 0, 0, 0, 0, 0, 0, 0, n};
  report(gelu ? "gelu dinp (|x|<=5)" : "quickgelu dinp (|x|<=5)", fd_check(&c, c.x, n, dx), FD_TOL);
  free(c.x), free(c.out), free((void *)c.r), free(x), free(r), free(dx);
}

/* ---- dispatched vs reference, accumulation, threads ---- */

/* Runs fn with 1 and 2 threads from the same starting gradients; returns 1 if the bits match. */
static int same(const float *a, const float *b, size_t n) { return !memcmp(a, b, n * sizeof(float)); }

static void ref_matmul(int M, int K, int N) {
  float *x = fmake((size_t)M * K, 81, 1.0f), *w = fmake((size_t)N * K, 82, 0.2f), *dy = fmake((size_t)M * N, 83, 1.0f);
  float *dx = fmake((size_t)M * K, 84, 1.0f), *dw = fmake((size_t)N * K, 85, 1.0f), *db = fmake(N, 86, 1.0f);
  float *rx = malloc(sizeof(float) * M * K), *rw = malloc(sizeof(float) * N * K), *rb = malloc(sizeof(float) * N);
  float *tx = malloc(sizeof(float) * M * K), *tw = malloc(sizeof(float) * N * K), *tb = malloc(sizeof(float) * N);
  memcpy(rx, dx, sizeof(float) * M * K), memcpy(rw, dw, sizeof(float) * N * K), memcpy(rb, db, sizeof(float) * N);
  memcpy(tx, dx, sizeof(float) * M * K), memcpy(tw, dw, sizeof(float) * N * K), memcpy(tb, db, sizeof(float) * N);
  cd_threads_set(1);
  cd_matmul_backward(dx, dw, db, dy, x, w, M, K, N);
  cd_threads_set(2);
  cd_matmul_backward(tx, tw, tb, dy, x, w, M, K, N);
  cd_matmul_backward_ref(rx, rw, rb, dy, x, w, M, K, N);
  char name[96];
  snprintf(name, sizeof name, "matmul_backward %dx%dx%d vs ref (+=)", M, K, N);
  double e = cd_test_max_rel(dx, rx, (size_t)M * K), e2 = cd_test_max_rel(dw, rw, (size_t)N * K),
         e3 = cd_test_max_rel(db, rb, N);
  e = e2 > e ? e2 : e, e = e3 > e ? e3 : e;
  report(name, e, 1e-5);
  int ok = same(dx, tx, (size_t)M * K) && same(dw, tw, (size_t)N * K) && same(db, tb, N);
  printf("  %-48s %s\n", "  1 vs 2 threads", ok ? "identical bits" : "DIFFER");
  CHECK(ok, "matmul_backward %dx%dx%d thread variance", M, K, N);
  free(x), free(w), free(dy), free(dx), free(dw), free(db), free(rx), free(rw), free(rb), free(tx), free(tw), free(tb);
}

static void ref_layernorm(int M, int C) {
  size_t n = (size_t)M * C;
  float *x = fmake(n, 91, 2.0f), *w = fmake(C, 92, 1.0f), *dy = fmake(n, 93, 1.0f), mean[200], rstd[200];
  float *o = fzero(n), *dx = fmake(n, 94, 1.0f), *dw = fmake(C, 95, 1.0f), *db = fmake(C, 96, 1.0f);
  float *rx = malloc(sizeof(float) * n), *rw = malloc(sizeof(float) * C), *rb = malloc(sizeof(float) * C);
  float *tx = malloc(sizeof(float) * n), *tw = malloc(sizeof(float) * C), *tb = malloc(sizeof(float) * C);
  memcpy(rx, dx, sizeof(float) * n), memcpy(rw, dw, sizeof(float) * C), memcpy(rb, db, sizeof(float) * C);
  memcpy(tx, dx, sizeof(float) * n), memcpy(tw, dw, sizeof(float) * C), memcpy(tb, db, sizeof(float) * C);
  cd_layernorm_forward(o, mean, rstd, x, w, w, M, C, 1e-5f);
  cd_threads_set(1);
  cd_layernorm_backward(dx, dw, db, dy, x, w, mean, rstd, M, C);
  cd_threads_set(2);
  cd_layernorm_backward(tx, tw, tb, dy, x, w, mean, rstd, M, C);
  cd_layernorm_backward_ref(rx, rw, rb, dy, x, w, mean, rstd, M, C);
  char name[96];
  snprintf(name, sizeof name, "layernorm_backward %dx%d vs ref (+=)", M, C);
  double e = cd_test_max_rel(dx, rx, n), e2 = cd_test_max_rel(dw, rw, C), e3 = cd_test_max_rel(db, rb, C);
  e = e2 > e ? e2 : e, e = e3 > e ? e3 : e;
  report(name, e, 1e-5);
  int ok = same(dx, tx, n) && same(dw, tw, C) && same(db, tb, C);
  printf("  %-48s %s\n", "  1 vs 2 threads", ok ? "identical bits" : "DIFFER");
  CHECK(ok, "layernorm_backward thread variance");
  free(x), free(w), free(dy), free(o), free(dx), free(dw), free(db), free(rx), free(rw), free(rb), free(tx), free(tw), free(tb);
}

static void ref_attention(int B, int T, int C, int NH, int causal) {
  size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C, na = (size_t)B * NH * T * T;
  float *qkv = fmake(nq, 101, 1.0f), *dy = fmake(no, 102, 1.0f), *o = fzero(no), *att = fzero(na);
  float *d1 = fmake(nq, 103, 1.0f), *d2 = malloc(sizeof(float) * nq), *dr = malloc(sizeof(float) * nq);
  memcpy(d2, d1, sizeof(float) * nq), memcpy(dr, d1, sizeof(float) * nq);
  cd_attention_forward(o, att, qkv, B, T, C, NH, causal);
  cd_threads_set(1);
  cd_attention_backward(d1, dy, qkv, att, B, T, C, NH, causal);
  cd_threads_set(2);
  cd_attention_backward(d2, dy, qkv, att, B, T, C, NH, causal);
  cd_attention_backward_ref(dr, dy, qkv, att, B, T, C, NH, causal);
  char name[96];
  snprintf(name, sizeof name, "attention_backward B%d T%d C%d NH%d %s vs ref", B, T, C, NH,
           causal ? "causal" : "full");
  report(name, cd_test_max_rel(d1, dr, nq), 1e-5);
  int ok = same(d1, d2, nq);
  printf("  %-48s %s\n", "  1 vs 2 threads", ok ? "identical bits" : "DIFFER");
  CHECK(ok, "attention_backward thread variance");
  free(qkv), free(dy), free(o), free(att), free(d1), free(d2), free(dr);
}

static void ref_activations(void) {
  size_t n = 100003;
  float *x = fmake(n, 111, 8.0f), *dy = fmake(n, 112, 1.0f), *d = fmake(n, 113, 1.0f);
  float *r = malloc(sizeof(float) * n), *t = malloc(sizeof(float) * n);
  memcpy(r, d, sizeof(float) * n), memcpy(t, d, sizeof(float) * n);
  cd_quickgelu_backward(d, dy, x, n);
  cd_quickgelu_backward_ref(r, dy, x, n);
  report("quickgelu_backward vs ref (+=)", cd_test_max_rel(d, r, n), 1e-6);
  memcpy(d, t, sizeof(float) * n), memcpy(r, t, sizeof(float) * n);
  cd_gelu_backward(d, dy, x, n);
  cd_gelu_backward_ref(r, dy, x, n);
  report("gelu_backward vs ref (+=)", cd_test_max_rel(d, r, n), 1e-6);
  memcpy(r, t, sizeof(float) * n);
  cd_threads_set(1);
  cd_gelu_backward(r, dy, x, n);
  memcpy(d, t, sizeof(float) * n);
  cd_threads_set(3);
  cd_gelu_backward(d, dy, x, n);
  int ok = same(d, r, n);
  printf("  %-48s %s\n", "  gelu_backward 1 vs 3 threads", ok ? "identical bits" : "DIFFER");
  CHECK(ok, "gelu_backward thread variance");
  cd_threads_set(2);
  free(x), free(dy), free(d), free(r), free(t);
}

/* Segment attention (prompt tuning's packed prompts): forward and backward give the same bits
 * on 1, 2 and 3 threads. */
static void threads_segments(void) {
  enum { P = 60, NSEG = 40, C = 512, NH = 8 }; /* enough work that every thread takes items */
  int seg[NSEG + 1] = {P};
  for (int s = 0; s < NSEG; s++) seg[s + 1] = seg[s] + 3 + s % 6;
  int R = seg[NSEG], Tk = cd_segments_max_keys(P, NSEG, seg);
  size_t nq = (size_t)R * 3 * C, no = (size_t)R * C, na = (size_t)NH * R * Tk;
  float *qkv = fmake(nq, 121, 1.0f), *dy = fmake(no, 122, 1.0f), *d0 = fmake(nq, 123, 1.0f);
  float *o[3], *att[3], *d[3];
  int ok = 1;
  for (int t = 0; t < 3; t++) {
    o[t] = fzero(no), att[t] = fzero(na), d[t] = malloc(sizeof(float) * nq);
    memcpy(d[t], d0, sizeof(float) * nq);
    cd_threads_set(t + 1);
    cd_attention_forward_segments(o[t], att[t], qkv, R, P, NSEG, seg, C, NH, 1);
    cd_attention_backward_segments(d[t], dy, qkv, att[t], R, P, NSEG, seg, C, NH, 1);
    if (t > 0) ok &= same(o[t], o[0], no) && same(att[t], att[0], na) && same(d[t], d[0], nq);
  }
  ok &= !same(d[0], d0, nq); /* the backward did accumulate something */
  printf("  %-48s %s\n", "attention segments 1 vs 2 vs 3 threads", ok ? "identical bits" : "DIFFER");
  CHECK(ok, "segment attention thread variance");
  cd_threads_set(2);
  for (int t = 0; t < 3; t++) free(o[t]), free(att[t]), free(d[t]);
  free(qkv), free(dy), free(d0);
}

/* Copies (runs in lockstep): K copies of a short prompt in one call give each copy the same
 * bits as a call for that copy alone, at 1 and 2 threads (the copies' items are shared out). */
static void copies_segments(void) {
  enum { P = 5, NSEG = 2, C = 512, NH = 8, K = 12 }; /* a lockstep step: 12 runs of 2 classes */
  int seg[NSEG + 1] = {P, P + 9, P + 20};
  int R = seg[NSEG], Tk = cd_segments_max_keys(P, NSEG, seg);
  size_t nq = (size_t)R * 3 * C, no = (size_t)R * C, na = (size_t)NH * R * Tk;
  float *qkv = fmake(K * nq, 131, 1.0f), *dy = fmake(K * no, 132, 1.0f), *d0 = fmake(K * nq, 133, 1.0f);
  float *o = fzero(K * no), *att = fzero(K * na), *d = malloc(sizeof(float) * K * nq);
  float *o1 = fzero(no), *att1 = fzero(na), *d1 = malloc(sizeof(float) * nq);
  int ok = 1;
  for (int t = 1; t <= 2; t++) {
    cd_threads_set(t);
    memcpy(d, d0, sizeof(float) * K * nq);
    cd_attention_forward_segments(o, att, qkv, R, P, NSEG, seg, C, NH, K);
    cd_attention_backward_segments(d, dy, qkv, att, R, P, NSEG, seg, C, NH, K);
    for (int k = 0; k < K; k++) {
      memcpy(d1, d0 + k * nq, sizeof(float) * nq);
      cd_attention_forward_segments(o1, att1, qkv + k * nq, R, P, NSEG, seg, C, NH, 1);
      cd_attention_backward_segments(d1, dy + k * no, qkv + k * nq, att1, R, P, NSEG, seg, C, NH, 1);
      ok &= same(o + k * no, o1, no) && same(att + k * na, att1, na) && same(d + k * nq, d1, nq);
      ok &= !same(d1, d0 + k * nq, nq);
    }
  }
  printf("  %-48s %s\n", "attention segments, 12 copies vs each alone", ok ? "identical bits" : "DIFFER");
  CHECK(ok, "segment attention copies");
  cd_threads_set(2);
  free(qkv), free(dy), free(d0), free(o), free(att), free(d), free(o1), free(att1), free(d1);
}

int main(void) {
  printf("finite differences (double forward) vs float backward, ISA %s:\n",
         cd_isa_name(cd_cpu_best_isa()));
  fd_matmul(5, 7, 3, 1);
  fd_matmul(17, 13, 9, 5);
  fd_layernorm(4, 11, 11);
  fd_layernorm(3, 64, 15);
  fd_attention(2, 5, 8, 2, 0, 21);
  fd_attention(2, 5, 8, 2, 1, 23);
  fd_attention(1, 9, 12, 3, 1, 25);
  fd_activation(0);
  fd_activation(1);
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1) setenv("CLIPDEBIAS_ISA", "ref", 1);
    printf("dispatched backward vs reference backward, ISA %s:\n", cd_isa_name(cd_cpu_best_isa()));
    ref_matmul(77, 129, 50);
    ref_matmul(300, 512, 130);
    ref_layernorm(154, 512);
    ref_attention(2, 50, 128, 4, 0);
    ref_attention(3, 77, 128, 2, 1);
    ref_activations();
    threads_segments();
    copies_segments();
  }
  return cd_test_finish("test_ops_backward");
}
