/* The general float32 GEMM C = alpha op(A) op(B) + beta C (see gemm.h): both operands are
 * packed per call (B with the kernel's own packer when it is stored [N,K], the Linear
 * layout), then the shared tile loops of gemm_core.c run. Used by tests and the backward
 * products; the model's weight products go through cd_gemm_weight instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "ops/gemm/gemm.h"

static int imin(int a, int b) { return a < b ? a : b; }
static size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

static void scale_c(float *C, int ldc, int M, int N, float beta) {
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      float *c = C + (size_t)i * ldc + j;
      *c = beta == 0.0f ? 0.0f : beta * *c;
    }
}

/* Used only when the packing buffers cannot be allocated: slow but never fails. */
static void gemm_unpacked(int tA, int tB, int M, int N, int K, float alpha, const float *A, int lda,
                          const float *B, int ldb, float beta, float *C, int ldc) {
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      float s = 0.0f, *c = C + (size_t)i * ldc + j;
      for (int p = 0; p < K; p++)
        s += (tA ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p]) *
             (tB ? B[(size_t)j * ldb + p] : B[(size_t)p * ldb + j]);
      *c = beta == 0.0f ? alpha * s : alpha * s + beta * *c;
    }
}

typedef struct {
  const cd_gemm_kernel *k;
  const float *A, *B;
  int lda, ldb, transA, transB, M, N, K, kc, Mp, npb, npa;
  float alpha;
  float *ap, *bp;
} pack_job;

/* Items [0, npb): B's panels; then A's micro-panels, K block by K block. */
static void pack_item(void *ctx, int u, int worker) {
  const pack_job *j = ctx;
  const int MR = j->k->mr, NR = j->k->nr, K = j->K;
  if (u < j->npb) {
    int nr = imin(NR, j->N - u * NR);
    float *dst = j->bp + (size_t)u * NR * K;
    if (j->transB) j->k->pack_b(j->B + (size_t)u * NR * j->ldb, CD_F32, (size_t)j->ldb, nr, K, dst);
    else cd_gemm_pack_b_f32_rows(j->B + (size_t)u * NR, j->ldb, nr, K, dst, NR);
    return;
  }
  u -= j->npb;
  int p0 = (u / j->npa) * j->kc, ir = (u % j->npa) * MR, kcb = imin(j->kc, K - p0);
  float *dst = j->ap + (size_t)p0 * j->Mp + (size_t)ir * kcb;
  if (j->transA) cd_gemm_pack_a_f32_trans(j->A + (size_t)p0 * j->lda + ir, j->lda, imin(MR, j->M - ir), kcb, j->alpha, dst, MR);
  else j->k->pack_a(j->A + (size_t)ir * j->lda + p0, j->lda, imin(MR, j->M - ir), kcb, j->alpha, dst);
}

void cd_gemm_ex(const cd_kernels *kt, int nthreads, int transA, int transB, int M, int N, int K,
                float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                float *C, int ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) {
    scale_c(C, ldc, M, N, beta);
    return;
  }
  const cd_gemm_kernel *k = kt->gemm[CD_PREC_FP32];
  const int MR = k->mr, NR = k->nr, nt = cd_gemm_threads(nthreads, M, N, K);
  const int kc = cd_gemm_kc(K, k->kc), Mp = (int)round_up((size_t)M, (size_t)MR);
  const int npb = (N + NR - 1) / NR, npa = Mp / MR, nblk = (K + kc - 1) / kc;
  float *ap = aligned_alloc(64, round_up(sizeof(float) * (size_t)Mp * K, 64));
  float *bp = aligned_alloc(64, round_up(sizeof(float) * (size_t)npb * NR * K, 64));
  if (!ap || !bp) {
    free(ap), free(bp);
    gemm_unpacked(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  if (beta != 0.0f && beta != 1.0f) scale_c(C, ldc, M, N, beta);
  pack_job pj = {k, A, B, lda, ldb, transA, transB, M, N, K, kc, Mp, npb, npa, alpha, ap, bp};
  cd_pool_run(npb + nblk * npa, nt, pack_item, &pj);
  cd_gemm_job g = {k, kt, M, N, K, kc, (const unsigned char *)ap, Mp, (const unsigned char *)bp,
                   sizeof(float) * (size_t)NR * K, C, ldc, beta != 0.0f, NULL, NULL, CD_ACT_NONE, NULL,
                   NULL, 0, K, 0};
  cd_gemm_run(&g, nt);
  free(ap);
  free(bp);
}

void cd_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc) {
  cd_gemm_ex(cd_kernels_get(), 0, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
