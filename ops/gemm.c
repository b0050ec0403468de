/* The blocked GEMM driver (BLIS loop structure, see gemm.h) and the portable micro-kernel.
 *
 * Determinism: every C element belongs to exactly one MR x NR tile, and a tile is computed
 * by exactly one work unit, which walks the KC blocks in increasing order: per block the
 * micro-kernel sums its KC products in increasing k order from zero, then adds the result
 * into C. The tiling and KC depend only on (M, N, K, kernel), never on the thread count or
 * the cache blocking (MC, chunks, packing steps), so the bits of C do not depend on how many
 * threads ran or how the work was scheduled. tests/test_ops_forward.c checks 1 vs 2 threads.
 * That is why the tile loops can use dynamic scheduling: on a shared machine a preempted
 * thread then delays only its own units instead of a fixed half of the work. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "ops/gemm.h"

#define MAX_TILE (CD_GEMM_AVX512_MR * CD_GEMM_AVX512_NR)

void cd_gemm_ukernel_ref(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                         float alpha, float beta) {
  enum { MR = CD_GEMM_REF_MR, NR = CD_GEMM_REF_NR };
  float acc[MR][NR] = {{0}};
  for (int p = 0; p < kc; p++, a += MR, b += NR)
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NR; j++) acc[i][j] += a[i] * b[j];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++)
      c[i * ldc + j] = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * c[i * ldc + j];
}

int cd_gemm_kernel_for(cd_isa isa, cd_gemm_kernel_info *k) {
  switch (isa) {
  case CD_ISA_REF:
    *k = (cd_gemm_kernel_info){"ref 4x8", CD_GEMM_REF_MR, CD_GEMM_REF_NR, 128, 256, 4096,
                               cd_gemm_ukernel_ref, NULL, NULL};
    return 1;
#if defined(__x86_64__) || defined(_M_X64)
  case CD_ISA_AVX2:
    *k = (cd_gemm_kernel_info){"avx2 6x16", CD_GEMM_AVX2_MR, CD_GEMM_AVX2_NR, 120, 384, 3072,
                               cd_gemm_ukernel_avx2, cd_gemm_pack_bt_avx2, cd_gemm_pack_a_avx2};
    return 1;
  case CD_ISA_AVX512:
    *k = (cd_gemm_kernel_info){"avx512 12x32", CD_GEMM_AVX512_MR, CD_GEMM_AVX512_NR, 144, 384,
                               4096, cd_gemm_ukernel_avx512, NULL, NULL};
    return 1;
#endif
#if defined(__aarch64__)
  case CD_ISA_NEON:
    *k = (cd_gemm_kernel_info){"neon 8x8", CD_GEMM_NEON_MR, CD_GEMM_NEON_NR, 128, 256, 4096,
                               cd_gemm_ukernel_neon, NULL, NULL};
    return 1;
#endif
  default:
    return 0;
  }
}

int cd_gemm_isa_usable(cd_isa isa) {
  cd_gemm_kernel_info k;
  if (!cd_gemm_kernel_for(isa, &k)) return 0;
  cd_cpu_features f;
  cd_cpu_detect(&f);
  switch (isa) {
  case CD_ISA_REF: return 1;
  case CD_ISA_AVX2: return f.avx2 && f.fma && f.os_avx;
  case CD_ISA_AVX512: return f.avx512f && f.os_avx512;
  case CD_ISA_NEON: return f.neon;
  }
  return 0;
}

typedef struct {
  int tA, tB, M, N, K, lda, ldb, ldc;
  const float *A, *B;
  float *C;
  float alpha, beta;
  const float *bias; /* NULL, or N values added to every row of C (then beta is 0) */
  int kc;            /* the KC blocking of this product */
  cd_gemm_kernel_info k;
} gemm_job;

static int imin(int a, int b) { return a < b ? a : b; }
static size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

static float *alloc_floats(size_t n) {
  return aligned_alloc(64, round_up(n * sizeof(float) + 64, 64));
}

/* Rows [i0, i0+mlen) x cols [p0, p0+kc) of op(A) into MR-row micro-panels, zero padded. */
static void pack_a(const gemm_job *g, int i0, int mlen, int p0, int kc, float *dst) {
  const int MR = g->k.mr;
  for (int ir = 0; ir < mlen; ir += MR, dst += (size_t)MR * kc) {
    int mr = imin(MR, mlen - ir);
    if (!g->tA && mr == MR && g->k.pack_a) {
      g->k.pack_a(g->A + (size_t)(i0 + ir) * g->lda + p0, g->lda, kc, dst);
      continue;
    }
    if (!g->tA) {
      for (int i = 0; i < mr; i++) {
        const float *src = g->A + (size_t)(i0 + ir + i) * g->lda + p0;
        for (int p = 0; p < kc; p++) dst[(size_t)p * MR + i] = src[p];
      }
    } else {
      for (int p = 0; p < kc; p++) {
        const float *src = g->A + (size_t)(p0 + p) * g->lda + i0 + ir;
        for (int i = 0; i < mr; i++) dst[(size_t)p * MR + i] = src[i];
      }
    }
    for (int i = mr; i < MR; i++)
      for (int p = 0; p < kc; p++) dst[(size_t)p * MR + i] = 0.0f;
  }
}

/* One NR-column micro-panel of op(B): rows [p0, p0+kc), cols [j0, j0+nlen), zero padded. */
static void pack_b_panel(const gemm_job *g, int j0, int nlen, int p0, int kc, float *dst) {
  const int NR = g->k.nr;
  if (g->tB && nlen == NR && g->k.pack_bt) {
    g->k.pack_bt(g->B + (size_t)j0 * g->ldb + p0, g->ldb, kc, dst);
    return;
  }
  if (g->tB) {
    for (int j = 0; j < nlen; j++) {
      const float *src = g->B + (size_t)(j0 + j) * g->ldb + p0;
      for (int p = 0; p < kc; p++) dst[(size_t)p * NR + j] = src[p];
    }
  } else {
    for (int p = 0; p < kc; p++) {
      const float *src = g->B + (size_t)(p0 + p) * g->ldb + j0;
      for (int j = 0; j < nlen; j++) dst[(size_t)p * NR + j] = src[j];
    }
  }
  for (int j = nlen; j < NR; j++)
    for (int p = 0; p < kc; p++) dst[(size_t)p * NR + j] = 0.0f;
}

/* One MR x NR tile of C at (i, j) with mr x nr valid entries, for the KC block at p0. The
 * first block scales C by beta, or starts from the bias: it is laid into the tile just before
 * the kernel adds to it (beta = 1), which is cheap while the tile is in L1 and gives the
 * same bits as adding the product to a bias-filled C. */
static void run_tile(const gemm_job *g, const float *ap, const float *bp, int kc, int i, int j,
                     int p0) {
  const int MR = g->k.mr, NR = g->k.nr, mr = imin(MR, g->M - i), nr = imin(NR, g->N - j);
  float *c = g->C + (size_t)i * g->ldc + j, beta = p0 == 0 ? g->beta : 1.0f;
  if (p0 == 0 && g->bias) {
    for (int ii = 0; ii < mr; ii++) memcpy(c + (size_t)ii * g->ldc, g->bias + j, sizeof(float) * nr);
    beta = 1.0f;
  }
  if (mr == MR && nr == NR) {
    g->k.kernel(kc, ap, bp, c, g->ldc, g->alpha, beta);
    return;
  }
  _Alignas(64) float t[MAX_TILE];
  g->k.kernel(kc, ap, bp, t, NR, 1.0f, 0.0f);
  for (int ii = 0; ii < mr; ii++)
    for (int jj = 0; jj < nr; jj++) {
      float *cc = c + (size_t)ii * g->ldc + jj;
      *cc = beta == 0.0f ? g->alpha * t[ii * NR + jj] : g->alpha * t[ii * NR + jj] + beta * *cc;
    }
}

static int thread_id(void) {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

/* Barriers are the expensive part on a busy machine (a preempted thread stalls the others
 * at each one), so both paths have as few as possible: one after the shared packing step,
 * then each work unit runs all of its KC blocks on its own. */

/* M <= MC: all of op(A) is packed once (it is small), and each thread packs the B
 * micro-panel it is about to use into its own L1-sized buffer, so B (the big weight) is read
 * from memory exactly once and never written back out. This is the text-tower case. */
static void gemm_small_m(const gemm_job *g, int nt, float *ap, float *bbuf) {
  const int MR = g->k.mr, NR = g->k.nr, KC = g->kc;
  const int Mp = (int)round_up((size_t)g->M, (size_t)MR), npa = Mp / MR;
  const int npb = (g->N + NR - 1) / NR, npc = (g->K + KC - 1) / KC;
#pragma omp parallel num_threads(nt)
  {
    float *bp = bbuf + (size_t)thread_id() * KC * NR;
#pragma omp for schedule(static)
    for (int u = 0; u < npc * npa; u++) {
      int pc = u / npa, ir = (u % npa) * MR, p0 = pc * KC, kc = imin(KC, g->K - p0);
      pack_a(g, ir, imin(MR, g->M - ir), p0, kc, ap + (size_t)p0 * Mp + (size_t)ir * kc);
    }
#pragma omp for schedule(dynamic, 2)
    for (int jp = 0; jp < npb; jp++) {
      int j = jp * NR;
      for (int p0 = 0; p0 < g->K; p0 += KC) {
        int kc = imin(KC, g->K - p0);
        pack_b_panel(g, j, imin(NR, g->N - j), p0, kc, bp);
        for (int ir = 0; ir < g->M; ir += MR)
          run_tile(g, ap + (size_t)p0 * Mp + (size_t)ir * kc, bp, kc, ir, j, p0);
      }
    }
  }
}

/* General case (large M): op(A) is packed for mcw rows (at most A_PACK_FLOATS) and op(B)
 * for ncw columns (at most ~4M floats, so it stays in the last-level cache), both for all of
 * K, by all threads together in one shared step: each is packed exactly once. Then (MC block, chunk of NR panels) work units are shared
 * out. A unit walks the KC blocks in order; per KC block its MC x KC slice of packed A stays
 * in L2 while the B micro-panels of the chunk stream through L1, and the unit's MC x chunk
 * block of C is small enough to stay in L2 between KC blocks (with a chunk of all N, C
 * would go out to L3 and back once per KC block). */
static void gemm_large(const gemm_job *g, int nt, int mcw, int ncw, int chw, float *apk,
                       float *bpk) {
  const int MR = g->k.mr, NR = g->k.nr, MC = g->k.mc, KC = g->kc;
  const int npc = (g->K + KC - 1) / KC;
#pragma omp parallel num_threads(nt)
  for (int ic0 = 0; ic0 < g->M; ic0 += mcw) {
    int mw = imin(mcw, g->M - ic0), npa = (mw + MR - 1) / MR, mwp = npa * MR;
    int nic = (mw + MC - 1) / MC;
    for (int jc = 0; jc < g->N; jc += ncw) {
      int nc = imin(ncw, g->N - jc), npb = (nc + NR - 1) / NR, ncp = npb * NR;
      int cpb = chw / NR, nch = (npb + cpb - 1) / cpb;
      int na = jc == 0 ? npc * npa : 0; /* A is packed once per row step */
#pragma omp for schedule(dynamic, 4)
      for (int u = 0; u < na + npc * npb; u++) {
        if (u < na) {
          int p0 = (u / npa) * KC, ir = (u % npa) * MR, kc = imin(KC, g->K - p0);
          pack_a(g, ic0 + ir, imin(MR, mw - ir), p0, kc, apk + (size_t)p0 * mwp + (size_t)ir * kc);
        } else {
          int v = u - na, p0 = (v / npb) * KC, jp = v % npb, kc = imin(KC, g->K - p0);
          pack_b_panel(g, jc + jp * NR, imin(NR, nc - jp * NR), p0, kc,
                       bpk + (size_t)p0 * ncp + (size_t)jp * NR * kc);
        }
      }
#pragma omp for schedule(dynamic, 1)
      for (int u = 0; u < nic * nch; u++) {
        int ic = u / nch, ch = u % nch, i0 = ic * MC, mc = imin(MC, mw - i0);
        int jp0 = ch * cpb, jp1 = imin(npb, jp0 + cpb);
        for (int p0 = 0; p0 < g->K; p0 += KC) {
          int kc = imin(KC, g->K - p0);
          const float *ap = apk + (size_t)p0 * mwp + (size_t)i0 * kc;
          for (int jp = jp0; jp < jp1; jp++)
            for (int ir = 0; ir < mc; ir += MR)
              run_tile(g, ap + (size_t)ir * kc, bpk + (size_t)p0 * ncp + (size_t)jp * NR * kc, kc,
                       ic0 + i0 + ir, jc + jp * NR, p0);
        }
      }
    }
  }
}

static float op_a(const gemm_job *g, int i, int p) {
  return g->tA ? g->A[(size_t)p * g->lda + i] : g->A[(size_t)i * g->lda + p];
}
static float op_b(const gemm_job *g, int p, int j) {
  return g->tB ? g->B[(size_t)j * g->ldb + p] : g->B[(size_t)p * g->ldb + j];
}

/* Used only when the packing buffers cannot be allocated: slow but never fails. */
static void gemm_unpacked(const gemm_job *g) {
  for (int i = 0; i < g->M; i++)
    for (int j = 0; j < g->N; j++) {
      float s = 0.0f, *c = g->C + (size_t)i * g->ldc + j;
      for (int p = 0; p < g->K; p++) s += op_a(g, i, p) * op_b(g, p, j);
      *c = g->bias ? g->alpha * s + g->bias[j]
           : g->beta == 0.0f ? g->alpha * s : g->alpha * s + g->beta * *c;
    }
}

static int pick_threads(int nthreads, int M, int N, int K) {
  int nt = nthreads;
#ifdef _OPENMP
  if (nt <= 0) nt = omp_get_max_threads();
  if (omp_in_parallel()) nt = 1;
#else
  nt = 1;
#endif
  /* Below ~2 MFLOP the fork/join costs more than it saves. */
  if ((double)M * N * K < 1e6) nt = 1;
  return nt < 1 ? 1 : nt;
}

/* KC blocks of equal size (multiple of 8) no larger than the kernel's kc, so that a K just
 * above kc is not split into a full block and a sliver. Depends only on K and the kernel. */
static int kc_for(int K, int kc_max) {
  int nb = (K + kc_max - 1) / kc_max;
  return (int)round_up((size_t)((K + nb - 1) / nb), 8);
}

/* Packed A (large-M path) is at most this many floats per step: M is cut into equal steps. */
#define A_PACK_FLOATS (8u << 20)
/* The C block of one large-M work unit (MC rows x a chunk of columns) stays in L2. */
#define C_BLOCK_FLOATS (48 * 1024)

static void gemm_run(cd_isa isa, int nthreads, gemm_job *g) {
  const int M = g->M, N = g->N, K = g->K;
  if (K <= 0 || g->alpha == 0.0f) {
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) {
        float *c = g->C + (size_t)i * g->ldc + j;
        *c = g->bias ? g->bias[j] : g->beta == 0.0f ? 0.0f : g->beta * *c;
      }
    return;
  }
  if (!cd_gemm_kernel_for(isa, &g->k)) cd_gemm_kernel_for(CD_ISA_REF, &g->k);
  int nt = pick_threads(nthreads, M, N, K);
  const size_t NR = (size_t)g->k.nr, MR = (size_t)g->k.mr;
  g->kc = kc_for(K, g->k.kc);
  if (M <= g->k.mc) {
    float *ap = alloc_floats(round_up((size_t)M, MR) * (size_t)K);
    float *bb = alloc_floats((size_t)nt * g->kc * NR);
    if (ap && bb) gemm_small_m(g, nt, ap, bb);
    else gemm_unpacked(g);
    free(ap);
    free(bb);
    return;
  }
  const size_t MC = (size_t)g->k.mc;
  size_t chw = C_BLOCK_FLOATS / MC / NR * NR;
  if (chw < NR) chw = NR;
  /* Row steps of packed A: equal, whole MC blocks, each at most A_PACK_FLOATS. */
  size_t mcw = A_PACK_FLOATS / (size_t)K / MC * MC;
  if (mcw < MC) mcw = MC;
  size_t nsteps = ((size_t)M + mcw - 1) / mcw;
  mcw = round_up(((size_t)M + nsteps - 1) / nsteps, MC);
  if (mcw > (size_t)M) mcw = (size_t)M;
  /* Packed B: at most nc columns and about 4M floats (16 MB, last-level cache) per step. */
  size_t ncw = (size_t)((4u << 20) / (unsigned)K) / NR * NR;
  if (ncw < NR) ncw = NR;
  if (ncw > (size_t)g->k.nc) ncw = (size_t)g->k.nc;
  if (ncw > round_up((size_t)N, NR)) ncw = round_up((size_t)N, NR);
  float *ap = alloc_floats(round_up(mcw, MR) * (size_t)K), *bp = alloc_floats(ncw * (size_t)K);
  if (ap && bp) gemm_large(g, nt, (int)mcw, (int)ncw, (int)chw, ap, bp);
  else gemm_unpacked(g);
  free(ap);
  free(bp);
}

void cd_gemm_ex(cd_isa isa, int nthreads, int transA, int transB, int M, int N, int K,
                float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                float *C, int ldc) {
  if (M <= 0 || N <= 0) return;
  gemm_job g = {transA, transB, M, N, K, lda, ldb, ldc, A, B, C, alpha, beta, NULL, 0, {0}};
  gemm_run(isa, nthreads, &g);
}

void cd_gemm_bias_ex(cd_isa isa, int nthreads, int transA, int transB, int M, int N, int K,
                     const float *A, int lda, const float *B, int ldb, const float *bias,
                     float *C, int ldc) {
  if (M <= 0 || N <= 0) return;
  gemm_job g = {transA, transB, M, N, K, lda, ldb, ldc, A, B, C, 1.0f, 0.0f, bias, 0, {0}};
  gemm_run(isa, nthreads, &g);
}

void cd_gemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc) {
  cd_gemm_ex(cd_cpu_best_isa(), 0, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
