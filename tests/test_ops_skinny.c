/* The skinny (few-row, weight-streaming) products used by prompt tuning, against the plain C
 * matmul reference on the shapes the text tower produces (M = 1..80 rows, odd K and N), for
 * every ISA level this CPU runs that has its own skinny kernels, 1 vs 2 threads bit for bit,
 * and each row alone bit for bit as among the others. */
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "ops/ops.h"
#include "ops/gemm/skinny.h"
#include "tests/testutil.h"

static void check_shape(const cd_kernels *kt, int M, int K, int N) {
  cd_isa isa = kt->isa;
  float *X = malloc(sizeof(float) * (size_t)M * K), *W = malloc(sizeof(float) * (size_t)N * K);
  float *b = malloc(sizeof(float) * (size_t)N), *dY = malloc(sizeof(float) * (size_t)M * N);
  float *out = malloc(sizeof(float) * (size_t)M * N), *ref = malloc(sizeof(float) * (size_t)M * N);
  float *dX = malloc(sizeof(float) * (size_t)M * K), *dref = malloc(sizeof(float) * (size_t)M * K);
  cd_test_fill(X, (size_t)M * K, 1 + M, 1.0f);
  cd_test_fill(W, (size_t)N * K, 2 + N, 0.1f);
  cd_test_fill(b, (size_t)N, 3, 0.5f);
  cd_test_fill(dY, (size_t)M * N, 4 + K, 1.0f);
  char name[96];

  cd_skinny_linear_forward(kt, out, X, W, b, M, K, N);
  cd_matmul_forward_ref(ref, X, W, b, M, K, N);
  snprintf(name, sizeof name, "%s forward M=%d K=%d N=%d", cd_isa_name(isa), M, K, N);
  cd_test_close(name, out, ref, (size_t)M * N, 2e-6);

  /* backward accumulates: start both from the same non-zero dX */
  cd_test_fill(dX, (size_t)M * K, 5, 1.0f);
  memcpy(dref, dX, sizeof(float) * (size_t)M * K);
  cd_skinny_linear_backward(kt, dX, dY, W, M, K, N);
  cd_matmul_backward_ref(dref, NULL, NULL, dY, X, W, M, K, N);
  snprintf(name, sizeof name, "%s backward M=%d K=%d N=%d", cd_isa_name(isa), M, K, N);
  cd_test_close(name, dX, dref, (size_t)M * K, 5e-6); /* float sums of up to 2048 terms vs a double reference */

  /* thread-count invariance */
  cd_threads_set(1);
  cd_skinny_linear_forward(kt, ref, X, W, b, M, K, N);
  cd_test_fill(dref, (size_t)M * K, 5, 1.0f);
  cd_skinny_linear_backward(kt, dref, dY, W, M, K, N);
  cd_threads_set(2);
  cd_skinny_linear_forward(kt, out, X, W, b, M, K, N);
  cd_test_fill(dX, (size_t)M * K, 5, 1.0f);
  cd_skinny_linear_backward(kt, dX, dY, W, M, K, N);
  CHECK(memcmp(out, ref, sizeof(float) * (size_t)M * N) == 0, "%s forward differs between 1 and 2 threads", name);
  CHECK(memcmp(dX, dref, sizeof(float) * (size_t)M * K) == 0, "%s backward differs between 1 and 2 threads", name);

  /* row-wise: each row alone gives the bits it has among the others (lockstep stacks runs) */
  for (int m = 0; m < M; m++) {
    cd_skinny_linear_forward(kt, ref + (size_t)m * N, X + (size_t)m * K, W, b, 1, K, N);
    cd_test_fill(dref, (size_t)M * K, 5, 1.0f);
    cd_skinny_linear_backward(kt, dref + (size_t)m * K, dY + (size_t)m * N, W, 1, K, N);
    CHECK(memcmp(dref + (size_t)m * K, dX + (size_t)m * K, sizeof(float) * K) == 0,
          "%s backward of row %d alone differs from it among %d rows", name, m, M);
  }
  CHECK(memcmp(out, ref, sizeof(float) * (size_t)M * N) == 0, "%s forward of rows alone differs from all rows", name);
  free(X), free(W), free(b), free(dY), free(out), free(ref), free(dX), free(dref);
}

int main(void) {
  static const int shapes[][3] = {{1, 64, 32}, {5, 512, 512}, {7, 33, 17}, {13, 100, 300},
                                  {25, 512, 1536}, {25, 2048, 512}, {80, 129, 257}, {3, 16, 1}};
  for (int isa = 0; isa < CD_ISA_COUNT; isa++) {
    const cd_kernels *kt = cd_kernels_for((cd_isa)isa);
    if (!kt || kt->from[CD_OP_SKINNY] != (cd_isa)isa) continue;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) check_shape(kt, shapes[s][0], shapes[s][1], shapes[s][2]);
  }
  return cd_test_finish("test_ops_skinny");
}
