/* out = act(A · W^T + bias) + resid against a weight packed once for its kernel (see
 * gemm.h, weight.h): only A is packed per call, into scratch from the caller's arena. */
#include <stdio.h>
#include <stdlib.h>

#include "ops/gemm/gemm.h"
#include "ops/gemm/weight.h"

static size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

static size_t a_bytes(const cd_gemm_kernel *k, int M, int K) {
  return round_up((size_t)M, (size_t)k->mr) * round_up((size_t)K, (size_t)k->kstep) * k->a_bytes;
}

static size_t widen_bytes(const cd_gemm_kernel *k, int K, int nt) {
  if (!k->widen_b) return 0;
  int kc = cd_gemm_kc((int)round_up((size_t)K, (size_t)k->kstep), k->kc);
  return (size_t)nt * (size_t)kc * (size_t)k->nr * sizeof(float);
}

size_t cd_gemm_weight_scratch(const cd_gemm_kernel *k, int M, int K) {
  return round_up(a_bytes(k, M, K), 64) + round_up(widen_bytes(k, K, cd_threads_get()), 64);
}

void cd_gemm_weight(const cd_weight *w, const float *A, ptrdiff_t lda, int M, float *out,
                    ptrdiff_t ldo, const float *bias, cd_activation act, const float *resid,
                    cd_arena *ws) {
  const cd_gemm_kernel *k = w->kernel;
  int N = w->rows, K = w->cols;
  if (M <= 0 || N <= 0) return;
  int Kp = (int)round_up((size_t)K, (size_t)k->kstep), kc = cd_gemm_kc(Kp, k->kc);
  int nt = cd_gemm_threads(0, M, N, K);
  /* Rows that fill whole tiles are read in place by kernels that can: nothing to pack. */
  int in_place = k->a_in_place && M % k->mr == 0 && Kp == K;
  cd_scratch sa = {0}, sw = {0};
  unsigned char *ap = in_place ? NULL : cd_scratch_get(&sa, ws, a_bytes(k, M, K));
  float *wbuf = k->widen_b ? cd_scratch_get(&sw, ws, widen_bytes(k, K, nt)) : NULL;
  if ((!in_place && !ap) || (k->widen_b && !wbuf)) {
    cd_scratch_put(&sw);
    cd_scratch_put(&sa);
    if (M <= k->mr) { /* not even one row panel of scratch: nothing sane is left to do */
      fprintf(stderr, "clipdebias: out of memory (GEMM scratch of %zu bytes)\n", a_bytes(k, M, K));
      abort();
    }
    /* Row halves need half the scratch each; each output row is computed the same way. */
    int h = (int)round_up((size_t)(M / 2), (size_t)k->mr);
    cd_gemm_weight(w, A, lda, h, out, ldo, bias, act, resid, ws);
    cd_gemm_weight(w, A + (size_t)h * lda, lda, M - h, out + (size_t)h * ldo, ldo, bias, act,
                   resid ? resid + (size_t)h * ldo : NULL, ws);
    return;
  }
  cd_gemm_job g = {k, cd_kernels_get(), M, N, Kp, kc, ap, (int)round_up((size_t)M, (size_t)k->mr),
                   w->packed, round_up((size_t)K, (size_t)k->kstep) * k->nr * k->b_bytes,
                   out, ldo, 0, resid, bias, act, wbuf, A, lda, K, in_place};
  cd_gemm_run(&g, nt);
  cd_scratch_put(&sw);
  cd_scratch_put(&sa);
}
