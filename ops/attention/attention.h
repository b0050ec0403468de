/* Fused attention of one head, per ISA level (one portable source, ops/kernels/attention_impl.h,
 * compiled per level; the table's attention_head entry): for T query rows of head size hs,
 *   out[t, :] = softmax(scale · q[t] · K^T, keys <= t when causal) · V
 * computed a few rows at a time with the scores, probabilities and output rows in L1: K is
 * transposed once per head into scratch, each row block's scores are formed, softmaxed with a
 * float32-accurate exp, and multiplied by V read in place. probs (T x T, may be NULL) receives
 * the probabilities for backward. q, k, v rows are ldqkv floats apart, out rows ldo. */
#ifndef CD_ATTENTION_H
#define CD_ATTENTION_H

#include <stddef.h>

/* Scratch floats one head needs (the attention_head kernel's scratch). */
size_t cd_attention_head_scratch(int T, int hs);

#endif
