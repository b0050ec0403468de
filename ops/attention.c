/* Multi-head self-attention core. Heads (b, h) run in parallel, one head per thread at a
 * time; inside a head the score and output products are single-threaded blocked GEMMs on
 * strided views of qkv, so no head's result depends on the thread count. */
#include <math.h>
#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "ops/gemm.h"
#include "ops/ops.h"
#include "ops/vecmath.h"

/* Row softmax of s[T,T] in place; with causal, row t keeps columns <= t and the rest are
 * exactly 0 (as PyTorch's -inf mask gives). */
CD_VEC_FN static void softmax_rows(float *s, int T, int causal) {
  for (int t = 0; t < T; t++) {
    float *r = s + (size_t)t * T, mx = -INFINITY, sum = 0.0f;
    int len = causal ? t + 1 : T;
    for (int j = 0; j < len; j++) mx = r[j] > mx ? r[j] : mx;
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j < len; j++) sum += r[j] = cd_expf_fast(r[j] - mx);
    float inv = 1.0f / sum;
    for (int j = 0; j < len; j++) r[j] *= inv;
    for (int j = len; j < T; j++) r[j] = 0.0f;
  }
}

/* P[T,T] = softmax(Q K^T / sqrt(hs)) for head (b, h). */
static void head_probs(float *P, const float *qkv, int b, int h, int T, int C, int NH, int causal,
                       cd_isa isa) {
  int hs = C / NH;
  const float *q = qkv + (size_t)b * T * 3 * C + (size_t)h * hs;
  cd_gemm_ex(isa, 1, 0, 1, T, T, hs, 1.0f / sqrtf((float)hs), q, 3 * C, q + C, 3 * C, 0.0f, P, T);
  softmax_rows(P, T, causal);
}

static int max_threads(double work) {
#ifdef _OPENMP
  if (work > 262144 && !omp_in_parallel()) return omp_get_max_threads();
#endif
  (void)work;
  return 1;
}

static int thread_id(void) {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

void cd_attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH,
                          int causal) {
  if (B <= 0 || T <= 0 || C <= 0 || NH <= 0) return;
  int hs = C / NH, nbh = B * NH, nt = max_threads((double)nbh * T * T * hs);
  cd_isa isa = cd_cpu_best_isa();
  float *scratch = att ? NULL : malloc(sizeof(float) * (size_t)nt * T * T);
  if (!att && !scratch) { /* the reference needs no scratch memory */
    cd_attention_forward_ref(out, NULL, qkv, B, T, C, NH, causal);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int bh = 0; bh < nbh; bh++) {
    int b = bh / NH, h = bh % NH;
    float *P = att ? att + (size_t)bh * T * T : scratch + (size_t)thread_id() * T * T;
    const float *v = qkv + (size_t)b * T * 3 * C + 2 * C + (size_t)h * hs;
    head_probs(P, qkv, b, h, T, C, NH, causal, isa);
    cd_gemm_ex(isa, 1, 0, 0, T, hs, T, 1.0f, P, T, v, 3 * C, 0.0f,
               out + (size_t)b * T * C + (size_t)h * hs, C);
  }
  free(scratch);
}

/* Per head: dP = dO V^T, dV += P^T dO, dS = P ⊙ (dP - rowsum(P ⊙ dP)) / sqrt(hs),
 * dQ += dS K, dK += dS^T Q. Masked probabilities are 0, so their dS is 0 too. */
void cd_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att,
                           int B, int T, int C, int NH, int causal) {
  if (B <= 0 || T <= 0 || C <= 0 || NH <= 0) return;
  int hs = C / NH, nbh = B * NH, nt = max_threads((double)nbh * T * T * hs);
  size_t per = (size_t)T * T * (att ? 1 : 2);
  float scale = 1.0f / sqrtf((float)hs);
  cd_isa isa = cd_cpu_best_isa();
  float *scratch = malloc(sizeof(float) * (size_t)nt * per);
  if (!scratch) { /* the reference needs no scratch memory */
    cd_attention_backward_ref(dqkv, dout, qkv, att, B, T, C, NH, causal);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int bh = 0; bh < nbh; bh++) {
    int b = bh / NH, h = bh % NH;
    size_t base = (size_t)b * T * 3 * C + (size_t)h * hs;
    const float *q = qkv + base, *k = q + C, *v = q + 2 * C, *P;
    const float *dO = dout + (size_t)b * T * C + (size_t)h * hs;
    float *dq = dqkv + base, *dk = dq + C, *dv = dq + 2 * C;
    float *dP = scratch + (size_t)thread_id() * per;
    if (att) {
      P = att + (size_t)bh * T * T;
    } else {
      head_probs(dP + (size_t)T * T, qkv, b, h, T, C, NH, causal, isa);
      P = dP + (size_t)T * T;
    }
    cd_gemm_ex(isa, 1, 0, 1, T, T, hs, 1.0f, dO, C, v, 3 * C, 0.0f, dP, T);
    cd_gemm_ex(isa, 1, 1, 0, T, hs, T, 1.0f, P, T, dO, C, 1.0f, dv, 3 * C);
    for (int t = 0; t < T; t++) {
      const float *p = P + (size_t)t * T;
      float *d = dP + (size_t)t * T, dot = 0.0f;
      int len = causal ? t + 1 : T;
      for (int j = 0; j < len; j++) dot += p[j] * d[j];
      for (int j = 0; j < len; j++) d[j] = p[j] * (d[j] - dot) * scale;
      for (int j = len; j < T; j++) d[j] = 0.0f;
    }
    cd_gemm_ex(isa, 1, 0, 0, T, hs, T, 1.0f, dP, T, k, 3 * C, 1.0f, dq, 3 * C);
    cd_gemm_ex(isa, 1, 1, 0, T, hs, T, 1.0f, dP, T, q, 3 * C, 1.0f, dk, 3 * C);
  }
  free(scratch);
}
