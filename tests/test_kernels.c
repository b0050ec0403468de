/* The kernel registry, test-backend-ops style: for every ISA level this CPU runs, every entry
 * of its kernel table that the level provides itself (inherited entries are tested at the
 * level they come from) is run against the plain C reference in double precision:
 *   GEMM per precision and per weight storage dtype (F32, F16, BF16), with every epilogue
 *   (bias, QuickGELU, GELU, residual add apart and in place), shapes crossing the K blocks;
 *   the epilogue tile, LayerNorm rows, softmax rows (causal, offset), activations forward and
 *   backward (the backward also against central finite differences of the forward), the
 *   fused attention head (causal or not, head sizes 64, 80 and 24), the skinny products,
 *   LayerNorm's backward kernels and softmax's backward, and segment attention (held to the
 *   reference's bits: the kernels keep its order of every sum).
 * The reference of a reduced-precision GEMM rounds its operands exactly as the precision
 * does (fp16 weights; bf16 both operands; bf16x3 hi + lo splits without the lo·lo term), so
 * what is left is float32 accumulation and the tolerance stays tight. Every GEMM also runs
 * with 1 and 2 threads and must give identical bits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "ops/attention/attention.h"
#include "ops/attention/attention_segments.h"
#include "ops/dispatch.h"
#include "ops/gemm/gemm.h"
#include "ops/gemm/skinny.h"
#include "ops/gemm/weight.h"
#include "ops/ops.h"
#include "tests/testutil.h"

static float *fmake(size_t n, uint64_t seed, float scale) {
  float *x = malloc(sizeof(float) * (n ? n : 1));
  if (!x) abort();
  cd_test_fill(x, n, seed, scale);
  return x;
}

/* ---- reference arithmetic of each precision ---- */

static double bf16_round(double x) { return cd_bf16_to_f32(cd_f32_to_bf16((float)x)); }

/* The value a kernel of precision p multiplies for x, as hi and lo parts (lo = 0 except bf16x3). */
static void operand(cd_precision p, int is_weight, float x, double *hi, double *lo) {
  *lo = 0.0;
  switch (p) {
  case CD_PREC_FP16: *hi = is_weight ? cd_f16_to_f32(cd_f32_to_f16(x)) : x; break;
  case CD_PREC_BF16: *hi = bf16_round(x); break;
  case CD_PREC_BF16X3:
    *hi = bf16_round(x);
    *lo = bf16_round(x - (float)*hi);
    break;
  default: *hi = x;
  }
}

/* The activations in exact arithmetic (the finite differences differentiate these). */
static double act_exact(double x, cd_activation act) {
  if (act == CD_ACT_QUICKGELU) return x / (1.0 + exp(-1.702 * x));
  if (act == CD_ACT_GELU) return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
  return x;
}

/* As PyTorch computes them from float inputs (1.702 x rounded to float first). */
static double act_ref(double x, cd_activation act) {
  if (act == CD_ACT_QUICKGELU) return x / (1.0 + exp(-(double)(float)(1.702f * (float)x)));
  if (act == CD_ACT_GELU) return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
  return x;
}

/* Bytes of W [N,K] stored as dtype. */
static void *store_as(const float *w, size_t n, cd_dtype dt) {
  unsigned char *b = malloc(n * cd_dtype_size(dt) + 1);
  if (!b) abort();
  for (size_t i = 0; i < n; i++) {
    if (dt == CD_F32) memcpy(b + 4 * i, &w[i], 4);
    else {
      uint16_t h = dt == CD_F16 ? cd_f32_to_f16(w[i]) : cd_f32_to_bf16(w[i]);
      b[2 * i] = (unsigned char)(h & 0xFF), b[2 * i + 1] = (unsigned char)(h >> 8);
    }
  }
  return b;
}

typedef struct {
  int M, K, N;
} shape3;

/* One GEMM case; returns the relative error (INFINITY when the padding was touched). */
static double gemm_case(const cd_gemm_kernel *k, cd_dtype dt, shape3 s, int use_bias, cd_activation act,
                        int resid_mode, int nthreads, float **out_keep) {
  int M = s.M, K = s.K, N = s.N, lda = K + 3, ldo = N + 5;
  float *w = fmake((size_t)N * K, 100 + N + K, 0.25f), *A = fmake((size_t)M * lda, 200 + M, 1.0f);
  float *bias = use_bias ? fmake((size_t)N, 300, 1.0f) : NULL;
  float *out = fmake((size_t)M * ldo, 400, 1.0f), *res = fmake((size_t)M * ldo, 500, 1.0f);
  float *pad = malloc(sizeof(float) * (size_t)M * ldo);
  /* the weight as stored, then as the kernel's operand */
  void *wb = store_as(w, (size_t)N * K, dt);
  for (size_t i = 0; i < (size_t)N * K; i++) w[i] = cd_gemm_load(wb, dt, i);
  if (resid_mode == 2) memcpy(out, res, sizeof(float) * (size_t)M * ldo); /* in place: out holds x */
  memcpy(pad, out, sizeof(float) * (size_t)M * ldo);
  cd_weight W = {N, K, dt, wb, NULL, NULL, 0, NULL, NULL};
  if (cd_weight_pack(&W, k, NULL)) abort();
  const float *rp = resid_mode == 1 ? res : resid_mode == 2 ? out : NULL;
  cd_threads_set(nthreads);
  cd_gemm_weight(&W, A, lda, M, out, ldo, bias, act, rp, NULL);
  double err = 0, mx = 0;
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double sum = 0;
      for (int p = 0; p < K; p++) {
        double ah, al, bh, bl;
        operand(k->prec, 0, A[(size_t)i * lda + p], &ah, &al);
        operand(k->prec, 1, w[(size_t)j * K + p], &bh, &bl);
        sum += ah * bh + ah * bl + al * bh;
      }
      double r = act_ref(sum + (bias ? bias[j] : 0.0), act);
      if (resid_mode) r += resid_mode == 1 ? res[(size_t)i * ldo + j] : pad[(size_t)i * ldo + j];
      double d = fabs(out[(size_t)i * ldo + j] - r);
      if (!(d <= err)) err = d;
      if (fabs(r) > mx) mx = fabs(r);
    }
  for (int i = 0; i < M; i++)
    for (int j = N; j < ldo; j++)
      if (out[(size_t)i * ldo + j] != pad[(size_t)i * ldo + j]) err = INFINITY;
  cd_weight_free(&W);
  free(w), free(A), free(bias), free(res), free(pad), free(wb);
  if (out_keep) *out_keep = out;
  else free(out);
  return mx > 0 ? err / mx : err;
}

/* A kernel that reads A in place (M a multiple of MR) must give the bits of packed A: the rows
 * of an M-row product against the same rows inside an (M + 1)-row one, which packs. */
static int check_a_in_place(const cd_gemm_kernel *k) {
  if (!k->a_in_place) return 1;
  int M = 3 * k->mr, K = 300, N = 70, lda = K + 3;
  float *w = fmake((size_t)N * K, 7, 0.25f), *A = fmake((size_t)(M + 1) * lda, 8, 1.0f), *bias = fmake((size_t)N, 9, 1.0f);
  float *o1 = calloc((size_t)(M + 1) * N, sizeof(float)), *o2 = calloc((size_t)(M + 1) * N, sizeof(float));
  cd_weight W = {N, K, CD_F32, w, NULL, NULL, 0, NULL, NULL};
  if (cd_weight_pack(&W, k, NULL)) abort();
  cd_gemm_weight(&W, A, lda, M, o1, N, bias, CD_ACT_GELU, NULL, NULL);
  cd_gemm_weight(&W, A, lda, M + 1, o2, N, bias, CD_ACT_GELU, NULL, NULL);
  int same = !memcmp(o1, o2, sizeof(float) * (size_t)M * N);
  cd_weight_free(&W);
  free(w), free(A), free(bias), free(o1), free(o2);
  return same;
}

static void check_gemm(const cd_kernels *kt, cd_precision prec) {
  const cd_gemm_kernel *k = kt->gemm[prec];
  static const shape3 shapes[] = {{1, 1, 1}, {3, 17, 33}, {50, 64, 96}, {50, 768, 70},
                                  {101, 300, 65}, {7, 1030, 40}, {260, 40, 36}};
  static const cd_dtype dts[] = {CD_F32, CD_F16, CD_BF16};
  double worst = 0;
  int cases = 0;
  for (int d = 0; d < 3; d++)
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
      for (int e = 0; e < (d == 0 ? 6 : 2); e++) { /* all epilogues once, with float32 weights */
        /* epilogues: none, bias, bias+quickgelu, bias+gelu, residual apart, residual in place */
        cd_activation act = e == 2 ? CD_ACT_QUICKGELU : e == 3 ? CD_ACT_GELU : CD_ACT_NONE;
        double r = gemm_case(k, dts[d], shapes[s], e >= 1, act, e == 4 ? 1 : e == 5 ? 2 : 0, 2, NULL);
        if (!(r <= 1e-5))
          fprintf(stderr, "  %s from %s: M=%d K=%d N=%d epilogue %d: rel err %.3e\n", k->name,
                  cd_dtype_name(dts[d]), shapes[s].M, shapes[s].K, shapes[s].N, e, r);
        if (!(r <= worst)) worst = r;
        cases++;
      }
  /* 1 vs 2 threads, bit for bit */
  float *o1, *o2;
  shape3 big = {150, 520, 300};
  gemm_case(k, CD_F32, big, 1, CD_ACT_QUICKGELU, 0, 1, &o1);
  gemm_case(k, CD_F32, big, 1, CD_ACT_QUICKGELU, 0, 2, &o2);
  int same = !memcmp(o1, o2, sizeof(float) * (size_t)big.M * (big.N + 5));
  free(o1), free(o2);
  int in_place_same = check_a_in_place(k);
  char name[160];
  snprintf(name, sizeof name, "%s (%d cases)", k->name, cases);
  printf("  %-62s max rel err %.2e (tol 1e-05), 1 vs 2 threads %s%s\n", name, worst, same ? "identical" : "DIFFER",
         !k->a_in_place ? "" : in_place_same ? ", A in place = packed" : ", A in place DIFFERS from packed");
  CHECK(worst <= 1e-5, "%s: %.3e", k->name, worst);
  CHECK(same, "%s differs between 1 and 2 threads", k->name);
  CHECK(in_place_same, "%s: A read in place differs from A packed", k->name);
}

/* ---- the row kernels ---- */

static void check_epilogue(const cd_kernels *kt) {
  enum { MR = 10, NR = 37, LD = 40 };
  float *c = fmake(MR * LD, 1, 4.0f), *c0 = malloc(sizeof(float) * MR * LD), *bias = fmake(NR, 2, 1.0f);
  memcpy(c0, c, sizeof(float) * MR * LD);
  double worst = 0;
  for (int a = 0; a < 3; a++) {
    memcpy(c, c0, sizeof(float) * MR * LD);
    kt->bias_act_tile(c, LD, MR - 1, NR, a == 0 ? NULL : bias, (cd_activation)a);
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < LD; j++) {
        double r = i < MR - 1 && j < NR ? act_ref(c0[i * LD + j] + (a == 0 ? 0.0 : bias[j]), (cd_activation)a) : c0[i * LD + j];
        double e = fabs(c[i * LD + j] - r) / (fabs(r) + 1.0);
        if (!(e <= worst)) worst = e;
      }
  }
  printf("  %-62s max err %.2e (tol 1e-06)\n", "epilogue tile (bias; quickgelu, gelu, none)", worst);
  CHECK(worst <= 1e-6, "epilogue %s: %.3e", cd_isa_name(kt->isa), worst);
  free(c), free(c0), free(bias);
}

static void check_layernorm(const cd_kernels *kt) {
  static const int cs[] = {1, 17, 768, 1023};
  double worst = 0;
  for (int s = 0; s < 4; s++) {
    int M = 5, C = cs[s];
    float *x = fmake((size_t)M * C, 10 + s, 2.0f), *w = fmake(C, 11, 1.0f), *b = fmake(C, 12, 1.0f);
    for (int i = 0; i < M * C; i++) x[i] += 3.0f;
    float *o = malloc(sizeof(float) * M * C), *r = malloc(sizeof(float) * M * C), mean[5], rstd[5], mr[5], rr[5];
    kt->layernorm_rows(o, mean, rstd, x, w, b, M, C, 1e-5f);
    cd_layernorm_forward_ref(r, mr, rr, x, w, b, M, C, 1e-5f);
    double e = cd_test_max_rel(o, r, (size_t)M * C);
    double e2 = cd_test_max_rel(mean, mr, M), e3 = cd_test_max_rel(rstd, rr, M);
    e = e > e2 ? e : e2, e = e > e3 ? e : e3;
    if (!(e <= worst)) worst = e;
    free(x), free(w), free(b), free(o), free(r);
  }
  printf("  %-62s max rel err %.2e (tol 1e-05)\n", "layernorm rows (out, mean, rstd)", worst);
  CHECK(worst <= 1e-5, "layernorm %s: %.3e", cd_isa_name(kt->isa), worst);
}

static void check_softmax(const cd_kernels *kt) {
  double worst = 0;
  for (int causal = 0; causal < 2; causal++)
    for (int N = 1; N <= 130; N += 43) {
      int M = 6, ld = N + 3, diag = causal ? 2 : 0;
      float *x = fmake((size_t)M * ld, 20 + N, 8.0f), *x0 = malloc(sizeof(float) * (size_t)M * ld);
      memcpy(x0, x, sizeof(float) * (size_t)M * ld);
      kt->softmax_rows(x, M, N, ld, causal, diag);
      for (int i = 0; i < M; i++) {
        int len = causal ? (i + 1 + diag < N ? i + 1 + diag : N) : N;
        double mx = -INFINITY, sum = 0;
        for (int j = 0; j < len; j++) mx = x0[i * ld + j] > mx ? x0[i * ld + j] : mx;
        for (int j = 0; j < len; j++) sum += exp(x0[i * ld + j] - mx);
        for (int j = 0; j < ld; j++) {
          double r = j < len ? exp(x0[i * ld + j] - mx) / sum : j < N ? 0.0 : x0[i * ld + j];
          double e = fabs(x[i * ld + j] - r);
          if (j >= len && j < N && x[i * ld + j] != 0.0f) e = INFINITY; /* masked: exactly 0 */
          if (!(e <= worst)) worst = e;
        }
      }
      free(x), free(x0);
    }
  printf("  %-62s max abs err %.2e (tol 1e-06)\n", "softmax rows (causal with offset, masked = 0)", worst);
  CHECK(worst <= 1e-6, "softmax %s: %.3e", cd_isa_name(kt->isa), worst);
}

/* LayerNorm's backward kernels (input gradient rows; weight and bias gradient columns, taken
 * in two ranges; the statistics again) against the reference. */
static void check_layernorm_backward(const cd_kernels *kt) {
  static const int cs[] = {1, 17, 768, 1023};
  double worst = 0;
  for (int s = 0; s < 4; s++) {
    int M = 5, C = cs[s], half = C / 2;
    size_t n = (size_t)M * C;
    float *x = fmake(n, 60 + s, 2.0f), *w = fmake(C, 61, 1.0f), *dy = fmake(n, 62, 1.0f), *o = malloc(sizeof(float) * n);
    float *dx = fmake(n, 63, 1.0f), *dw = fmake(C, 64, 1.0f), *db = fmake(C, 65, 1.0f);
    float *rx = malloc(sizeof(float) * n), *rw = malloc(sizeof(float) * C), *rb = malloc(sizeof(float) * C);
    float mean[5], rstd[5], km[5], kr[5];
    memcpy(rx, dx, sizeof(float) * n), memcpy(rw, dw, sizeof(float) * C), memcpy(rb, db, sizeof(float) * C);
    cd_layernorm_forward_ref(o, mean, rstd, x, w, w, M, C, 1e-5f);
    kt->layernorm_stats(km, kr, x, M, C, 1e-5f);
    kt->layernorm_backward_rows(dx, dy, x, w, mean, rstd, M, C);
    kt->layernorm_backward_cols(dw, db, dy, x, mean, rstd, M, C, 0, half);
    kt->layernorm_backward_cols(dw, db, dy, x, mean, rstd, M, C, half, C);
    cd_layernorm_backward_ref(rx, rw, rb, dy, x, w, mean, rstd, M, C);
    double e[5] = {cd_test_max_rel(dx, rx, n), cd_test_max_rel(dw, rw, C), cd_test_max_rel(db, rb, C),
                   cd_test_max_rel(km, mean, M), cd_test_max_rel(kr, rstd, M)};
    for (int i = 0; i < 5; i++)
      if (!(e[i] <= worst)) worst = e[i];
    free(x), free(w), free(dy), free(o), free(dx), free(dw), free(db), free(rx), free(rw), free(rb);
  }
  printf("  %-62s max rel err %.2e (tol 1e-05)\n", "layernorm backward (dinp, dweight, dbias, stats)", worst);
  CHECK(worst <= 1e-5, "layernorm backward %s: %.3e", cd_isa_name(kt->isa), worst);
}

/* Softmax's backward kernel against double arithmetic: causal or not, rows ld apart. */
static void check_softmax_backward(const cd_kernels *kt) {
  double worst = 0;
  for (int causal = 0; causal < 2; causal++)
    for (int N = 1; N <= 130; N += 43) {
      int M = N, ld = N + 3;
      float *p = fmake((size_t)M * ld, 70 + N, 4.0f), *d = fmake((size_t)M * ld, 71 + N, 1.0f);
      float *d0 = malloc(sizeof(float) * (size_t)M * ld), scale = 0.125f;
      kt->softmax_rows(p, M, N, ld, causal, 0);
      memcpy(d0, d, sizeof(float) * (size_t)M * ld);
      kt->softmax_backward_rows(d, p, M, N, ld, causal, scale);
      for (int i = 0; i < M; i++) {
        int len = causal ? i + 1 : N;
        double dot = 0;
        for (int j = 0; j < len; j++) dot += (double)p[i * ld + j] * d0[i * ld + j];
        for (int j = 0; j < N; j++) {
          double r = j < len ? p[i * ld + j] * (d0[i * ld + j] - dot) * scale : 0.0;
          double e = fabs(d[i * ld + j] - r);
          if (j >= len && d[i * ld + j] != 0.0f) e = INFINITY; /* masked: exactly 0 */
          if (!(e <= worst)) worst = e;
        }
        for (int j = N; j < ld; j++)
          if (d[i * ld + j] != d0[i * ld + j]) worst = INFINITY; /* past N: untouched */
      }
      free(p), free(d), free(d0);
    }
  printf("  %-62s max abs err %.2e (tol 1e-06)\n", "softmax backward rows (causal, masked = 0)", worst);
  CHECK(worst <= 1e-6, "softmax backward %s: %.3e", cd_isa_name(kt->isa), worst);
}

/* Activations forward against the reference, backward against the reference and against
 * central differences of the double-precision forward. */
static void check_activation(const cd_kernels *kt) {
  size_t n = 4099;
  float *x = fmake(n, 30, 6.0f), *o = malloc(sizeof(float) * n), *dy = fmake(n, 31, 1.0f);
  float *dx = calloc(n, sizeof(float));
  double ef = 0, eb = 0;
  for (int a = 0; a < 2; a++) {
    cd_activation act = (cd_activation)a;
    kt->act_forward(o, x, n, act);
    memset(dx, 0, sizeof(float) * n);
    kt->act_backward(dx, dy, x, n, act);
    for (size_t i = 0; i < n; i++) {
      double r = act_ref(x[i], act), h = 1e-4;
      double fd = (act_exact((double)x[i] + h, act) - act_exact((double)x[i] - h, act)) / (2 * h);
      double e1 = fabs(o[i] - r) / (fabs(r) + 1.0), e2 = fabs(dx[i] - dy[i] * fd) / (fabs(dy[i] * fd) + 1.0);
      if (!(e1 <= ef)) ef = e1;
      if (!(e2 <= eb)) eb = e2;
    }
  }
  printf("  %-62s fwd %.2e (tol 1e-06), bwd vs finite differences %.2e (tol 1e-05)\n",
         "activations quickgelu, gelu", ef, eb);
  CHECK(ef <= 1e-6 && eb <= 1e-5, "activation %s: %.3e %.3e", cd_isa_name(kt->isa), ef, eb);
  /* the training pair (forward saving the derivative, in place over its input, then the
   * backward from it): the same bits as the forward and the backward above, accumulating */
  float *o2 = malloc(sizeof(float) * n), *d = malloc(sizeof(float) * n), *dx0 = fmake(n, 32, 1.0f);
  float *dx2 = malloc(sizeof(float) * n);
  int same = 1;
  for (int a = 0; a < 3; a++) {
    cd_activation act = (cd_activation)a;
    kt->act_forward(o, x, n, act);
    memcpy(dx, dx0, sizeof(float) * n), memcpy(dx2, dx0, sizeof(float) * n);
    kt->act_backward(dx, dy, x, n, act);
    memcpy(d, x, sizeof(float) * n);
    kt->act_forward_deriv(o2, d, d, n, act);
    kt->act_backward_deriv(dx2, dy, d, n);
    same &= !memcmp(o, o2, sizeof(float) * n) && !memcmp(dx, dx2, sizeof(float) * n) && memcmp(dx, dx0, sizeof(float) * n);
  }
  printf("  %-62s %s\n", "activations with the saved derivative vs without", same ? "identical bits" : "DIFFER");
  CHECK(same, "activation with the saved derivative %s differs", cd_isa_name(kt->isa));
  free(x), free(o), free(dy), free(dx), free(o2), free(d), free(dx0), free(dx2);
}

static void check_attention(const cd_kernels *kt) {
  static const int Ts[] = {1, 7, 50, 77, 197}, hss[] = {64, 80, 24};
  double eo = 0, ep = 0;
  for (int a = 0; a < 5; a++)
    for (int b = 0; b < 3; b++)
      for (int causal = 0; causal < 2; causal++) {
        int T = Ts[a], hs = hss[b];
        size_t nq = (size_t)T * 3 * hs;
        float *qkv = fmake(nq, 40 + T + hs, 2.0f), *o = malloc(sizeof(float) * T * hs), *r = malloc(sizeof(float) * T * hs);
        float *p = malloc(sizeof(float) * T * T), *pr = malloc(sizeof(float) * T * T);
        float *scratch = malloc(sizeof(float) * cd_attention_head_scratch(T, hs));
        kt->attention_head(o, hs, qkv, qkv + hs, qkv + 2 * hs, 3 * hs, T, hs, 1.0f / sqrtf((float)hs), causal, p, scratch);
        cd_attention_forward_ref(r, pr, qkv, 1, T, hs, 1, causal);
        double e1 = cd_test_max_rel(o, r, (size_t)T * hs), e2 = cd_test_max_abs(p, pr, (size_t)T * T);
        kt->attention_head(o, hs, qkv, qkv + hs, qkv + 2 * hs, 3 * hs, T, hs, 1.0f / sqrtf((float)hs), causal, NULL, scratch);
        double e3 = cd_test_max_rel(o, r, (size_t)T * hs);
        eo = e1 > eo ? e1 : eo, eo = e3 > eo ? e3 : eo, ep = e2 > ep ? e2 : ep;
        free(qkv), free(o), free(r), free(p), free(pr), free(scratch);
      }
  printf("  %-62s out %.2e (tol 1e-05), probs %.2e (tol 1e-06)\n", "attention head (T 1..197, hs 64/80/24)", eo, ep);
  CHECK(eo <= 1e-5 && ep <= 1e-6, "attention %s: %.3e %.3e", cd_isa_name(kt->isa), eo, ep);
}

/* Segment-causal attention, one copy head by head (forward in blocks of CD_SEGATT_ROWS rows):
 * the same bits as the reference's loops, forward (out, probabilities) and backward (dqkv
 * accumulated onto random values). Layouts: a lockstep copy at the default context (prefix 5,
 * two classes), n_ctx 16 with three classes, no prefix (independent sequences), many segments
 * over several row blocks, one-row segments; head sizes 64, 24 and 80. */
static void check_attention_segments(const cd_kernels *kt) {
  static const struct {
    int P, n_seg, len[8], C, NH;
  } cases[] = {{5, 2, {4, 4}, 512, 8}, {17, 3, {3, 8, 5}, 512, 8}, {0, 3, {7, 20, 1}, 96, 4},
               {60, 8, {3, 8, 5, 6, 7, 3, 4, 8}, 160, 2}, {1, 2, {1, 1}, 96, 4}, {33, 1, {30}, 160, 2}};
  int ok = 1;
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    int P = cases[c].P, n = cases[c].n_seg, C = cases[c].C, NH = cases[c].NH, hs = C / NH, seg[9] = {P};
    for (int s = 0; s < n; s++) seg[s + 1] = seg[s] + cases[c].len[s];
    int R = seg[n], Tk = cd_segments_max_keys(P, n, seg);
    size_t nq = (size_t)R * 3 * C, no = (size_t)R * C, na = (size_t)NH * R * Tk;
    float *qkv = fmake(nq, 60 + c, 2.0f), *dy = fmake(no, 70 + c, 1.0f), *d0 = fmake(nq, 80 + c, 1.0f);
    float *o = malloc(sizeof(float) * no), *ro = malloc(sizeof(float) * no), *att = malloc(sizeof(float) * na);
    float *ratt = malloc(sizeof(float) * na), *d = malloc(sizeof(float) * nq), *rd = malloc(sizeof(float) * nq);
    float *scratch = malloc(sizeof(float) * CD_SEGATT_SCRATCH(hs, Tk, R));
    cd_segatt a = {qkv, seg, R, P, n, C, hs, Tk, 1.0f / sqrtf((float)hs)};
    for (int h = 0; h < NH; h++)
      for (int i0 = 0; i0 < R; i0 += CD_SEGATT_ROWS)
        kt->segatt_forward(&a, h, i0, i0 + CD_SEGATT_ROWS < R ? i0 + CD_SEGATT_ROWS : R, o, att + (size_t)h * R * Tk,
                           scratch);
    cd_attention_forward_segments_ref(ro, ratt, qkv, R, P, n, seg, C, NH);
    memcpy(d, d0, sizeof(float) * nq), memcpy(rd, d0, sizeof(float) * nq);
    for (int h = 0; h < NH; h++) kt->segatt_backward(&a, h, dy, ratt + (size_t)h * R * Tk, d, scratch);
    cd_attention_backward_segments_ref(rd, dy, qkv, ratt, R, P, n, seg, C, NH);
    int same = !memcmp(o, ro, sizeof(float) * no) && !memcmp(att, ratt, sizeof(float) * na) &&
               !memcmp(d, rd, sizeof(float) * nq) && memcmp(d, d0, sizeof(float) * nq);
    if (!same) printf("    case %zu (P %d, %d segments, hs %d) differs from the reference\n", c, P, n, hs);
    ok &= same;
    free(qkv), free(dy), free(d0), free(o), free(ro), free(att), free(ratt), free(d), free(rd), free(scratch);
  }
  printf("  %-62s %s\n", "attention segments forward / backward vs reference (6 layouts)", ok ? "identical bits" : "DIFFER");
  CHECK(ok, "attention segments %s differ from the reference", cd_isa_name(kt->isa));
}

/* The skinny products; bf16: against bfloat16 weight rows, the reference then computing with
 * the same rounded weights in float32 (the kernels widen them exactly). */
static void check_skinny(const cd_kernels *kt, int bf16) {
  static const int sh[][3] = {{1, 64, 32}, {7, 33, 17}, {25, 512, 100}, {80, 129, 257}};
  double ef = 0, eb = 0;
  for (int s = 0; s < 4; s++) {
    int M = sh[s][0], K = sh[s][1], N = sh[s][2];
    float *X = fmake((size_t)M * K, 50, 1.0f), *W = fmake((size_t)N * K, 51, 0.1f), *b = fmake(N, 52, 0.5f);
    float *dY = fmake((size_t)M * N, 53, 1.0f), *o = malloc(sizeof(float) * M * N), *r = malloc(sizeof(float) * M * N);
    float *dX = fmake((size_t)M * K, 54, 1.0f), *dr = malloc(sizeof(float) * M * K);
    float *strip = aligned_alloc(32, sizeof(float) * CD_SKINNY_PCHUNK_MAX * ((K + 15) / 16 * 16));
    uint16_t *Wh = malloc(sizeof(uint16_t) * (size_t)N * K);
    for (size_t i = 0; i < (size_t)N * K; i++) Wh[i] = cd_f32_to_bf16(W[i]), W[i] = bf16 ? cd_bf16_to_f32(Wh[i]) : W[i];
    memcpy(dr, dX, sizeof(float) * M * K);
    if (bf16) kt->skinny_forward_bf16(o, X, (size_t)K, Wh, b, M, K, N, 0, N);
    else kt->skinny_forward(o, X, (size_t)K, W, b, M, K, N, 0, N);
    cd_matmul_forward_ref(r, X, W, b, M, K, N);
    if (bf16) kt->skinny_backward_bf16(dX, dY, Wh, M, K, N, 0, K, strip);
    else kt->skinny_backward(dX, dY, W, M, K, N, 0, K, strip);
    cd_matmul_backward_ref(dr, NULL, NULL, dY, X, W, M, K, N);
    double e1 = cd_test_max_rel(o, r, (size_t)M * N), e2 = cd_test_max_rel(dX, dr, (size_t)M * K);
    ef = e1 > ef ? e1 : ef, eb = e2 > eb ? e2 : eb;
    free(X), free(W), free(b), free(dY), free(o), free(r), free(dX), free(dr), free(strip), free(Wh);
  }
  printf("  %-62s fwd %.2e, bwd %.2e (tol 5e-06)\n",
         bf16 ? "skinny linear bf16 weights forward / input gradient" : "skinny linear forward / input gradient", ef, eb);
  CHECK(ef <= 5e-6 && eb <= 5e-6, "skinny%s %s: %.3e %.3e", bf16 ? " bf16" : "", cd_isa_name(kt->isa), ef, eb);
}

int main(void) {
  int tested = 0;
  for (int l = 0; l < CD_ISA_COUNT; l++) {
    const cd_kernels *kt = cd_kernels_for((cd_isa)l);
    if (!kt) {
      printf("level %s: not runnable on this CPU or not built here: skipped\n", cd_isa_name((cd_isa)l));
      continue;
    }
    printf("level %s:\n", cd_isa_name((cd_isa)l));
    int own = 0;
    for (int p = 0; p < CD_PREC_COUNT; p++)
      if (kt->from[CD_OP_GEMM_FP32 + p] == (cd_isa)l) check_gemm(kt, (cd_precision)p), own++;
    if (kt->from[CD_OP_EPILOGUE] == (cd_isa)l) check_epilogue(kt), own++;
    if (kt->from[CD_OP_LAYERNORM] == (cd_isa)l) check_layernorm(kt), own++;
    if (kt->from[CD_OP_SOFTMAX] == (cd_isa)l) check_softmax(kt), own++;
    if (kt->from[CD_OP_ACTIVATION] == (cd_isa)l) check_activation(kt), own++;
    if (kt->from[CD_OP_ATTENTION] == (cd_isa)l) check_attention(kt), own++;
    if (kt->from[CD_OP_SKINNY] == (cd_isa)l) check_skinny(kt, 0), own++;
    if (kt->from[CD_OP_SKINNY_BF16] == (cd_isa)l) check_skinny(kt, 1), own++;
    if (kt->from[CD_OP_LAYERNORM_BACKWARD] == (cd_isa)l) check_layernorm_backward(kt), own++;
    if (kt->from[CD_OP_SOFTMAX_BACKWARD] == (cd_isa)l) check_softmax_backward(kt), own++;
    if (kt->from[CD_OP_ATTENTION_SEGMENTS] == (cd_isa)l) check_attention_segments(kt), own++;
    if (!own) printf("  (no kernels of its own: every entry is inherited from a lower level)\n");
    tested += own;
  }
  CHECK(tested > 0, "no kernel was tested");
  return cd_test_finish("test_kernels");
}
