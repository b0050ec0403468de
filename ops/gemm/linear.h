/* The one Linear entry point of the models, inference and prompt tuning alike:
 *   out[M,N] = act(x[M,K] · W[N,K]^T + bias) + resid
 * W packed for a kernel (ops/gemm/weight.h) runs the packed GEMM with the bias, activation
 * and residual add applied to each tile while it is hot; W in its plain float32 layout (the
 * prompt-tuning tower, whose backward reads W's rows) streams through the skinny kernels for
 * few rows and the general GEMM otherwise, with the same epilogue after; W as plain bfloat16
 * rows (the bf16 tuning tower) streams through the bfloat16 skinny kernels at any M (float32
 * inputs, products and sums, weights widened exactly as they are read). */
#ifndef CD_LINEAR_H
#define CD_LINEAR_H

#include "core/arena.h"
#include "ops/gemm/weight.h"

/* resid may be NULL or equal out (x += ...); act must be CD_ACT_NONE when resid is given.
 * ws: scratch arena (NULL: heap). */
void cd_linear_forward(float *out, const float *x, const cd_weight *w, const float *bias, int M,
                       cd_activation act, const float *resid, cd_arena *ws);
/* The same, except that plain float32 weights stream through the row-wise (skinny) kernels
 * at any M: each output row is then computed alone, in one fixed order, so its bits do not
 * depend on M or on the row's place among the others (prompt tuning stacks the rows of runs
 * stepped in lockstep and must match each run alone). Packed weights: as cd_linear_forward. */
void cd_linear_forward_rowwise(float *out, const float *x, const cd_weight *w, const float *bias,
                               int M, cd_activation act, const float *resid, cd_arena *ws);
/* dx[M,K] = dout[M,N] · W (the input gradient, written over dx; W frozen). Needs W's plain
 * rows (float32 or bfloat16: the same array as the forward's, read transposed), or their
 * transpose (cd_weight_transpose_rows), which then streams through the forward's row-wise
 * kernels: each dx row again computed alone in one fixed order, whatever M. */
void cd_linear_backward_input(float *dx, const float *dout, const cd_weight *w, int M);

#endif
