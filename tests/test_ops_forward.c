/* Forward ops: every dispatched op against its plain C reference on many shapes (odd and
 * prime sizes included), the GEMM for every ISA this CPU can run and every transpose, and
 * bit-exact thread-count invariance (1 vs 2 threads). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "ops/gemm/gemm.h"
#include "ops/ops.h"
#include "ops/dispatch.h"
#include "ops/kernels/vecmath.h"
#include "tests/testutil.h"

static float *fmake(size_t n, uint64_t seed, float scale) {
  float *x = malloc(sizeof(float) * (n ? n : 1));
  if (!x) abort();
  cd_test_fill(x, n, seed, scale);
  return x;
}

/* C = alpha op(A) op(B) + beta C in double: the GEMM ground truth. */
static void gemm_double(int tA, int tB, int M, int N, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc) {
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double s = 0;
      for (int p = 0; p < K; p++) {
        double a = tA ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p];
        double b = tB ? B[(size_t)j * ldb + p] : B[(size_t)p * ldb + j];
        s += a * b;
      }
      double c = beta == 0.0f ? 0.0 : (double)beta * C[(size_t)i * ldc + j];
      C[(size_t)i * ldc + j] = (float)(alpha * s + c);
    }
}

/* Compares the M x N block of two ldc-strided matrices and checks the padding is untouched. */
static double gemm_err(const float *c, const float *r, int M, int N, int ldc) {
  double mx = 0, d = 0;
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double rv = fabs(r[(size_t)i * ldc + j]), dv = fabs(c[(size_t)i * ldc + j] - r[(size_t)i * ldc + j]);
      if (rv > mx) mx = rv;
      if (!(dv <= d)) d = dv; /* NaN propagates */
    }
  for (int i = 0; i < M; i++)
    for (int j = N; j < ldc; j++)
      if (c[(size_t)i * ldc + j] != r[(size_t)i * ldc + j]) return INFINITY;
  return mx > 0 ? d / mx : d;
}

static void test_gemm_isa(const cd_kernels *kt) {
  cd_isa isa = kt->isa;
  static const int sizes[] = {1, 3, 7, 17, 50, 77, 129};
  const int ns = (int)(sizeof sizes / sizeof sizes[0]);
  double worst = 0;
  int cases = 0;
  for (int tA = 0; tA < 2; tA++)
    for (int tB = 0; tB < 2; tB++)
      for (int a = 0; a < ns; a++)
        for (int b = 0; b < ns; b++)
          for (int c = 0; c < ns; c += 3) { /* K in {1, 17, 129} */
            int M = sizes[a], N = sizes[b], K = sizes[c];
            /* Leading dimensions with padding catch stride mistakes. */
            int lda = (tA ? M : K) + 3, ldb = (tB ? K : N) + 1, ldc = N + 2;
            float alpha = (c & 2) ? 0.5f : 1.0f, beta = (a + b) % 3 == 0 ? 0.0f : 0.75f;
            float *A = fmake((size_t)(tA ? K : M) * lda, 1 + a, 1.0f);
            float *B = fmake((size_t)(tB ? N : K) * ldb, 2 + b, 1.0f);
            float *C0 = fmake((size_t)M * ldc, 3 + c, 1.0f);
            float *C1 = malloc(sizeof(float) * (size_t)M * ldc);
            if (beta == 0.0f) /* beta == 0 must not read C: poison it */
              for (size_t i = 0; i < (size_t)M * ldc; i++)
                if (i % ldc < (size_t)N) C0[i] = NAN;
            memcpy(C1, C0, sizeof(float) * (size_t)M * ldc);
            cd_gemm_ex(kt, 1, tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C0, ldc);
            gemm_double(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C1, ldc);
            double e = gemm_err(C0, C1, M, N, ldc);
            if (!(e <= worst)) worst = e;
            if (!(e <= 1e-5))
              fprintf(stderr, "  gemm %s tA=%d tB=%d M=%d N=%d K=%d: rel err %.3e\n",
                      cd_isa_name(isa), tA, tB, M, N, K, e);
            cases++;
            free(A), free(B), free(C0), free(C1);
          }
  /* Shapes crossing the MC / KC / NC blocks of every kernel, threaded. */
  static const int big[][3] = {{300, 200, 530}, {77, 520, 300}, {145, 3100, 40}, {130, 4100, 20}, {5, 33, 1030}};
  for (int s = 0; s < 5; s++)
    for (int tA = 0; tA < 2; tA++)
      for (int tB = 0; tB < 2; tB++) {
        int M = big[s][0], N = big[s][1], K = big[s][2];
        int lda = tA ? M : K, ldb = tB ? K : N;
        float *A = fmake((size_t)M * K, 7, 1.0f), *B = fmake((size_t)N * K, 8, 1.0f);
        float *C0 = fmake((size_t)M * N, 9, 1.0f), *C1 = malloc(sizeof(float) * (size_t)M * N);
        memcpy(C1, C0, sizeof(float) * (size_t)M * N);
        cd_gemm_ex(kt, 2, tA, tB, M, N, K, 1.0f, A, lda, B, ldb, 1.0f, C0, N);
        gemm_double(tA, tB, M, N, K, 1.0f, A, lda, B, ldb, 1.0f, C1, N);
        double e = gemm_err(C0, C1, M, N, N);
        if (!(e <= worst)) worst = e;
        cases++;
        free(A), free(B), free(C0), free(C1);
      }
  char name[96];
  snprintf(name, sizeof name, "gemm %s (%d cases, all transposes)", cd_isa_name(isa), cases);
  printf("  %-44s max rel err %.3e (tol 1e-05) %s\n", name, worst, worst <= 1e-5 ? "ok" : "FAIL");
  CHECK(worst <= 1e-5, "%s: %.3e", name, worst);
}

static int same_bits(const float *a, const float *b, size_t n) {
  return memcmp(a, b, sizeof(float) * n) == 0;
}

/* The same GEMM with 1 and 2 threads must give identical bits (both driver paths). */
static void test_gemm_threads(const cd_kernels *kt) {
  cd_isa isa = kt->isa;
  static const int shapes[][3] = {{77, 512, 512}, {50, 1100, 300}, {250, 130, 530}, {600, 96, 300}};
  for (int s = 0; s < 4; s++) {
    int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
    float *A = fmake((size_t)M * K, 11, 1.0f), *B = fmake((size_t)N * K, 12, 1.0f);
    float *C1 = malloc(sizeof(float) * (size_t)M * N), *C2 = malloc(sizeof(float) * (size_t)M * N);
    cd_gemm_ex(kt, 1, 0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, C1, N);
    cd_gemm_ex(kt, 2, 0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, C2, N);
    int ok = same_bits(C1, C2, (size_t)M * N);
    printf("  gemm %s %dx%dx%d 1 vs 2 threads: %s\n", cd_isa_name(isa), M, N, K,
           ok ? "identical bits" : "DIFFER");
    CHECK(ok, "gemm %s M=%d N=%d K=%d differs between 1 and 2 threads", cd_isa_name(isa), M, N, K);
    free(A), free(B), free(C1), free(C2);
  }
}

static void test_matmul(void) {
  static const int ms[] = {1, 3, 7, 17, 50, 77, 129};
  static const int kn[][2] = {{1, 1}, {3, 7}, {17, 13}, {64, 50}, {129, 77}, {512, 33}, {31, 513}};
  double worst = 0;
  for (int a = 0; a < 7; a++)
    for (int b = 0; b < 7; b++)
      for (int wb = 0; wb < 2; wb++) {
        int M = ms[a], K = kn[b][0], N = kn[b][1];
        float *x = fmake((size_t)M * K, 21, 1.0f), *w = fmake((size_t)N * K, 22, 0.2f);
        float *bias = wb ? fmake((size_t)N, 23, 1.0f) : NULL;
        float *o = malloc(sizeof(float) * M * N), *r = malloc(sizeof(float) * M * N);
        for (int i = 0; i < M * N; i++) o[i] = NAN; /* out is write-only */
        cd_matmul_forward(o, x, w, bias, M, K, N);
        cd_matmul_forward_ref(r, x, w, bias, M, K, N);
        double e = cd_test_max_rel(o, r, (size_t)M * N);
        if (!(e <= worst)) worst = e;
        free(x), free(w), free(bias), free(o), free(r);
      }
  printf("  %-44s max rel err %.3e (tol 1e-05) %s\n", "matmul_forward (98 shapes, bias/no bias)",
         worst, worst <= 1e-5 ? "ok" : "FAIL");
  CHECK(worst <= 1e-5, "matmul_forward %.3e", worst);
}

static void test_layernorm(void) {
  static const int ms[] = {1, 7, 77, 130}, cs[] = {1, 3, 17, 64, 768, 1023};
  double eo = 0, em = 0, er = 0;
  for (int a = 0; a < 4; a++)
    for (int b = 0; b < 6; b++) {
      int M = ms[a], C = cs[b];
      float *x = fmake((size_t)M * C, 31 + b, 2.0f), *w = fmake(C, 32, 1.0f), *bb = fmake(C, 33, 1.0f);
      for (int i = 0; i < M * C; i++) x[i] += 3.0f; /* a non-zero mean, as in real activations */
      float *o = malloc(sizeof(float) * M * C), *r = malloc(sizeof(float) * M * C);
      float mean[130], rstd[130], mr[130], rr[130];
      cd_layernorm_forward(o, mean, rstd, x, w, bb, M, C, 1e-5f);
      cd_layernorm_forward_ref(r, mr, rr, x, w, bb, M, C, 1e-5f);
      double e1 = cd_test_max_rel(o, r, (size_t)M * C), e2 = cd_test_max_rel(mean, mr, M),
             e3 = cd_test_max_rel(rstd, rr, M);
      eo = e1 > eo ? e1 : eo, em = e2 > em ? e2 : em, er = e3 > er ? e3 : er;
      cd_layernorm_forward(o, NULL, NULL, x, w, bb, M, C, 1e-5f); /* stats optional */
      double e4 = cd_test_max_rel(o, r, (size_t)M * C);
      eo = e4 > eo ? e4 : eo;
      free(x), free(w), free(bb), free(o), free(r);
    }
  printf("  %-44s max rel err %.3e (tol 1e-05) %s\n", "layernorm_forward out", eo, eo <= 1e-5 ? "ok" : "FAIL");
  printf("  %-44s max rel err %.3e (tol 1e-05) %s\n", "layernorm_forward mean", em, em <= 1e-5 ? "ok" : "FAIL");
  printf("  %-44s max rel err %.3e (tol 1e-05) %s\n", "layernorm_forward rstd", er, er <= 1e-5 ? "ok" : "FAIL");
  CHECK(eo <= 1e-5 && em <= 1e-5 && er <= 1e-5, "layernorm %.3e %.3e %.3e", eo, em, er);
}

static void test_attention(void) {
  static const int shapes[][4] = {{1, 1, 8, 2},  {2, 7, 16, 2},  {2, 50, 64, 4},
                                  {1, 77, 128, 2}, {3, 17, 96, 3}, {1, 257, 64, 1}};
  double eo = 0, ea = 0;
  for (int s = 0; s < 6; s++)
    for (int causal = 0; causal < 2; causal++) {
      int B = shapes[s][0], T = shapes[s][1], C = shapes[s][2], NH = shapes[s][3];
      size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C, na = (size_t)B * NH * T * T;
      float *qkv = fmake(nq, 41 + s, 2.0f);
      float *o = malloc(sizeof(float) * no), *r = malloc(sizeof(float) * no);
      float *att = malloc(sizeof(float) * na), *attr = malloc(sizeof(float) * na);
      cd_attention_forward(o, att, qkv, B, T, C, NH, causal);
      cd_attention_forward_ref(r, attr, qkv, B, T, C, NH, causal);
      double e1 = cd_test_max_rel(o, r, no), e2 = cd_test_max_abs(att, attr, na);
      int masked_zero = 1;
      if (causal)
        for (size_t i = 0; i < na; i++)
          if ((int)(i % T) > (int)((i / T) % T) && att[i] != 0.0f) masked_zero = 0;
      CHECK(masked_zero, "attention B=%d T=%d: masked probabilities are not exactly 0", B, T);
      cd_attention_forward(o, NULL, qkv, B, T, C, NH, causal); /* att optional */
      double e3 = cd_test_max_rel(o, r, no);
      eo = e1 > eo ? e1 : eo, eo = e3 > eo ? e3 : eo, ea = e2 > ea ? e2 : ea;
      free(qkv), free(o), free(r), free(att), free(attr);
    }
  printf("  %-44s max rel err %.3e (tol 1e-05) %s\n", "attention_forward out (causal and not)", eo,
         eo <= 1e-5 ? "ok" : "FAIL");
  printf("  %-44s max abs err %.3e (tol 1e-06) %s\n", "attention_forward probabilities", ea,
         ea <= 1e-6 ? "ok" : "FAIL");
  CHECK(eo <= 1e-5 && ea <= 1e-6, "attention %.3e %.3e", eo, ea);
}

static void test_elementwise(void) {
  size_t n = 100003; /* prime, above the threading threshold */
  float *x = fmake(n, 51, 8.0f), *y = fmake(n, 52, 1.0f), *o = malloc(sizeof(float) * n),
        *r = malloc(sizeof(float) * n);
  x[0] = 0.0f, x[1] = -30.0f, x[2] = 30.0f, x[3] = -100.0f, x[4] = 100.0f;
  cd_quickgelu_forward(o, x, n);
  cd_quickgelu_forward_ref(r, x, n);
  cd_test_close("quickgelu_forward (n prime, |x|<=100)", o, r, n, 1e-6);
  cd_gelu_forward(o, x, n);
  cd_gelu_forward_ref(r, x, n);
  cd_test_close("gelu_forward (erf)", o, r, n, 1e-6);
  cd_add_forward(o, x, y, n);
  cd_add_forward_ref(r, x, y, n);
  CHECK(same_bits(o, r, n), "add_forward differs from reference");
  printf("  %-44s %s\n", "add_forward", same_bits(o, r, n) ? "identical bits" : "DIFFER");
  static const int sm[][2] = {{1, 1}, {3, 7}, {77, 77}, {5, 1000}, {300, 49}};
  double es = 0;
  for (int s = 0; s < 5; s++) {
    int M = sm[s][0], N = sm[s][1];
    cd_softmax_forward(o, x, M, N);
    cd_softmax_forward_ref(r, x, M, N);
    double e = cd_test_max_abs(o, r, (size_t)M * N);
    es = e > es ? e : es;
  }
  printf("  %-44s max abs err %.3e (tol 1e-06) %s\n", "softmax_forward", es, es <= 1e-6 ? "ok" : "FAIL");
  CHECK(es <= 1e-6, "softmax %.3e", es);
  free(x), free(y), free(o), free(r);
}

/* max over i of |a-b| / (|b| + floor): catches errors in small values that a max-norm hides. */
static double elem_rel(const float *a, const float *b, size_t n, double floor) {
  double m = 0;
  for (size_t i = 0; i < n; i++) {
    double e = fabs((double)a[i] - b[i]) / (fabs(b[i]) + floor);
    m = e > m || e != e ? e : m;
  }
  return m;
}

/* The vectorised exp behind the activations and softmaxes, against libm's double exp. */
static void test_expf_fast(void) {
  double worst = 0;
  int n = 0, edges = 1;
  for (double x = -87.0; x <= 88.3; x += 0.0137, n++) {
    double e = fabs(cd_expf_fast((float)x) - exp((double)(float)x)) / exp((double)(float)x);
    worst = e > worst ? e : worst;
  }
  edges &= cd_expf_fast(-100.0f) == 0.0f && cd_expf_fast(-1e30f) == 0.0f;
  edges &= isfinite(cd_expf_fast(100.0f)) && cd_expf_fast(100.0f) > 1e38f && cd_expf_fast(0.0f) == 1.0f;
  printf("  %-44s max rel err %.3e (tol 2e-07, %d points)\n", "expf_fast on [-87, 88.3]", worst, n);
  CHECK(worst <= 2e-7, "expf_fast rel err %.3e", worst);
  CHECK(edges, "expf_fast: exp(-100) must flush to 0, exp(100) stay finite, exp(0) == 1");
  size_t m = 20011;
  float *x = fmake(m, 57, 12.0f), *o = malloc(sizeof(float) * m), *r = malloc(sizeof(float) * m);
  cd_quickgelu_forward(o, x, m);
  cd_quickgelu_forward_ref(r, x, m);
  double e1 = elem_rel(o, r, m, 1e-30);
  cd_gelu_forward(o, x, m);
  cd_gelu_forward_ref(r, x, m);
  /* gelu's 1 + erf(x/√2) cancels for x << 0 in float (as in PyTorch's formula), so small
   * values are judged by absolute error: |a-b| / (|b| + 1). */
  double e2 = elem_rel(o, r, m, 1.0);
  printf("  %-44s max rel err %.3e (tol 1e-06)\n", "quickgelu forward, per element", e1);
  printf("  %-44s max err %.3e (tol 1e-06)\n", "gelu forward, per element |a-b|/(|b|+1)", e2);
  CHECK(e1 <= 1e-6 && e2 <= 1e-6, "activations per-element rel err %.3e %.3e", e1, e2);
  free(x), free(o), free(r);
}

/* Whole dispatched ops with 1 vs 2 OpenMP threads: identical bits. */
static void test_ops_threads(void) {
  int M = 154, K = 512, N = 1024, B = 4, T = 77, C = 512, NH = 8;
  float *x = fmake((size_t)M * K, 61, 1.0f), *w = fmake((size_t)N * K, 62, 0.1f), *b = fmake(N, 63, 1.0f);
  float *o1 = malloc(sizeof(float) * M * N), *o2 = malloc(sizeof(float) * M * N);
  cd_threads_set(1);
  cd_matmul_forward(o1, x, w, b, M, K, N);
  cd_threads_set(2);
  cd_matmul_forward(o2, x, w, b, M, K, N);
  int ok = same_bits(o1, o2, (size_t)M * N);
  printf("  %-44s %s\n", "matmul_forward 1 vs 2 threads", ok ? "identical bits" : "DIFFER");
  CHECK(ok, "matmul_forward thread variance");
  size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C, na = (size_t)B * NH * T * T;
  float *qkv = fmake(nq, 64, 1.0f), *a1 = malloc(sizeof(float) * na), *a2 = malloc(sizeof(float) * na);
  float *p1 = malloc(sizeof(float) * nq), *p2 = malloc(sizeof(float) * nq);
  cd_threads_set(1);
  cd_attention_forward(p1, a1, qkv, B, T, C, NH, 1);
  cd_threads_set(2);
  cd_attention_forward(p2, a2, qkv, B, T, C, NH, 1);
  ok = same_bits(p1, p2, no) && same_bits(a1, a2, na);
  printf("  %-44s %s\n", "attention_forward 1 vs 2 threads", ok ? "identical bits" : "DIFFER");
  CHECK(ok, "attention_forward thread variance");
  cd_threads_set(1);
  cd_layernorm_forward(p1, NULL, NULL, qkv, w, b, B * T * 3, C, 1e-5f);
  cd_gelu_forward(o1, x, (size_t)M * K);
  cd_threads_set(2);
  cd_layernorm_forward(p2, NULL, NULL, qkv, w, b, B * T * 3, C, 1e-5f);
  cd_gelu_forward(o2, x, (size_t)M * K);
  ok = same_bits(p1, p2, nq) && same_bits(o1, o2, (size_t)M * K);
  printf("  %-44s %s\n", "layernorm/gelu forward 1 vs 2 threads", ok ? "identical bits" : "DIFFER");
  CHECK(ok, "layernorm/gelu thread variance");
  free(x), free(w), free(b), free(o1), free(o2), free(qkv), free(a1), free(a2), free(p1), free(p2);
}

int main(void) {
  printf("best ISA: %s\n", cd_isa_name(cd_cpu_best_isa()));
  test_expf_fast();
  /* The general GEMM of every level this CPU runs that has its own float32 kernel. */
  for (int isa = 0; isa < CD_ISA_COUNT; isa++) {
    const cd_kernels *kt = cd_kernels_for((cd_isa)isa);
    if (!kt) {
      printf("  gemm %-10s not built for or not runnable on this CPU: skipped\n", cd_isa_name((cd_isa)isa));
      continue;
    }
    if (kt->from[CD_OP_GEMM_FP32] != (cd_isa)isa) continue; /* same kernel as a lower level */
    printf("  gemm %-10s %s\n", cd_isa_name((cd_isa)isa), kt->gemm[CD_PREC_FP32]->name);
    test_gemm_isa(kt);
    test_gemm_threads(kt);
  }
  /* The dispatched ops, first at the best ISA, then forced to the portable kernel. */
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1) setenv("CLIPDEBIAS_ISA", "ref", 1);
    printf("dispatched ops at ISA %s:\n", cd_isa_name(cd_cpu_best_isa()));
    test_matmul();
    test_layernorm();
    test_attention();
    test_elementwise();
    if (pass == 0) test_ops_threads(); /* the ref kernel's invariance is checked above */
  }
  return cd_test_finish("test_ops_forward");
}
