/* Blocked single-precision GEMM (the BLIS design: pack A into MR-row micro-panels and B into
 * NR-column micro-panels, block for the caches with MC/KC/NC, and run an MR x NR register
 * tile micro-kernel per ISA).
 *
 *   C[M,N] = alpha * op(A)[M,K] · op(B)[K,N] + beta * C      (all row-major)
 *
 * transA = 0: A is stored [M,K] (lda >= K);  transA = 1: A is stored [K,M] (lda >= M).
 * transB = 0: B is stored [K,N] (ldb >= N);  transB = 1: B is stored [N,K] (ldb >= K),
 * which is the PyTorch Linear weight layout. beta == 0 means C is not read.
 *
 * Results do not depend on the thread count: see the comment in gemm.c. */
#ifndef CD_GEMM_H
#define CD_GEMM_H

#include <stddef.h>

#include "core/cpu.h"

/* c[i*ldc + j] = alpha * Σ_p a[p*MR + i] * b[p*NR + j] + beta * c[i*ldc + j] over a full
 * MR x NR tile; beta == 0 means c is not read. a and b are packed micro-panels. */
typedef void (*cd_gemm_ukernel)(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                                float alpha, float beta);

typedef struct {
  const char *name;
  int mr, nr;      /* register tile */
  int mc, kc, nc;  /* A block mc x kc in L2, B panel kc x nr in L1 (K is cut into equal
                   * blocks of at most kc); B packed nc columns (and at most ~4M floats) at
                   * a time, for all of K */
  cd_gemm_ukernel kernel;
  /* Optional: packs a full NR-column micro-panel of a transposed B ([N,K] rows, the Linear
   * weight) for kc steps, B pointing at row j0, column p0. NULL: the portable packer. */
  void (*pack_bt)(const float *B, ptrdiff_t ldb, int kc, float *dst);
  /* Optional: packs a full MR-row micro-panel of a row-major A ([M,K]) for kc steps, A
   * pointing at row i0, column p0. NULL: the portable packer. */
  void (*pack_a)(const float *A, ptrdiff_t lda, int kc, float *dst);
} cd_gemm_kernel_info;

/* Fills *k with the micro-kernel for isa and returns 1, or returns 0 when this build has no
 * kernel for isa (e.g. NEON on x86). It does not check that the CPU can run it. */
int cd_gemm_kernel_for(cd_isa isa, cd_gemm_kernel_info *k);
/* 1 when the running CPU (and OS) can execute isa's kernel. */
int cd_gemm_isa_usable(cd_isa isa);

/* Dispatched: best ISA (cd_cpu_best_isa) and the OpenMP thread count. */
void cd_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc);
/* Explicit ISA and thread count (nthreads <= 0: OpenMP default). Used by the dispatcher,
 * by kernels that are already inside a parallel region (nthreads = 1) and by tests. */
void cd_gemm_ex(cd_isa isa, int nthreads, int transA, int transB, int M, int N, int K,
                float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                float *C, int ldc);
/* C = op(A) · op(B) + bias, the bias (N values) added to every row; C is not read. Gives
 * the same bits as filling C with the bias and calling cd_gemm_ex with alpha = beta = 1. */
void cd_gemm_bias_ex(cd_isa isa, int nthreads, int transA, int transB, int M, int N, int K,
                     const float *A, int lda, const float *B, int ldb, const float *bias,
                     float *C, int ldc);

/* Micro-kernels (one file per ISA, compiled with that ISA's flags only). */
void cd_gemm_ukernel_ref(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                         float alpha, float beta);
void cd_gemm_ukernel_avx2(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                          float alpha, float beta);
void cd_gemm_ukernel_avx512(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                            float alpha, float beta);
void cd_gemm_ukernel_neon(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                          float alpha, float beta);
void cd_gemm_pack_bt_avx2(const float *B, ptrdiff_t ldb, int kc, float *dst);
void cd_gemm_pack_a_avx2(const float *A, ptrdiff_t lda, int kc, float *dst);

#define CD_GEMM_REF_MR 4
#define CD_GEMM_REF_NR 8
#define CD_GEMM_AVX2_MR 6
#define CD_GEMM_AVX2_NR 16
#define CD_GEMM_AVX512_MR 12
#define CD_GEMM_AVX512_NR 32
#define CD_GEMM_NEON_MR 8
#define CD_GEMM_NEON_NR 8

#endif
