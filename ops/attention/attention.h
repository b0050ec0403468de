/* Fused attention of one head, per ISA level (one portable source, attention_kernels.h,
 * compiled per level): for T query rows of head size hs,
 *   out[t, :] = softmax(scale · q[t] · K^T, keys <= t when causal) · V
 * computed a few rows at a time with the scores, probabilities and output rows in L1: K is
 * transposed once per head into scratch, each row block's scores are formed, softmaxed with a
 * float32-accurate exp, and multiplied by V read in place. probs (T x T, may be NULL) receives
 * the probabilities for backward. q, k, v rows are ldqkv floats apart, out rows ldo. */
#ifndef CD_ATTENTION_H
#define CD_ATTENTION_H

#include <stddef.h>

/* Scratch floats one head needs. */
size_t cd_attention_head_scratch(int T, int hs);

void cd_attention_head_portable(float *out, ptrdiff_t ldo, const float *q, const float *k,
                                const float *v, ptrdiff_t ldqkv, int T, int hs, float scale,
                                int causal, float *probs, float *scratch);
void cd_attention_head_avx2(float *out, ptrdiff_t ldo, const float *q, const float *k,
                            const float *v, ptrdiff_t ldqkv, int T, int hs, float scale,
                            int causal, float *probs, float *scratch);
void cd_attention_head_avx512(float *out, ptrdiff_t ldo, const float *q, const float *k,
                              const float *v, ptrdiff_t ldqkv, int T, int hs, float scale,
                              int causal, float *probs, float *scratch);
void cd_attention_head_neon(float *out, ptrdiff_t ldo, const float *q, const float *k,
                            const float *v, ptrdiff_t ldqkv, int T, int hs, float scale,
                            int causal, float *probs, float *scratch);

#endif
