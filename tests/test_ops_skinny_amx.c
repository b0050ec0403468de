/* The AMX skinny products against bfloat16 weight rows (ops/kernels/kernels_amx.c) through
 * the drivers (ops/gemm/skinny.h):
 *   - against a double-precision reference with the same bf16 weights and the same split of
 *     the activations into bf16 hi + lo: per element within 5e-7 of Σ|w·x| (measured up to 1e-7;
 *     exact bf16 products; dropping the lo half would miss by about 2^-9 / sqrt(K) of it);
 *   - against float32 products with the same bf16 weights: max error within 1e-5 of the
 *     largest output (the activations keep about 16 bits; measured up to about 3e-6);
 *   - 1 vs 2 threads bit for bit, each row alone bit for bit as among the others (lockstep
 *     stacks runs' rows), the one-range table entries (packing inside) bit for bit as the
 *     drivers, on odd shapes (M, K, N not multiples of 16 or 32) and the text towers';
 *   - the weight's tiles packed once (as a bf16 tower is at load) bit for bit as the
 *     per-product packing, likewise at 1 and 2 threads and row by row.
 * Skips (exit 77) on a CPU without AMX or without the OS's permission for the tile data. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/dtype.h"
#include "ops/gemm/skinny.h"
#include "ops/ops.h"
#include "tests/testutil.h"

/* hi and lo of x (round to nearest even), as the kernels split the activations. */
static void split(float x, double *hi, double *lo) {
  float h = cd_bf16_to_f32(cd_f32_to_bf16(x));
  *hi = h;
  *lo = cd_bf16_to_f32(cd_f32_to_bf16(x - h));
}

/* Worst |got - ref| / Σ|terms| over the elements. */
static double worst_scaled(const float *got, const double *ref, const double *mag, size_t n) {
  double w = 0;
  for (size_t i = 0; i < n; i++) {
    double e = fabs(got[i] - ref[i]) / (mag[i] > 0 ? mag[i] : 1.0);
    if (!(e <= w)) w = e; /* NaN counts as worst */
  }
  return w;
}

static void check_shape(const cd_kernels *kt, int M, int K, int N) {
  size_t nx = (size_t)M * K, nw = (size_t)N * K, ny = (size_t)M * N;
  float *X = malloc(sizeof(float) * nx), *W = malloc(sizeof(float) * nw), *b = malloc(sizeof(float) * N);
  float *dY = malloc(sizeof(float) * ny), *out = malloc(sizeof(float) * ny), *o2 = malloc(sizeof(float) * ny);
  float *dX = malloc(sizeof(float) * nx), *d2 = malloc(sizeof(float) * nx), *dX0 = malloc(sizeof(float) * nx);
  float *f32 = malloc(sizeof(float) * (nx > ny ? nx : ny));
  double *ref = malloc(sizeof(double) * (nx > ny ? nx : ny)), *mag = malloc(sizeof(double) * (nx > ny ? nx : ny));
  uint16_t *Wh = malloc(sizeof(uint16_t) * nw);
  cd_test_fill(X, nx, 11 + M, 1.0f);
  cd_test_fill(W, nw, 12 + N, 0.1f);
  cd_test_fill(b, (size_t)N, 13, 0.5f);
  cd_test_fill(dY, ny, 14 + K, 1.0f);
  cd_test_fill(dX0, nx, 15, 1.0f);
  for (size_t i = 0; i < nw; i++) Wh[i] = cd_f32_to_bf16(W[i]), W[i] = cd_bf16_to_f32(Wh[i]);
  char name[96];

  /* forward */
  cd_skinny_linear_forward_bf16(kt, out, X, Wh, b, M, K, N);
  for (int m = 0; m < M; m++)
    for (int n = 0; n < N; n++) {
      double s = 0, a = 0;
      for (int k = 0; k < K; k++) {
        double hi, lo, w = W[(size_t)n * K + k];
        split(X[(size_t)m * K + k], &hi, &lo);
        s += w * hi + w * lo;
        a += fabs(w * (hi + lo));
      }
      ref[(size_t)m * N + n] = s + b[n];
      mag[(size_t)m * N + n] = a + fabs(b[n]);
    }
  double e = worst_scaled(out, ref, mag, ny);
  snprintf(name, sizeof name, "amx forward M=%d K=%d N=%d", M, K, N);
  printf("  %-44s vs split reference %.2e of sum|w x| (tol 5e-07)\n", name, e);
  CHECK(e <= 5e-7, "%s: %.3e of sum|w x| from the split reference", name, e);
  cd_matmul_forward_ref(f32, X, W, b, M, K, N);
  snprintf(name, sizeof name, "amx forward M=%d K=%d N=%d vs fp32", M, K, N);
  cd_test_close(name, out, f32, ny, 1e-5);

  /* backward accumulates into dX */
  memcpy(dX, dX0, sizeof(float) * nx);
  cd_skinny_linear_backward_bf16(kt, dX, dY, Wh, M, K, N);
  for (int m = 0; m < M; m++)
    for (int k = 0; k < K; k++) {
      double s = dX0[(size_t)m * K + k], a = fabs(s);
      for (int n = 0; n < N; n++) {
        double hi, lo, w = W[(size_t)n * K + k];
        split(dY[(size_t)m * N + n], &hi, &lo);
        s += w * hi + w * lo;
        a += fabs(w * (hi + lo));
      }
      ref[(size_t)m * K + k] = s;
      mag[(size_t)m * K + k] = a;
    }
  e = worst_scaled(dX, ref, mag, nx);
  snprintf(name, sizeof name, "amx backward M=%d K=%d N=%d", M, K, N);
  printf("  %-44s vs split reference %.2e of sum|w g| (tol 5e-07)\n", name, e);
  CHECK(e <= 5e-7, "%s: %.3e of sum|w g| from the split reference", name, e);
  memcpy(f32, dX0, sizeof(float) * nx);
  cd_matmul_backward_ref(f32, NULL, NULL, dY, X, W, M, K, N);
  snprintf(name, sizeof name, "amx backward M=%d K=%d N=%d vs fp32", M, K, N);
  cd_test_close(name, dX, f32, nx, 1e-5);

  /* the one-range entries (packing inside) give the drivers' bits */
  kt->skinny_forward_bf16(o2, X, (size_t)K, Wh, b, M, K, N, 0, N);
  memcpy(d2, dX0, sizeof(float) * nx);
  kt->skinny_backward_bf16(d2, dY, Wh, M, K, N, 0, K, NULL);
  CHECK(memcmp(o2, out, sizeof(float) * ny) == 0, "amx M=%d K=%d N=%d: one-range forward differs from the driver", M, K, N);
  CHECK(memcmp(d2, dX, sizeof(float) * nx) == 0, "amx M=%d K=%d N=%d: one-range backward differs from the driver", M, K, N);

  /* the weight's tiles packed once (as at load) give the same bits, alone and at 1 and 2
   * threads below */
  uint16_t *Wt = aligned_alloc(64, (kt->skinny_tile_weight_bytes(K, N) + 63) & ~(size_t)63);
  CHECK(Wt != NULL, "out of memory");
  memset(Wt, 0xA5, kt->skinny_tile_weight_bytes(K, N)); /* nothing unwritten may be read */
  kt->skinny_tile_weight_bf16(Wt, Wh, K, N);
  cd_skinny_linear_forward_bf16_tiled(kt, o2, X, Wh, Wt, b, M, K, N);
  memcpy(d2, dX0, sizeof(float) * nx);
  cd_skinny_linear_backward_bf16_tiled(kt, d2, dY, Wh, Wt, M, K, N);
  CHECK(memcmp(o2, out, sizeof(float) * ny) == 0, "amx M=%d K=%d N=%d: forward from the weight's tiles differs", M, K, N);
  CHECK(memcmp(d2, dX, sizeof(float) * nx) == 0, "amx M=%d K=%d N=%d: backward from the weight's tiles differs", M, K, N);

  /* 1 vs 2 threads */
  int threads = cd_threads_get();
  cd_threads_set(1);
  cd_skinny_linear_forward_bf16(kt, o2, X, Wh, b, M, K, N);
  memcpy(d2, dX0, sizeof(float) * nx);
  cd_skinny_linear_backward_bf16(kt, d2, dY, Wh, M, K, N);
  CHECK(memcmp(o2, out, sizeof(float) * ny) == 0, "amx M=%d K=%d N=%d: forward differs between 1 and %d threads", M, K, N, threads);
  CHECK(memcmp(d2, dX, sizeof(float) * nx) == 0, "amx M=%d K=%d N=%d: backward differs between 1 and %d threads", M, K, N, threads);
  cd_threads_set(2);
  cd_skinny_linear_forward_bf16(kt, o2, X, Wh, b, M, K, N);
  memcpy(d2, dX0, sizeof(float) * nx);
  cd_skinny_linear_backward_bf16(kt, d2, dY, Wh, M, K, N);
  CHECK(memcmp(o2, out, sizeof(float) * ny) == 0, "amx M=%d K=%d N=%d: forward differs with 2 threads", M, K, N);
  CHECK(memcmp(d2, dX, sizeof(float) * nx) == 0, "amx M=%d K=%d N=%d: backward differs with 2 threads", M, K, N);
  for (int t = 1; t <= 2; t++) {
    cd_threads_set(t);
    cd_skinny_linear_forward_bf16_tiled(kt, o2, X, Wh, Wt, b, M, K, N);
    memcpy(d2, dX0, sizeof(float) * nx);
    cd_skinny_linear_backward_bf16_tiled(kt, d2, dY, Wh, Wt, M, K, N);
    CHECK(memcmp(o2, out, sizeof(float) * ny) == 0, "amx M=%d K=%d N=%d: tiled forward differs with %d threads", M, K, N, t);
    CHECK(memcmp(d2, dX, sizeof(float) * nx) == 0, "amx M=%d K=%d N=%d: tiled backward differs with %d threads", M, K, N, t);
  }
  cd_threads_set(threads);

  /* each row alone (a few of them on the large shapes) */
  int step = M > 40 ? M / 7 : 1;
  for (int m = 0; m < M; m += step) {
    cd_skinny_linear_forward_bf16(kt, o2, X + (size_t)m * K, Wh, b, 1, K, N);
    memcpy(d2, dX0 + (size_t)m * K, sizeof(float) * K);
    cd_skinny_linear_backward_bf16(kt, d2, dY + (size_t)m * N, Wh, 1, K, N);
    CHECK(memcmp(o2, out + (size_t)m * N, sizeof(float) * N) == 0, "amx M=%d K=%d N=%d: forward of row %d alone differs", M, K, N, m);
    CHECK(memcmp(d2, dX + (size_t)m * K, sizeof(float) * K) == 0, "amx M=%d K=%d N=%d: backward of row %d alone differs", M, K, N, m);
    cd_skinny_linear_forward_bf16_tiled(kt, o2, X + (size_t)m * K, Wh, Wt, b, 1, K, N);
    memcpy(d2, dX0 + (size_t)m * K, sizeof(float) * K);
    cd_skinny_linear_backward_bf16_tiled(kt, d2, dY + (size_t)m * N, Wh, Wt, 1, K, N);
    CHECK(memcmp(o2, out + (size_t)m * N, sizeof(float) * N) == 0, "amx M=%d K=%d N=%d: tiled forward of row %d alone differs", M, K, N, m);
    CHECK(memcmp(d2, dX + (size_t)m * K, sizeof(float) * K) == 0, "amx M=%d K=%d N=%d: tiled backward of row %d alone differs", M, K, N, m);
  }
  free(X), free(W), free(b), free(dY), free(out), free(o2), free(dX), free(d2), free(dX0), free(f32);
  free(ref), free(mag), free(Wh), free(Wt);
}

int main(void) {
  const cd_kernels *kt = cd_kernels_for(CD_ISA_AMX);
  if (!kt || kt->from[CD_OP_SKINNY_BF16] != CD_ISA_AMX) {
    printf("test_ops_skinny_amx: no AMX with the OS's tile data permission (or not built): skipped\n");
    return 77;
  }
  /* odd and tiny shapes, the toy CLIP's (width 96, MLP 384), a ViT-B/32 text tower's at one
   * run's rows and at 12 runs stacked */
  static const int shapes[][3] = {{1, 64, 32},    {2, 1, 3},       {3, 16, 1},      {7, 33, 17},
                                  {13, 100, 300}, {17, 96, 384},   {40, 384, 96},   {80, 129, 257},
                                  {25, 512, 1536}, {25, 2048, 512}, {33, 512, 2048}, {150, 512, 512}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) check_shape(kt, shapes[s][0], shapes[s][1], shapes[s][2]);
  return cd_test_finish("test_ops_skinny_amx");
}
