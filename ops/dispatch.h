/* One dispatch idiom for every op: a table of kernels per ISA level.
 *
 * A table is built for a level by starting from the portable C kernels and walking the
 * level's chain upwards (ref -> avx2 -> avx512 -> avx512bf16 -> amx, or ref -> neon), each
 * level overwriting the entries it has a kernel for. So a level without its own kernel for an
 * op runs the best kernel below it, never silently plain C, and `from[op]` says which level
 * that is (`clipdebias info` prints it; tests/test_kernels.c checks every entry the CPU can
 * run against the C reference).
 *
 * Call sites never test an ISA: they take cd_kernels_get() (the best level, after the
 * CLIPDEBIAS_ISA override) or a table for an explicit level (tests, benches), and call the
 * entry. Forward and backward kernels alike are entries. The kernels themselves live below
 * the table, in ops/kernels/ (one file per level, declarations in ops/kernels/kernels.h,
 * which this header includes); the drivers in ops/<op>/ sit above it and split the work over
 * the thread pool. A new level (e.g. AMX tiles) is one enum value in core/cpu.h, one fill
 * function in dispatch.c and one file in ops/kernels/; nothing at the call sites changes. */
#ifndef CD_OPS_DISPATCH_H
#define CD_OPS_DISPATCH_H

#include <stddef.h>

#include "core/cpu.h"
#include "ops/kernels/kernels.h"
#include "ops/ops.h"

const char *cd_precision_name(cd_precision p);
/* Precision by name ("fp32", "bf16", "bf16x3", "fp16"); -1 when unknown. */
int cd_precision_from_name(const char *name);

/* Ops of the table, for `from` and for printing. */
typedef enum {
  CD_OP_GEMM_FP32 = 0, CD_OP_GEMM_BF16, CD_OP_GEMM_BF16X3, CD_OP_GEMM_FP16, /* = CD_OP_GEMM_FP32 + precision */
  CD_OP_EPILOGUE, CD_OP_LAYERNORM, CD_OP_SOFTMAX, CD_OP_ACTIVATION, CD_OP_ATTENTION,
  CD_OP_SKINNY, CD_OP_LAYERNORM_BACKWARD, CD_OP_SOFTMAX_BACKWARD, CD_OP_SKINNY_BF16, CD_OP_ATTENTION_SEGMENTS,
  CD_OP_COUNT
} cd_op;
const char *cd_op_name(cd_op op);

typedef struct cd_kernels {
  cd_isa isa;                                /* the level this table was built for */
  cd_isa from[CD_OP_COUNT];                  /* level that provided each entry */
  /* Weight products per precision (NULL: no kernel at or below this level). */
  const cd_gemm_kernel *gemm[CD_PREC_COUNT];
  /* c[i, j] = act(c[i, j] + bias[j]) over an mr x nr tile (bias may be NULL): the GEMM
   * epilogue, run while the tile is in L1. */
  void (*bias_act_tile)(float *c, ptrdiff_t ldc, int mr, int nr, const float *bias, cd_activation act);
  /* LayerNorm of M rows of C (mean/rstd may be NULL). */
  void (*layernorm_rows)(float *out, float *mean, float *rstd, const float *inp, const float *w,
                         const float *b, int M, int C, float eps);
  /* In-place softmax of M rows of x (row stride ld); row i keeps its first len(i) columns,
   * len(i) = causal ? i + 1 + diag : N, and the columns after that become exactly 0. */
  void (*softmax_rows)(float *x, int M, int N, ptrdiff_t ld, int causal, int diag);
  /* out = act(in) and din += dout * act'(in) over n elements (out may equal in). */
  void (*act_forward)(float *out, const float *in, size_t n, cd_activation act);
  void (*act_backward)(float *din, const float *dout, const float *in, size_t n, cd_activation act);
  /* Training: out = act(in) and deriv = act'(in); din += dout * deriv (the same bits). */
  void (*act_forward_deriv)(float *out, float *deriv, const float *in, size_t n, cd_activation act);
  void (*act_backward_deriv)(float *din, const float *dout, const float *deriv, size_t n);
  /* One attention head of T rows (see ops/attention/attention.h); NULL: the portable path. */
  void (*attention_head)(float *out, ptrdiff_t ldo, const float *q, const float *k, const float *v,
                         ptrdiff_t ldqkv, int T, int hs, float scale, int causal, float *probs,
                         float *scratch);
  /* Weight-streaming products for few rows (ops/gemm/skinny.h), single-threaded over a
   * range of weight rows / gradient column strips; the drivers split the work. */
  void (*skinny_forward)(float *out, const float *X, size_t ldx, const float *W,
                         const float *bias, int M, int K, int N, int n0, int n1);
  void (*skinny_backward)(float *dX, const float *dY, const float *W, int M, int K, int N,
                          int j0, int j1, float *strip);
  /* The same against bfloat16 weight rows, float32 everywhere else (kernels.h). */
  void (*skinny_forward_bf16)(float *out, const float *X, size_t ldx, const uint16_t *W,
                              const float *bias, int M, int K, int N, int n0, int n1);
  void (*skinny_backward_bf16)(float *dX, const float *dY, const uint16_t *W, int M, int K, int N,
                               int j0, int j1, float *strip);
  /* AVX-512 only (NULL elsewhere): the forward on input rows packed once per product
   * (skinny_pairs_floats(M, K) floats; kernels.h), which the drivers use when set. */
  size_t (*skinny_pairs_floats)(int M, int K);
  void (*skinny_pack_pairs)(float *xp, const float *X, size_t ldx, int M, int K);
  void (*skinny_forward_pairs)(float *out, const float *xp, const float *X, size_t ldx, const float *W,
                               const float *bias, int M, int K, int N, int n0, int n1);
  void (*skinny_forward_pairs_bf16)(float *out, const float *xp, const float *X, size_t ldx, const uint16_t *W,
                                    const float *bias, int M, int K, int N, int n0, int n1);
  /* AMX only (NULL below it): the bf16 products on activations packed once per product as
   * bfloat16 hi + lo tiles (kernels.h); the drivers use them when set. */
  void (*skinny_pack_bf16)(uint16_t *dst, const float *X, size_t ldx, int M, int K, int b0, int b1);
  void (*skinny_forward_bf16_packed)(float *out, const uint16_t *Xp, const uint16_t *W, const uint16_t *Wt,
                                     const float *bias, int M, int K, int N, int n0, int n1);
  void (*skinny_backward_bf16_packed)(float *dX, const uint16_t *dYp, const uint16_t *W, const uint16_t *Wt,
                                      int M, int K, int N, int j0, int j1, uint16_t *scratch);
  /* and the weight's tiles packed once for both (Wt above; kernels.h) */
  size_t (*skinny_tile_weight_bytes)(int K, int N);
  void (*skinny_tile_weight_bf16)(uint16_t *dst, const uint16_t *W, int K, int N);
  /* LayerNorm's backward: input gradient of M rows; weight and bias gradients of columns
   * [c0, c1) summed over the rows in order; the forward's statistics again for a backward
   * called without them (see ops/kernels/kernels.h). */
  void (*layernorm_backward_rows)(float *dinp, const float *dout, const float *inp, const float *weight,
                                  const float *mean, const float *rstd, int M, int C);
  void (*layernorm_backward_cols)(float *dweight, float *dbias, const float *dout, const float *inp,
                                  const float *mean, const float *rstd, int M, int C, int c0, int c1);
  void (*layernorm_stats)(float *mean, float *rstd, const float *inp, int M, int C, float eps);
  /* Softmax's backward in place on M rows: d = p ⊙ (d − Σ p·d) · scale, 0 past the mask. */
  void (*softmax_backward_rows)(float *d, const float *p, int M, int N, ptrdiff_t ld, int causal, float scale);
  /* Segment-causal attention of one copy and head, forward (a block of rows) and backward
   * (kernels.h: cd_segatt). */
  void (*segatt_forward)(const cd_segatt *a, int h, int i0, int i1, float *out, float *att, float *scratch);
  void (*segatt_backward)(const cd_segatt *a, int h, const float *dout, const float *att, float *dqkv,
                          float *scratch);
} cd_kernels;

/* What runs for op in table k: the kernel's name for the GEMMs ("avx512 fp32 10x32"), else
 * the level's name. */
const char *cd_kernels_describe(const cd_kernels *k, cd_op op);

/* The table of the best level (cd_cpu_best_isa(), so CLIPDEBIAS_ISA applies). */
const cd_kernels *cd_kernels_get(void);
/* The table of level isa, or NULL when this build or this CPU cannot run it. */
const cd_kernels *cd_kernels_for(cd_isa isa);

#endif
