/* The ops of the CLIP towers, forward and backward, llm.c style: each <op>_forward has an
 * <op>_backward with the same shape arguments. Shape letters:
 *   M rows (tokens, B*T), K input features, N output features, C channels,
 *   B batch, T sequence length, NH heads (head size C/NH).
 * Every op has a plain C reference (<op>_ref, the ground truth in tests) and the dispatched
 * entry point (cd_<op>_forward) that picks the fastest variant for this CPU at run time.
 * Backward functions ACCUMULATE (+=) into their gradient outputs, so callers zero them first;
 * weight-gradient outputs may be NULL (prompt tuning needs only input gradients). */
#ifndef CD_OPS_H
#define CD_OPS_H

#include <stddef.h>

#include "core/arena.h"

/* Activation of the MLP (and of GEMM epilogues): QuickGELU x·σ(1.702x) (OpenAI CLIP),
 * exact erf GELU, or none. */
typedef enum { CD_ACT_QUICKGELU = 0, CD_ACT_GELU = 1, CD_ACT_NONE = 2 } cd_activation;

/* out[M,N] = inp[M,K] · weight[N,K]^T + bias[N]  (weight in PyTorch Linear layout [out,in];
 * bias may be NULL). */
void cd_matmul_forward(float *out, const float *inp, const float *weight, const float *bias,
                       int M, int K, int N);
/* dinp[M,K] += dout·weight; dweight[N,K] += dout^T·inp; dbias[N] += Σ_rows dout. */
void cd_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, int M, int K, int N);

/* LayerNorm over the last dim C; mean/rstd [M] are saved for backward (may be NULL). */
void cd_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                          const float *weight, const float *bias, int M, int C, float eps);
void cd_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                           const float *inp, const float *weight, const float *mean,
                           const float *rstd, int M, int C);

/* QuickGELU x·σ(1.702x) and exact GELU (erf), elementwise over n; out may equal inp. */
void cd_activation_forward(float *out, const float *inp, size_t n, cd_activation act);
void cd_activation_backward(float *dinp, const float *dout, const float *inp, size_t n,
                            cd_activation act);
/* Training: out = act(inp) and deriv = act'(inp) (deriv may be inp: overwritten in place), then
 * in the backward dinp += dout * deriv: the same bits as cd_activation_forward and
 * cd_activation_backward, without evaluating the exponential a second time. */
void cd_activation_forward_deriv(float *out, float *deriv, const float *inp, size_t n, cd_activation act);
void cd_activation_backward_deriv(float *dinp, const float *dout, const float *deriv, size_t n);
void cd_quickgelu_forward(float *out, const float *inp, size_t n);
void cd_quickgelu_backward(float *dinp, const float *dout, const float *inp, size_t n);
void cd_gelu_forward(float *out, const float *inp, size_t n);
void cd_gelu_backward(float *dinp, const float *dout, const float *inp, size_t n);

/* Multi-head self-attention core (after the qkv projection, before the out projection).
 * qkv [B,T,3C] holds q | k | v, each C wide, split into NH heads of C/NH; out [B,T,C].
 * att [B,NH,T,T] receives the softmax probabilities for backward (may be NULL at inference).
 * causal: position t attends to positions <= t only.
 * Scores are q·k / sqrt(C/NH). */
void cd_attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH,
                          int causal);
/* The same with scratch from an arena (NULL: heap). */
void cd_attention_forward_ws(float *out, float *att, const float *qkv, int B, int T, int C,
                             int NH, int causal, cd_arena *ws);
void cd_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att,
                           int B, int T, int C, int NH, int causal);

/* out[i] = a[i] + b[i]; the backward of a residual add is a copy/accumulate, done by callers. */
void cd_add_forward(float *out, const float *a, const float *b, size_t n);
/* Row softmax over N for M rows. */
void cd_softmax_forward(float *out, const float *inp, int M, int N);

/* Plain C references: same contracts, simplest loops, single-threaded. */
void cd_matmul_forward_ref(float *out, const float *inp, const float *weight, const float *bias,
                           int M, int K, int N);
void cd_matmul_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout,
                            const float *inp, const float *weight, int M, int K, int N);
void cd_layernorm_forward_ref(float *out, float *mean, float *rstd, const float *inp,
                              const float *weight, const float *bias, int M, int C, float eps);
void cd_layernorm_backward_ref(float *dinp, float *dweight, float *dbias, const float *dout,
                               const float *inp, const float *weight, const float *mean,
                               const float *rstd, int M, int C);
void cd_attention_forward_ref(float *out, float *att, const float *qkv, int B, int T, int C,
                              int NH, int causal);
void cd_attention_backward_ref(float *dqkv, const float *dout, const float *qkv,
                               const float *att, int B, int T, int C, int NH, int causal);

void cd_quickgelu_forward_ref(float *out, const float *inp, size_t n);
void cd_quickgelu_backward_ref(float *dinp, const float *dout, const float *inp, size_t n);
void cd_gelu_forward_ref(float *out, const float *inp, size_t n);
void cd_gelu_backward_ref(float *dinp, const float *dout, const float *inp, size_t n);
void cd_add_forward_ref(float *out, const float *a, const float *b, size_t n);
void cd_softmax_forward_ref(float *out, const float *inp, int M, int N);

#endif
