/* Blocked GEMM (the BLIS design: A packed into MR-row micro-panels, B into NR-column
 * micro-panels, cache blocks MC x KC of A in L2 while KC x NR B micro-panels stream through
 * L1, an MR x NR register tile per ISA and precision).
 *
 * Two drivers share the loops:
 *  - cd_gemm_weight (ops/gemm/gemm_packed.c): out = act(A · W^T + bias) (+ resid) against a
 *    weight packed ONCE at load (ops/gemm/weight.h) in the layout and precision of its kernel,
 *    with the bias, activation and residual add applied to each tile while it is in L1.
 *  - cd_gemm_ex (ops/gemm/gemm.c): the general float32 C = alpha op(A) op(B) + beta C on any
 *    row-major operands (tests, backward products), packing both operands per call:
 *      transA = 0: A is stored [M,K] (lda >= K);  transA = 1: A is stored [K,M] (lda >= M).
 *      transB = 0: B is stored [K,N] (ldb >= N);  transB = 1: B is stored [N,K] (ldb >= K),
 *      the PyTorch Linear weight layout. beta == 0 means C is not read.
 *
 * Results do not depend on the thread count: every C tile is computed by one work unit that
 * walks the K blocks in increasing order, and the tiling and K blocking depend only on the
 * shapes and the kernel. */
#ifndef CD_GEMM_H
#define CD_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/cpu.h"
#include "core/dtype.h"
#include "ops/dispatch.h"

/* ---- packed weights (ops/gemm/weight.h holds the weight type) ---- */
struct cd_weight;

/* out[M,N] = act(A[M,K] · W[N,K]^T + bias) + resid, against a weight packed for its kernel.
 * bias, resid may be NULL; act must be CD_ACT_NONE when resid is given; out may equal resid
 * (in-place residual add). lda/ldo are row strides in floats (resid uses ldo). ws: scratch
 * arena (NULL or too small: heap). */
void cd_gemm_weight(const struct cd_weight *w, const float *A, ptrdiff_t lda, int M, float *out,
                    ptrdiff_t ldo, const float *bias, cd_activation act, const float *resid,
                    cd_arena *ws);
/* Scratch bytes cd_gemm_weight needs for M rows against weights of K inputs (kernel k). */
size_t cd_gemm_weight_scratch(const cd_gemm_kernel *k, int M, int K);

/* ---- the general float32 GEMM ---- */

/* Dispatched: cd_kernels_get()'s float32 kernel and the library's thread count. */
void cd_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc);
/* Explicit kernel table and thread count (nthreads <= 0: cd_threads_get(); 1 inside a pool
 * item). Used by kernels, tests and benches. */
void cd_gemm_ex(const cd_kernels *kt, int nthreads, int transA, int transB, int M, int N, int K,
                float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                float *C, int ldc);

/* ---- internals shared by the two drivers (ops/gemm/gemm_core.c) ---- */
typedef struct {
  const cd_gemm_kernel *k;
  const cd_kernels *kt;     /* for the epilogue */
  int M, N, Kp, kc;         /* Kp: K padded to kstep; kc: the K block */
  const unsigned char *a;   /* packed A: per K block, Mp/MR micro-panels of kc x MR */
  int Mp;                   /* M rounded up to MR */
  const unsigned char *b;   /* packed B: panels of Kp x NR, panel_bytes apart */
  size_t panel_bytes;
  float *C;
  ptrdiff_t ldc;
  int accumulate;           /* C already holds values to add to */
  const float *resid;       /* tiles start from resid (ldc stride) */
  const float *bias;
  cd_activation act;
  float *wbuf;              /* per-thread widening buffers (kc x NR floats each) */
  /* Optional: A to pack into `a` first, in the same parallel region (one fork and join per
   * product matters when threads share the machine): [M, K] rows lda apart. */
  const float *A_src;
  ptrdiff_t lda;
  int K;
  /* 1: the tiles read A_src in place (the kernel's a_in_place, M a multiple of MR, K of
   * kstep), `a` is unused and nothing is packed. */
  int a_in_place;
} cd_gemm_job;

/* K block size: equal blocks no larger than kc_max, multiples of 8 (and of kstep). */
int cd_gemm_kc(int Kp, int kc_max);
/* Packs job->A_src (when given) and runs the tiles on the pool with nt threads. */
void cd_gemm_run(const cd_gemm_job *job, int nt);
/* Threads for a product of this size: nthreads (<= 0: cd_threads_get()), 1 inside a pool
 * item or when the product is too small to split. */
int cd_gemm_threads(int nthreads, int M, int N, int K);

#endif
