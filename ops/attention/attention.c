/* Multi-head self-attention core. Heads (b, h) are the pool's items, one head per thread at a
 * time. The forward is the kernel table's fused head (ops/attention/attention.h); the
 * backward runs single-threaded blocked GEMMs per head on strided views of qkv and the
 * table's softmax backward. Either way no head's result depends on the thread count. */
#include <math.h>
#include <stdlib.h>

#include "core/arena.h"
#include "core/cpu.h"
#include "core/pool.h"
#include "ops/attention/attention.h"
#include "ops/dispatch.h"
#include "ops/gemm/gemm.h"
#include "ops/ops.h"

/* P[T,T] = softmax(Q K^T / sqrt(hs)) for head (b, h). */
static void head_probs(float *P, const float *qkv, int b, int h, int T, int C, int NH, int causal,
                       const cd_kernels *kt) {
  int hs = C / NH;
  const float *q = qkv + (size_t)b * T * 3 * C + (size_t)h * hs;
  cd_gemm_ex(kt, 1, 0, 1, T, T, hs, 1.0f / sqrtf((float)hs), q, 3 * C, q + C, 3 * C, 0.0f, P, T);
  kt->softmax_rows(P, T, T, T, causal, 0);
}

static int max_threads(double work) {
  return work > 262144 && !cd_pool_in_item() ? cd_threads_get() : 1;
}

size_t cd_attention_head_scratch(int T, int hs) {
  size_t Tp = ((size_t)T + 63) / 64 * 64; /* the widest level's column padding */
  return ((size_t)hs + 8) * Tp;
}

/* One job for the forward and the backward (each reads the fields it needs); `per` scratch
 * floats per worker. */
typedef struct {
  const cd_kernels *kt;
  float *out, *att, *scratch; /* forward: out and the probabilities (may be NULL) */
  float *dqkv;                /* backward */
  const float *qkv, *dout, *probs;
  int T, C, NH, hs, causal;
  size_t per;
  float scale;
} head_job;

static void head_item(void *ctx, int bh, int w) {
  const head_job *j = ctx;
  int b = bh / j->NH, h = bh % j->NH, C = j->C, T = j->T;
  size_t C3 = (size_t)3 * C;
  const float *q = j->qkv + (size_t)b * T * C3 + (size_t)h * j->hs;
  j->kt->attention_head(j->out + (size_t)b * T * C + (size_t)h * j->hs, C, q, q + C, q + 2 * C, (ptrdiff_t)C3, T,
                        j->hs, j->scale, j->causal, j->att ? j->att + (size_t)bh * T * T : NULL,
                        j->scratch + (size_t)w * j->per);
}

void cd_attention_forward_ws(float *out, float *att, const float *qkv, int B, int T, int C,
                             int NH, int causal, cd_arena *ws) {
  if (B <= 0 || T <= 0 || C <= 0 || NH <= 0) return;
  int hs = C / NH, nbh = B * NH, nt = max_threads((double)nbh * T * T * hs);
  size_t per = cd_attention_head_scratch(T, hs);
  cd_scratch sc = {0};
  float *scratch = cd_scratch_get(&sc, ws, sizeof(float) * (size_t)nt * per);
  if (!scratch) { /* the reference needs no scratch memory */
    cd_attention_forward_ref(out, att, qkv, B, T, C, NH, causal);
    return;
  }
  head_job j = {.kt = cd_kernels_get(), .out = out, .att = att, .scratch = scratch, .qkv = qkv, .T = T, .C = C,
                .NH = NH, .hs = hs, .causal = causal, .per = per, .scale = 1.0f / sqrtf((float)hs)};
  cd_pool_run(nbh, nt, head_item, &j);
  cd_scratch_put(&sc);
}

void cd_attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH,
                          int causal) {
  cd_attention_forward_ws(out, att, qkv, B, T, C, NH, causal, NULL);
}

/* Per head: dP = dO V^T, dV += P^T dO, dS = P ⊙ (dP - rowsum(P ⊙ dP)) / sqrt(hs),
 * dQ += dS K, dK += dS^T Q. Masked probabilities are 0, so their dS is 0 too. */
static void head_back_item(void *ctx, int bh, int w) {
  const head_job *j = ctx;
  const cd_kernels *kt = j->kt;
  int T = j->T, C = j->C, NH = j->NH, hs = j->hs, causal = j->causal;
  int b = bh / NH, h = bh % NH;
  size_t base = (size_t)b * T * 3 * C + (size_t)h * hs;
  const float *q = j->qkv + base, *k = q + C, *v = q + 2 * C, *P;
  const float *dO = j->dout + (size_t)b * T * C + (size_t)h * hs;
  float *dq = j->dqkv + base, *dk = dq + C, *dv = dq + 2 * C;
  float *dP = j->scratch + (size_t)w * j->per;
  if (j->probs) {
    P = j->probs + (size_t)bh * T * T;
  } else {
    head_probs(dP + (size_t)T * T, j->qkv, b, h, T, C, NH, causal, kt);
    P = dP + (size_t)T * T;
  }
  cd_gemm_ex(kt, 1, 0, 1, T, T, hs, 1.0f, dO, C, v, 3 * C, 0.0f, dP, T);
  cd_gemm_ex(kt, 1, 1, 0, T, hs, T, 1.0f, P, T, dO, C, 1.0f, dv, 3 * C);
  kt->softmax_backward_rows(dP, P, T, T, T, causal, j->scale);
  cd_gemm_ex(kt, 1, 0, 0, T, hs, T, 1.0f, dP, T, k, 3 * C, 1.0f, dq, 3 * C);
  cd_gemm_ex(kt, 1, 1, 0, T, hs, T, 1.0f, dP, T, q, 3 * C, 1.0f, dk, 3 * C);
}

void cd_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att,
                           int B, int T, int C, int NH, int causal) {
  if (B <= 0 || T <= 0 || C <= 0 || NH <= 0) return;
  int hs = C / NH, nbh = B * NH, nt = max_threads((double)nbh * T * T * hs);
  if (nt > nbh) nt = nbh;
  size_t per = (size_t)T * T * (att ? 1 : 2);
  float *scratch = malloc(sizeof(float) * (size_t)nt * per);
  if (!scratch) { /* the reference needs no scratch memory */
    cd_attention_backward_ref(dqkv, dout, qkv, att, B, T, C, NH, causal);
    return;
  }
  head_job j = {.kt = cd_kernels_get(), .scratch = scratch, .dqkv = dqkv, .qkv = qkv, .dout = dout, .probs = att,
                .T = T, .C = C, .NH = NH, .hs = hs, .causal = causal, .per = per, .scale = 1.0f / sqrtf((float)hs)};
  cd_pool_run(nbh, nt, head_back_item, &j);
  free(scratch);
}
