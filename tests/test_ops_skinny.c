/* The skinny (few-row, weight-streaming) products used by prompt tuning, against the plain C
 * matmul reference on the shapes the text tower produces (M = 1..80 rows, odd K and N), for
 * every ISA level this CPU runs that has its own skinny kernels, 1 vs 2 threads bit for bit,
 * and each row alone bit for bit as among the others; the same for the bfloat16-weight
 * kernels (the reference computing with the same rounded weights). */
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/dtype.h"
#include "ops/ops.h"
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
  return cd_test_finish("test_ops_skinny");
}
