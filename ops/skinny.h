/* Skinny matrix products for prompt tuning: few rows (tens of tokens) against large frozen
 * weights in PyTorch Linear layout [N,K]. A general GEMM repacks the weight on every call,
 * which at this row count costs as much as the arithmetic; these kernels stream the weight
 * straight from memory instead:
 *   forward  out[M,N]  = X[M,K] · W[N,K]^T + bias   (dot products along K, rows of W contiguous)
 *   backward dX[M,K] += dY[M,N] · W[N,K]            (rank-1 updates over N, 16-wide row strips)
 * AVX2+FMA variants are picked at run time (core/cpu.h); the plain C versions are the
 * reference and the fallback. */
#ifndef CD_SKINNY_H
#define CD_SKINNY_H

#include "core/cpu.h"

/* isa: cd_cpu_best_isa(), looked up once by the caller (CPUID is slow under virtualisation). */
void cd_skinny_linear_forward(cd_isa isa, float *out, const float *X, const float *W,
                              const float *bias, int M, int K, int N);
void cd_skinny_linear_backward(cd_isa isa, float *dX, const float *dY, const float *W, int M,
                               int K, int N);

/* Plain C versions (also the fallback). */
void cd_skinny_linear_forward_ref(float *out, const float *X, const float *W, const float *bias,
                                  int M, int K, int N);
void cd_skinny_linear_backward_ref(float *dX, const float *dY, const float *W, int M, int K,
                                   int N);
/* AVX2 kernels (ops/skinny_avx2.c); only call when the CPU has AVX2 + FMA. */
void cd_skinny_linear_forward_avx2(float *out, const float *X, const float *W,
                                   const float *bias, int M, int K, int N);
void cd_skinny_linear_backward_avx2(float *dX, const float *dY, const float *W, int M, int K,
                                    int N);

#endif
