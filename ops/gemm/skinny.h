/* Skinny matrix products for prompt tuning: few rows (tens of tokens) against large frozen
 * weights in PyTorch Linear layout [N,K], streamed straight from memory (no packing):
 *   forward  out[M,N]  = X[M,K] · W[N,K]^T + bias   (dot products along K, rows of W contiguous)
 *   backward dX[M,K] += dY[M,N] · W[N,K]            (rank-1 updates over N, 16-wide row strips)
 * The drivers split the work over threads (forward: weight rows, backward: column strips of
 * dX, so each output element is computed by one thread in a fixed order) and run the kernel
 * table's range kernels. Either way each thread streams its own part of the weight once.
 * Where the table has skinny_pack_pairs (AVX-512), the forward with few rows packs the input
 * rows once per product and thread, in its scratch, for all its kernel calls to read (each
 * call packing them again cost a tenth of a 24-row call).
 * The backward reads W's rows in chunks of CD_SKINNY_PCHUNK rows (CD_SKINNY_PCHUNK_MAX for
 * many rows in the AVX-512 kernel), copied strip by strip into an L1-sized scratch as they
 * stream by. A weight that has its rows transposed beside it (cd_weight_transpose_rows: a
 * large weight of a tuning tower, models/clip) takes the forward instead, over W^T's rows (see
 * cd_linear_backward_input). The AMX products of a bf16 tower keep their own: repacking the
 * weight rows into tiles on every product cost 10-20% of it, so each weight's tiles are
 * packed once at load (the _tiled entries below; about twice the bf16 weight's bytes). */
#ifndef CD_SKINNY_H
#define CD_SKINNY_H

#include <stdint.h>

#include "ops/dispatch.h"

void cd_skinny_linear_forward(const cd_kernels *kt, float *out, const float *X, const float *W,
                              const float *bias, int M, int K, int N);
void cd_skinny_linear_backward(const cd_kernels *kt, float *dX, const float *dY, const float *W,
                               int M, int K, int N);

/* The same against bfloat16 weight rows [N,K] (prompt tuning's bf16 text tower): weights
 * widened exactly to float32 as they stream in, float32 inputs, products and sums; each output
 * element is computed by one thread in the same order as the float32 products. */
void cd_skinny_linear_forward_bf16(const cd_kernels *kt, float *out, const float *X, const uint16_t *W,
                                   const float *bias, int M, int K, int N);
void cd_skinny_linear_backward_bf16(const cd_kernels *kt, float *dX, const float *dY, const uint16_t *W,
                                    int M, int K, int N);
/* The same with the weight's tiles packed once (Wt: kt->skinny_tile_weight_bf16, see
 * ops/gemm/weight.h; NULL: as above): the same bits, nothing packed per product. */
void cd_skinny_linear_forward_bf16_tiled(const cd_kernels *kt, float *out, const float *X, const uint16_t *W,
                                         const uint16_t *Wt, const float *bias, int M, int K, int N);
void cd_skinny_linear_backward_bf16_tiled(const cd_kernels *kt, float *dX, const float *dY, const uint16_t *W,
                                          const uint16_t *Wt, int M, int K, int N);

/* Plain C versions over all rows (the ground truth of tests/test_ops_skinny.c). */
void cd_skinny_linear_forward_ref(float *out, const float *X, const float *W, const float *bias,
                                  int M, int K, int N);
void cd_skinny_linear_backward_ref(float *dX, const float *dY, const float *W, int M, int K,
                                   int N);

#endif
