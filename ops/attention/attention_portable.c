/* Fused attention head compiled for the portable level (baseline flags); see attention_kernels.h. */
#include "ops/attention/attention.h"
#define ATT_RB 4
#define ATT_W 8
#include "ops/kernels/attention_impl.h"

void cd_attention_head_portable(float *out, ptrdiff_t ldo, const float *q, const float *k,
                       const float *v, ptrdiff_t ldqkv, int T, int hs, float scale, int causal,
                       float *probs, float *scratch) {
  attention_head_impl(out, ldo, q, k, v, ldqkv, T, hs, scale, causal, probs, scratch);
}
