/* Fused attention head compiled for AVX2 (tiles of 4 rows x 2 ymm); see attention_kernels.h. */
#include "ops/attention/attention.h"
#if defined(__x86_64__) || defined(_M_X64)
#define ATT_RB 4
#define ATT_W 16
#include "ops/kernels/attention_impl.h"

void cd_attention_head_avx2(float *out, ptrdiff_t ldo, const float *q, const float *k,
                       const float *v, ptrdiff_t ldqkv, int T, int hs, float scale, int causal,
                       float *probs, float *scratch) {
  attention_head_impl(out, ldo, q, k, v, ldqkv, T, hs, scale, causal, probs, scratch);
}
#else
typedef int cd_attention_avx2_unused; /* ISO C: no empty translation unit */
#endif
