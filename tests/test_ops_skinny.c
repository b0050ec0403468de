/* The skinny (few-row, weight-streaming) products used by prompt tuning, against the plain C
 * matmul reference on the shapes the text tower produces (M = 1..80 rows, odd K and N), for
 * every ISA level this CPU runs that has its own skinny kernels, 1 vs 2 threads bit for bit,
 * and each row alone bit for bit as among the others; the same for the bfloat16-weight
 * kernels (the reference computing with the same rounded weights). The AVX-512 kernels give
 * the AVX2 kernels' bits (memcmp) on many shapes: the demo's table and lockstep results do not
 * depend on which of the two a machine runs. And the input gradient through transposed rows
 * (the forward's kernels over W^T) against the same reference, with the same invariances. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/dtype.h"
#include "ops/ops.h"
#include "ops/gemm/linear.h"
#include "ops/gemm/skinny.h"
#include "tests/testutil.h"

/* bf16: the weights as bfloat16 rows. */
static void check_shape(const cd_kernels *kt, int M, int K, int N, int bf16) {
  float *X = malloc(sizeof(float) * (size_t)M * K), *W = malloc(sizeof(float) * (size_t)N * K);
  float *b = malloc(sizeof(float) * (size_t)N), *dY = malloc(sizeof(float) * (size_t)M * N);
  float *out = malloc(sizeof(float) * (size_t)M * N), *ref = malloc(sizeof(float) * (size_t)M * N);
  float *dX = malloc(sizeof(float) * (size_t)M * K), *dref = malloc(sizeof(float) * (size_t)M * K);
  uint16_t *Wh = malloc(sizeof(uint16_t) * (size_t)N * K);
  cd_test_fill(X, (size_t)M * K, 1 + M, 1.0f);
  cd_test_fill(W, (size_t)N * K, 2 + N, 0.1f);
  cd_test_fill(b, (size_t)N, 3, 0.5f);
  cd_test_fill(dY, (size_t)M * N, 4 + K, 1.0f);
  if (bf16)
    for (size_t i = 0; i < (size_t)N * K; i++) Wh[i] = cd_f32_to_bf16(W[i]), W[i] = cd_bf16_to_f32(Wh[i]);
  char name[96];
  const char *isa = cd_isa_name(kt->isa), *ty = bf16 ? " bf16" : "";
#define FWD(o, x, m) (bf16 ? cd_skinny_linear_forward_bf16(kt, o, x, Wh, b, m, K, N) : cd_skinny_linear_forward(kt, o, x, W, b, m, K, N))
#define BWD(d, g, m) (bf16 ? cd_skinny_linear_backward_bf16(kt, d, g, Wh, m, K, N) : cd_skinny_linear_backward(kt, d, g, W, m, K, N))

  FWD(out, X, M);
  cd_matmul_forward_ref(ref, X, W, b, M, K, N);
  snprintf(name, sizeof name, "%s%s forward M=%d K=%d N=%d", isa, ty, M, K, N);
  cd_test_close(name, out, ref, (size_t)M * N, 2e-6);

  /* backward accumulates: start both from the same non-zero dX */
  cd_test_fill(dX, (size_t)M * K, 5, 1.0f);
  memcpy(dref, dX, sizeof(float) * (size_t)M * K);
  BWD(dX, dY, M);
  cd_matmul_backward_ref(dref, NULL, NULL, dY, X, W, M, K, N);
  snprintf(name, sizeof name, "%s%s backward M=%d K=%d N=%d", isa, ty, M, K, N);
  cd_test_close(name, dX, dref, (size_t)M * K, 5e-6); /* float sums of up to 2048 terms vs a double reference */

  /* thread-count invariance */
  cd_threads_set(1);
  FWD(ref, X, M);
  cd_test_fill(dref, (size_t)M * K, 5, 1.0f);
  BWD(dref, dY, M);
  cd_threads_set(2);
  FWD(out, X, M);
  cd_test_fill(dX, (size_t)M * K, 5, 1.0f);
  BWD(dX, dY, M);
  CHECK(memcmp(out, ref, sizeof(float) * (size_t)M * N) == 0, "%s forward differs between 1 and 2 threads", name);
  CHECK(memcmp(dX, dref, sizeof(float) * (size_t)M * K) == 0, "%s backward differs between 1 and 2 threads", name);

  /* row-wise: each row alone gives the bits it has among the others (lockstep stacks runs) */
  for (int m = 0; m < M; m++) {
    FWD(ref + (size_t)m * N, X + (size_t)m * K, 1);
    cd_test_fill(dref, (size_t)M * K, 5, 1.0f);
    BWD(dref + (size_t)m * K, dY + (size_t)m * N, 1);
    CHECK(memcmp(dref + (size_t)m * K, dX + (size_t)m * K, sizeof(float) * K) == 0,
          "%s backward of row %d alone differs from it among %d rows", name, m, M);
  }
  CHECK(memcmp(out, ref, sizeof(float) * (size_t)M * N) == 0, "%s forward of rows alone differs from all rows", name);
#undef FWD
#undef BWD
  free(X), free(W), free(b), free(dY), free(out), free(ref), free(dX), free(dref), free(Wh);
}

/* Two levels' kernels give the same bits (the AVX-512 kernels keep the AVX2 kernels' order of
 * every sum): the drivers on M x K x N, forward and backward, float32 and bfloat16 weights, and
 * the forward kernel alone over an inner range of weight rows with padded input rows. */
static void check_same_bits(const cd_kernels *ka, const cd_kernels *kb, int M, int K, int N, int bf16) {
  size_t ldx = (size_t)K + 3;
  float *X = malloc(sizeof(float) * M * ldx), *W = malloc(sizeof(float) * N * K), *b = malloc(sizeof(float) * N);
  float *dY = malloc(sizeof(float) * M * N), *oa = malloc(sizeof(float) * M * N), *ob = malloc(sizeof(float) * M * N);
  float *da = malloc(sizeof(float) * M * K), *db = malloc(sizeof(float) * M * K);
  uint16_t *Wh = malloc(sizeof(uint16_t) * N * K);
  cd_test_fill(X, (size_t)M * ldx, 11 + M, 1.0f);
  cd_test_fill(W, (size_t)N * K, 12 + N, 0.1f);
  cd_test_fill(b, (size_t)N, 13, 0.5f);
  cd_test_fill(dY, (size_t)M * N, 14 + K, 1.0f);
  for (size_t i = 0; i < (size_t)N * K; i++) Wh[i] = cd_f32_to_bf16(W[i]);
  const char *la = cd_isa_name(ka->isa), *lb = cd_isa_name(kb->isa), *ty = bf16 ? " bf16" : "";
#define FWD(kt, o) (bf16 ? cd_skinny_linear_forward_bf16(kt, o, X, Wh, b, M, K, N) : cd_skinny_linear_forward(kt, o, X, W, b, M, K, N))
#define BWD(kt, d) (bf16 ? cd_skinny_linear_backward_bf16(kt, d, dY, Wh, M, K, N) : cd_skinny_linear_backward(kt, d, dY, W, M, K, N))
  /* X as M rows of K (the drivers' layout) */
  for (int m = 0; m < M; m++) memmove(X + (size_t)m * K, X + (size_t)m * ldx, sizeof(float) * K);
  FWD(ka, oa);
  FWD(kb, ob);
  CHECK(memcmp(oa, ob, sizeof(float) * M * N) == 0, "%s%s forward M=%d K=%d N=%d: bits differ from %s", lb, ty, M, K, N, la);
  cd_test_fill(da, (size_t)M * K, 15, 1.0f);
  memcpy(db, da, sizeof(float) * M * K);
  BWD(ka, da);
  BWD(kb, db);
  CHECK(memcmp(da, db, sizeof(float) * M * K) == 0, "%s%s backward M=%d K=%d N=%d: bits differ from %s", lb, ty, M, K, N, la);
#undef FWD
#undef BWD
  /* the kernel alone: rows ldx apart, weight rows [n0, n1) */
  cd_test_fill(X, (size_t)M * ldx, 11 + M, 1.0f);
  int n0 = N > 8 ? 5 : 0, n1 = N > 8 ? N - 2 : N;
  memset(oa, 0, sizeof(float) * M * N);
  memset(ob, 0, sizeof(float) * M * N);
  if (bf16) {
    ka->skinny_forward_bf16(oa, X, ldx, Wh, b, M, K, N, n0, n1);
    kb->skinny_forward_bf16(ob, X, ldx, Wh, b, M, K, N, n0, n1);
  } else {
    ka->skinny_forward(oa, X, ldx, W, b, M, K, N, n0, n1);
    kb->skinny_forward(ob, X, ldx, W, b, M, K, N, n0, n1);
  }
  CHECK(memcmp(oa, ob, sizeof(float) * M * N) == 0, "%s%s forward kernel M=%d K=%d N=%d rows [%d, %d): bits differ from %s",
        lb, ty, M, K, N, n0, n1, la);
  /* and on the input rows packed once for all items, where level b has that */
  if (bf16 ? kb->skinny_forward_pairs_bf16 != NULL : kb->skinny_forward_pairs != NULL) {
    float *xp = aligned_alloc(64, (sizeof(float) * kb->skinny_pairs_floats(M, K) + 63) / 64 * 64);
    kb->skinny_pack_pairs(xp, X, ldx, M, K);
    memset(ob, 0, sizeof(float) * M * N);
    if (bf16) kb->skinny_forward_pairs_bf16(ob, xp, X, ldx, Wh, b, M, K, N, n0, n1);
    else kb->skinny_forward_pairs(ob, xp, X, ldx, W, b, M, K, N, n0, n1);
    CHECK(memcmp(oa, ob, sizeof(float) * M * N) == 0,
          "%s%s forward kernel on packed pairs M=%d K=%d N=%d rows [%d, %d): bits differ from %s", lb, ty, M, K, N, n0, n1, la);
    free(xp);
  }
  free(X), free(W), free(b), free(dY), free(oa), free(ob), free(da), free(db), free(Wh);
}

/* The AVX-512 skinny kernels against the AVX2 ones, bit for bit, on the text towers' widths
 * (ViT-B/32: 512, 2048; the toy CLIP: 96, 384) and odd ones, from 1 to about 400 rows (one
 * run's prompts to a dozen runs stacked in lockstep). */
static void check_avx512_vs_avx2(void) {
  const cd_kernels *k2 = cd_kernels_for(CD_ISA_AVX2), *k5 = cd_kernels_for(CD_ISA_AVX512);
  if (!k2 || !k5 || k5->from[CD_OP_SKINNY] != CD_ISA_AVX512) {
    printf("test_ops_skinny: no AVX-512 skinny kernels on this CPU or build, the AVX2 comparison skipped\n");
    return;
  }
  static const int kn[][2] = {{96, 384}, {384, 96}, {512, 512}, {512, 2048}, {2048, 512}, {33, 17}, {7, 5},
                              {8, 3},    {15, 9},   {100, 300}, {129, 257}, {520, 1031}, {1000, 37}, {31, 64}};
  static const int ms[] = {1, 2, 3, 4, 5, 7, 11, 12, 13, 24, 25, 26, 31, 49, 64, 77, 150, 300, 397};
  for (size_t s = 0; s < sizeof kn / sizeof kn[0]; s++)
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
      int K = kn[s][0], N = kn[s][1], M = ms[i];
      /* the largest shapes at a few row counts only (the test stays a second or two) */
      if ((double)M * K * N > 6e7 && M != 25 && M != 300 && M != 397) continue;
      for (int bf16 = 0; bf16 < 2; bf16++) check_same_bits(k2, k5, M, K, N, bf16);
    }
}

/* The input gradient through the transposed rows (cd_weight_transpose_rows, a tuning tower
 * that streams from memory): the transpose exact, dx = dout · W written over dx against the
 * double reference (and the rows' path behind the same entry point), 1 vs 2 threads bit for bit, each row alone bit for bit as among the
 * others, on the level the process runs (CLIPDEBIAS_ISA lowers it). */
static void check_transposed(int M, int K, int N, int bf16) {
  float *W = malloc(sizeof(float) * (size_t)N * K), *dY = malloc(sizeof(float) * (size_t)M * N);
  float *X = calloc((size_t)M * K, sizeof(float)), *dX = malloc(sizeof(float) * (size_t)M * K);
  float *dref = malloc(sizeof(float) * (size_t)M * K), *d1 = malloc(sizeof(float) * (size_t)M * K);
  uint16_t *Wh = malloc(sizeof(uint16_t) * (size_t)N * K);
  cd_test_fill(W, (size_t)N * K, 12 + N, 0.1f);
  cd_test_fill(dY, (size_t)M * N, 14 + K, 1.0f);
  if (bf16)
    for (size_t i = 0; i < (size_t)N * K; i++) Wh[i] = cd_f32_to_bf16(W[i]), W[i] = cd_bf16_to_f32(Wh[i]);
  cd_weight w = {N, K, bf16 ? CD_BF16 : CD_F32, bf16 ? (const void *)Wh : (const void *)W, NULL, NULL, 0, NULL, NULL};
  cd_error e;
  CHECK(cd_weight_transpose_rows(&w, &e) == 0 && w.rows_t, "transpose [%d, %d]", N, K);
  char name[96];
  snprintf(name, sizeof name, "%s%s transposed backward M=%d K=%d N=%d", cd_isa_name(cd_kernels_get()->isa),
           bf16 ? " bf16" : "", M, K, N);
  int exact = 1;
  for (int n = 0; n < N && w.rows_t; n++)
    for (int k = 0; k < K; k++)
      exact &= bf16 ? ((const uint16_t *)w.rows_t)[(size_t)k * N + n] == Wh[(size_t)n * K + k]
                    : ((const float *)w.rows_t)[(size_t)k * N + n] == W[(size_t)n * K + k];
  CHECK(exact, "%s: the transpose differs from the rows", name);
  if (!w.rows_t) goto done;

  /* written over dx (garbage before), against the reference from zero; the same for the rows
   * themselves (the strip kernels, which accumulate, behind the same entry point) */
  cd_test_fill(dX, (size_t)M * K, 5, 1.0f);
  memset(dref, 0, sizeof(float) * (size_t)M * K);
  cd_linear_backward_input(dX, dY, &w, M);
  cd_matmul_backward_ref(dref, NULL, NULL, dY, X, W, M, K, N);
  cd_test_close(name, dX, dref, (size_t)M * K, 5e-6);
  cd_weight rows = w;
  rows.rows_t = NULL;
  cd_test_fill(d1, (size_t)M * K, 6, 1.0f);
  cd_linear_backward_input(d1, dY, &rows, M);
  char rname[160];
  snprintf(rname, sizeof rname, "%s (rows, written over dx)", name);
  cd_test_close(rname, d1, dref, (size_t)M * K, 5e-6);

  cd_threads_set(1);
  cd_test_fill(d1, (size_t)M * K, 5, 1.0f);
  cd_linear_backward_input(d1, dY, &w, M);
  cd_threads_set(2);
  CHECK(memcmp(dX, d1, sizeof(float) * (size_t)M * K) == 0, "%s differs between 1 and 2 threads", name);
  for (int m = 0; m < M; m++) {
    cd_test_fill(d1, (size_t)M * K, 5, 1.0f);
    cd_linear_backward_input(d1 + (size_t)m * K, dY + (size_t)m * N, &w, 1);
    CHECK(memcmp(d1 + (size_t)m * K, dX + (size_t)m * K, sizeof(float) * K) == 0,
          "%s: row %d alone differs from it among %d rows", name, m, M);
  }
done:
  cd_weight_free(&w);
  free(W), free(dY), free(X), free(dX), free(dref), free(d1), free(Wh);
}

int main(void) {
  static const int shapes[][3] = {{1, 64, 32}, {5, 512, 512}, {7, 33, 17}, {13, 100, 300},
                                  {25, 512, 1536}, {25, 2048, 512}, {80, 129, 257}, {3, 16, 1}};
  for (int isa = 0; isa < CD_ISA_COUNT; isa++) {
    const cd_kernels *kt = cd_kernels_for((cd_isa)isa);
    if (kt && kt->from[CD_OP_SKINNY] == (cd_isa)isa)
      for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) check_shape(kt, shapes[s][0], shapes[s][1], shapes[s][2], 0);
    /* AMX splits the activations into bf16 hi + lo: tests/test_ops_skinny_amx.c */
    if (kt && kt->from[CD_OP_SKINNY_BF16] == (cd_isa)isa && isa != CD_ISA_AMX)
      for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) check_shape(kt, shapes[s][0], shapes[s][1], shapes[s][2], 1);
  }
  check_avx512_vs_avx2();
  /* the transposed input gradient on every level this CPU runs */
  for (int isa = 0; isa < CD_ISA_COUNT; isa++) {
    if (!cd_cpu_supports((cd_isa)isa) || !cd_kernels_for((cd_isa)isa)) continue;
    setenv("CLIPDEBIAS_ISA", cd_isa_name((cd_isa)isa), 1);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
      for (int bf16 = 0; bf16 < 2; bf16++) check_transposed(shapes[s][0], shapes[s][1], shapes[s][2], bf16);
  }
  unsetenv("CLIPDEBIAS_ISA");
  return cd_test_finish("test_ops_skinny");
}
