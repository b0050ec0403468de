/* The loops shared by both GEMM drivers (see gemm.h): K blocking, packing A for all K
 * blocks, and the tile loops with the epilogue.
 *
 * Determinism: every C tile belongs to exactly one work unit, which walks the K blocks in
 * increasing order: per block the micro-kernel sums its kc products in order from zero and
 * then adds the block into C. The tiling and the K blocking depend only on (M, N, K, kernel),
 * never on the thread count, the M blocking or the scheduling, so the bits of C do not depend
 * on how many threads ran. That is why the unit loop can be scheduled dynamically: on a shared
 * machine a preempted thread then delays only its own units, not a fixed half of the work. */
#include <string.h>

#include "core/cpu.h"
#include "core/pool.h"
#include "ops/gemm/gemm.h"

/* The largest register tile of any kernel (floats). */
#define MAX_TILE (16 * 64)
/* The C block of a work unit (M block x a chunk of panels) stays in L2 between K blocks. */
#define C_BLOCK_FLOATS (48 * 1024)

static int imin(int a, int b) { return a < b ? a : b; }
static size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

int cd_gemm_kc(int Kp, int kc_max) {
  int nb = (Kp + kc_max - 1) / kc_max;
  if (nb < 1) nb = 1;
  return (int)round_up((size_t)((Kp + nb - 1) / nb), 8);
}

int cd_gemm_threads(int nthreads, int M, int N, int K) {
  int nt = nthreads <= 0 ? cd_threads_get() : nthreads;
  if (cd_pool_in_item()) nt = 1; /* a nested run would go inline anyway */
  /* Below ~2 MFLOP the fork/join costs more than it saves. */
  if ((double)M * N * K < 1e6) nt = 1;
  return nt < 1 ? 1 : nt;
}


/* The A micro-panel of rows [ir, ir + MR) for the K block starting at p0 (length kcb), or
 * with A read in place, the block's first element in A. */
static const unsigned char *a_panel(const cd_gemm_job *g, int p0, int ir, int kcb) {
  if (g->a_in_place) return (const unsigned char *)(g->A_src + (ptrdiff_t)ir * g->lda + p0);
  return g->a + ((size_t)p0 * g->Mp + (size_t)ir * kcb) * g->k->a_bytes;
}

static void pack_a_unit(const cd_gemm_kernel *k, const float *A, ptrdiff_t lda, int M, int K,
                        int Kp, int kc, int Mp, float alpha, unsigned char *dst, int u) {
  int npa = Mp / k->mr, p0 = (u / npa) * kc, ir = (u % npa) * k->mr;
  int kcb = imin(kc, Kp - p0), kvalid = imin(kcb, K - p0);
  k->pack_a(A + (size_t)ir * lda + p0, lda, imin(k->mr, M - ir), kvalid, alpha,
            dst + ((size_t)p0 * Mp + (size_t)ir * kcb) * k->a_bytes);
}

/* One tile: C (or its first-block starting values) through the micro-kernel, then the
 * epilogue after the last K block. Edge tiles go through a full-size scratch tile. */
static void run_tile(const cd_gemm_job *g, const void *ap, const void *bp, const void *bnext,
                     int kcb, int i, int j, int first, int last) {
  const cd_gemm_kernel *k = g->k;
  const int MR = k->mr, NR = k->nr, mr = imin(MR, g->M - i), nr = imin(NR, g->N - j);
  float *c = g->C + (ptrdiff_t)i * g->ldc + j;
  const float *from = first ? (g->resid ? g->resid + (ptrdiff_t)i * g->ldc + j : g->accumulate ? c : NULL) : c;
  int epi = last && (g->bias || g->act != CD_ACT_NONE);
  const float *bias = g->bias ? g->bias + j : NULL;
  const ptrdiff_t lda = g->a_in_place ? g->lda : 0;
  if (mr == MR && nr == NR) {
    if (from && from != c)
      for (int r = 0; r < MR; r++) memcpy(c + (ptrdiff_t)r * g->ldc, from + (ptrdiff_t)r * g->ldc, sizeof(float) * NR);
    cd_tile t = {kcb, ap, lda, bp, c, g->ldc, from != NULL, bnext};
    k->tile(&t);
    if (epi) g->kt->bias_act_tile(c, g->ldc, MR, NR, bias, g->act);
    return;
  }
  _Alignas(64) float tmp[MAX_TILE];
  if (from) {
    memset(tmp, 0, sizeof(float) * (size_t)MR * NR);
    for (int r = 0; r < mr; r++) memcpy(tmp + r * NR, from + (ptrdiff_t)r * g->ldc, sizeof(float) * nr);
  }
  cd_tile t = {kcb, ap, lda, bp, tmp, NR, from != NULL, bnext};
  k->tile(&t);
  if (epi) g->kt->bias_act_tile(tmp, NR, mr, nr, bias, g->act);
  for (int r = 0; r < mr; r++) memcpy(c + (ptrdiff_t)r * g->ldc, tmp + r * NR, sizeof(float) * nr);
}

/* Micro-panel (jp, K block blk) against the unit's rows [i0, i0 + mc). */
static void run_panel(const cd_gemm_job *g, int jp, int blk, int nblk, int i0, int mc,
                      const void *bnext, float *wbuf) {
  const cd_gemm_kernel *k = g->k;
  int p0 = blk * g->kc, kcb = imin(g->kc, g->Kp - p0);
  const void *b = g->b + (size_t)jp * g->panel_bytes + (size_t)p0 * k->nr * k->b_bytes;
  if (k->widen_b) {
    k->widen_b(b, kcb, wbuf);
    b = wbuf;
  }
  int split = k->pf_tiles > 1 ? k->pf_tiles : 1, ntile = (mc + k->mr - 1) / k->mr;
  /* the next block's bytes (kcb of this block bounds it: the last block may be shorter) */
  size_t part = (size_t)kcb * k->nr * k->b_bytes / (size_t)split;
  for (int t = 0, ir = 0; ir < mc; ir += k->mr, t++) {
    const void *nx = NULL;
    if (bnext && ntile >= split && t < split) nx = (const unsigned char *)bnext + (size_t)t * part;
    else if (bnext && ntile < split && t == 0) nx = bnext; /* too few tiles: the kernel's own share */
    run_tile(g, a_panel(g, p0, i0 + ir, kcb), b, nx, kcb, i0 + ir, jp * k->nr, blk == 0, blk == nblk - 1);
  }
}

static const void *panel_at(const cd_gemm_job *g, int jp, int blk) {
  return g->b + (size_t)jp * g->panel_bytes + (size_t)blk * g->kc * g->k->nr * g->k->b_bytes;
}

/* The shape of the tile loops, from the job alone (never from the thread count). */
typedef struct {
  const cd_gemm_job *g;
  int MC, npb, nblk, nic, cpb, nch;
} gemm_plan;

static void pack_item(void *ctx, int u, int w) {
  const gemm_plan *p = ctx;
  const cd_gemm_job *g = p->g;
  (void)w;
  pack_a_unit(g->k, g->A_src, g->lda, g->M, g->K, g->Kp, g->kc, g->Mp, 1.0f, (unsigned char *)g->a, u);
}

/* Work unit u: rows [i0, i0 + mc) against the panels of chunk ch, all K blocks in order. */
static void tile_item(void *ctx, int u, int w) {
  const gemm_plan *p = ctx;
  const cd_gemm_job *g = p->g;
  float *wbuf = g->wbuf ? g->wbuf + (size_t)w * g->kc * g->k->nr : NULL;
  int ic = u / p->nch, ch = u % p->nch, i0 = ic * p->MC, mc = imin(p->MC, g->M - i0);
  int jp0 = ch * p->cpb, jp1 = imin(p->npb, jp0 + p->cpb), nblk = p->nblk;
  if (p->nic == 1) {
    /* All rows in one block (small M): each panel over all of K, then the next, so the weight
     * streams through once, front to back. */
    for (int jp = jp0; jp < jp1; jp++)
      for (int blk = 0; blk < nblk; blk++) {
        const void *nx = blk + 1 < nblk ? panel_at(g, jp, blk + 1) : jp + 1 < jp1 ? panel_at(g, jp + 1, 0) : NULL;
        run_panel(g, jp, blk, nblk, i0, mc, nx, wbuf);
      }
  } else {
    /* Per K block, the A block stays in L2 while the chunk's panels stream through L1. */
    for (int blk = 0; blk < nblk; blk++)
      for (int jp = jp0; jp < jp1; jp++) {
        const void *nx = jp + 1 < jp1 ? panel_at(g, jp + 1, blk) : blk + 1 < nblk ? panel_at(g, jp0, blk + 1) : NULL;
        run_panel(g, jp, blk, nblk, i0, mc, nx, wbuf);
      }
  }
}

void cd_gemm_run(const cd_gemm_job *g, int nt) {
  const cd_gemm_kernel *k = g->k;
  const int MR = k->mr, NR = k->nr;
  gemm_plan p = {g, (int)round_up((size_t)k->mc, (size_t)MR), (g->N + NR - 1) / NR,
                 (g->Kp + g->kc - 1) / g->kc, 0, 0, 0};
  p.nic = (g->M + p.MC - 1) / p.MC;
  const int mcw = imin(p.MC, (int)round_up((size_t)g->M, (size_t)MR));
  /* Panels per unit: the unit's C block stays in L2, and there are several units per thread
   * (a thread delayed by the OS then holds up little). Fixed by the shapes, not by nt. */
  p.cpb = C_BLOCK_FLOATS / (mcw * NR);
  if (p.cpb < 1) p.cpb = 1;
  int per_ic = (8 + p.nic - 1) / p.nic;
  if (per_ic > 1 && (p.npb + p.cpb - 1) / p.cpb < per_ic) p.cpb = (p.npb + per_ic - 1) / per_ic;
  p.nch = (p.npb + p.cpb - 1) / p.cpb;
  if (g->A_src && !g->a_in_place) cd_pool_run(((g->Kp + g->kc - 1) / g->kc) * (g->Mp / MR), nt, pack_item, &p);
  cd_pool_run(p.nic * p.nch, nt, tile_item, &p);
}
