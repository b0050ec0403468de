/* Skinny matrix products for prompt tuning: few rows (tens of tokens) against large frozen
 * weights in PyTorch Linear layout [N,K], streamed straight from memory (no packing):
 *   forward  out[M,N]  = X[M,K] · W[N,K]^T + bias   (dot products along K, rows of W contiguous)
 *   backward dX[M,K] += dY[M,N] · W[N,K]            (rank-1 updates over N, 16-wide row strips)
 * The drivers split the work over threads (forward: weight rows, backward: column strips of
 * dX, so each output element is computed by one thread in a fixed order) and run the kernel
 * table's range kernels. */
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

/* Plain C versions over all rows (the ground truth of tests/test_ops_skinny.c). */
void cd_skinny_linear_forward_ref(float *out, const float *X, const float *W, const float *bias,
                                  int M, int K, int N);
void cd_skinny_linear_backward_ref(float *dX, const float *dY, const float *W, int M, int K,
                                   int N);

#endif
