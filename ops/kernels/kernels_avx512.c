/* Every AVX-512 kernel: the GEMM tiles and their packers, and the per-op kernels compiled
 * for AVX-512 (see kernels.h).
 *
 * GEMM: float32 and fp16-weight tiles of 10 x 32, C in 20 zmm accumulators;
 * per k step two 16-wide loads of the packed B row and ten broadcasts of the packed A column.
 * MR = 10 divides CLIP's 50 rows per image (no wasted tile rows at any batch of ViT-B/32),
 * and 20 accumulators cover the FMA latency of two pipes. The next B micro-panel (128 bytes
 * per k step) is prefetched while this one runs, so the weight stream does not stall: one
 * line per k step by each of the first two tiles (pf_tiles = 2), so that the requests do not
 * all queue in one tile's miss buffers (+4% at batch 1). */
#include "ops/kernels/kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include "ops/kernels/gemm_x86.h"

enum { MR = 10, NR = 32 };

#define INLINE static inline __attribute__((always_inline))

/* A's element (i, p) is a[i * rs + p * cs]: packed (rs 1, cs MR) or in place (rs lda, cs 1). */
INLINE void tile_body(int kc, const float *a, ptrdiff_t rs, ptrdiff_t cs, const float *b, float *c,
                      ptrdiff_t ldc, int accumulate, const float *bnext) {
  __m512 acc0[MR], acc1[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) acc0[i] = acc1[i] = _mm512_setzero_ps();
  for (int p = 0; p < kc; p++, a += cs, b += NR) {
    if (bnext) { /* one line per k step: with float32 weights one of the next micro-panel's
                  * two (pf_tiles = 2: the second tile takes the other half); fp16 weights
                  * have 64 bytes per k step, all of it */
      _mm_prefetch((const char *)bnext, _MM_HINT_T0);
      bnext += 16;
    }
    __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      __m512 ai = _mm512_set1_ps(a[i * rs]);
      acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    float *ci = c + i * ldc;
    if (accumulate) {
      acc0[i] = _mm512_add_ps(acc0[i], _mm512_loadu_ps(ci));
      acc1[i] = _mm512_add_ps(acc1[i], _mm512_loadu_ps(ci + 16));
    }
    _mm512_storeu_ps(ci, acc0[i]);
    _mm512_storeu_ps(ci + 16, acc1[i]);
  }
}

CD_X86_TILE_FP32(tile_fp32, tile_body, MR)

/* A full 10-row micro-panel: rows 0-7 by 8 x 8 register transposes straight into the
 * panel's columns (stride 10), rows 8-9 element by element. */
static void pack_a(const float *A, ptrdiff_t lda, int mr, int kc, float alpha, void *dst) {
  float *d = dst;
  if (mr != MR || alpha != 1.0f) {
    cd_gemm_pack_a_f32(A, lda, mr, kc, alpha, d, MR);
    return;
  }
  int p = 0;
  for (; p + 8 <= kc; p += 8) {
    cd_x86_transpose8(A + p, lda, d + (size_t)p * MR, MR);
    for (int q = 0; q < 8; q++) {
      d[(size_t)(p + q) * MR + 8] = A[8 * lda + p + q];
      d[(size_t)(p + q) * MR + 9] = A[9 * lda + p + q];
    }
  }
  for (; p < kc; p++)
    for (int i = 0; i < MR; i++) d[(size_t)p * MR + i] = A[i * lda + p];
}

static void pack_b_fp32(const void *W, cd_dtype dtype, size_t ldw, int nr, int K, void *dst) {
  if (dtype == CD_F32 && nr == NR) cd_x86_pack_b16_f32(W, ldw, K, dst, NR);
  else cd_gemm_pack_b_f32(W, dtype, ldw, nr, K, dst, NR);
}

static void pack_b_fp16(const void *W, cd_dtype dtype, size_t ldw, int nr, int K, void *dst) {
  cd_x86_pack_b_f16(W, dtype, ldw, nr, K, dst, NR);
}

static void widen_fp16(const void *b, int kc, float *dst) {
  const __m256i *h = b;
  for (int i = 0; i < kc * NR / 16; i++) _mm512_store_ps(dst + 16 * i, _mm512_cvtph_ps(_mm256_load_si256(h + i)));
}

const cd_gemm_kernel cd_gemm_avx512_fp32 = {
    .name = "avx512 fp32 10x32",
    .isa = CD_ISA_AVX512, .prec = CD_PREC_FP32, .mr = MR, .nr = NR, .mc = 240, .kc = 256,
    .kstep = 1, .a_bytes = 4, .b_bytes = 4, .pf_tiles = 2, .a_in_place = 1, .tile = tile_fp32, .pack_a = pack_a,
    .pack_b = pack_b_fp32, .widen_b = NULL};

const cd_gemm_kernel cd_gemm_avx512_fp16 = {
    .name = "avx512 fp16 10x32 (half weights widened by vcvtph2ps, float32 arithmetic)",
    .isa = CD_ISA_AVX512, .prec = CD_PREC_FP16, .mr = MR, .nr = NR, .mc = 240, .kc = 256,
    .kstep = 1, .a_bytes = 4, .b_bytes = 2, .a_in_place = 1, .tile = tile_fp32, .pack_a = pack_a,
    .pack_b = pack_b_fp16, .widen_b = widen_fp16};

/* ---- skinny products (few rows against a [N,K] weight, see ops/gemm/skinny.h) ----
 * The same bits as the AVX2 kernels, 16 lanes wide:
 *   forward : each output is the AVX2 kernel's 8 lane partial sums (lane l sums k = l mod 8
 *             by FMA in k order over K8 = K & ~7), then the same additions of the lanes, the
 *             K tail in plain C and the bias. A zmm holds two such 8-lane sums: the input rows
 *             are packed in pairs ([row 2q | row 2q+1] per 8 k) and each weight row's 8 k are
 *             broadcast to both halves. Register tile: 4 weight rows x 6 row pairs (24
 *             accumulators, 10 loads per 24 FMAs), reduced 16 outputs at a time. Loops: weight
 *             rows in chunks of 128, then tiles of 6 pairs packed into an L1 scratch 512 k at a
 *             time, then the chunk's weight rows 4 at a time (from L2 after the first pair
 *             tile); the next chunk's rows are prefetched a line per k step meanwhile.
 *   backward: every dX element is an FMA chain over the weight rows in order starting from
 *             dX, so a 16-wide strip is one zmm: R rows x S strips (24 accumulators at S = 4)
 *             with the AVX2 kernel's chunked strip scratch and its plain C last partial strip. */
#include "ops/kernels/skinny_x86.h"

enum { FW_NW = 4, FW_NP = 6 };

/* Rows [0, M) of X into pairs ps floats apart: pair q's 8 k at xp + q * ps + 2k as
 * [row 2q | row 2q+1] (a missing odd row is zero). */
static void pack_pairs(float *xp, size_t ps, const float *X, size_t ldx, int M, int k0, int k1) {
  for (int q = 0; 2 * q < M; q++) {
    const float *r0 = X + (size_t)2 * q * ldx, *r1 = r0 + ldx;
    float *d = xp + (size_t)q * ps - 2 * k0;
    for (int k = k0; k < k1; k += 8) {
      __m256 hi = 2 * q + 1 < M ? _mm256_loadu_ps(r1 + k) : _mm256_setzero_ps();
      _mm512_store_ps(d + 2 * k, _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(r0 + k)), hi, 1));
    }
  }
}

/* Weights i .. i + 7 in both halves of a zmm (bfloat16 widened exactly: each 16-bit weight
 * permuted into the high half of its lane, the low half zero). */
INLINE __m512 w_bcast8(const void *W, int BF, size_t i, __m512i widen) {
  if (BF) {
    __m512i h = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)((const uint16_t *)W + i)));
    return _mm512_castsi512_ps(_mm512_maskz_permutexvar_epi16(0xAAAAAAAAu, widen, h));
  }
  return _mm512_broadcast_f32x8(_mm256_loadu_ps((const float *)W + i));
}

/* The 8-lane sums of z[0..8) (16 outputs: z[i]'s halves are outputs 2i and 2i + 1) with the
 * AVX2 kernel's additions: a_j = l_j + l_(j+4), then (a_0 + a_2) + (a_1 + a_3). */
INLINE __m512 hsum16v(const __m512 *z) {
  __m512 A[4];
  for (int m = 0; m < 4; m++) /* 128-bit lane q of A[m]: the a_j of output 4m + q */
    A[m] = _mm512_add_ps(_mm512_shuffle_f32x4(z[2 * m], z[2 * m + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(z[2 * m], z[2 * m + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  /* [a0 + a2 of A0, of A1, a1 + a3 of A0, of A1] per lane, and the same of A2, A3 */
  __m512 y01 = _mm512_add_ps(_mm512_unpacklo_ps(A[0], A[1]), _mm512_unpackhi_ps(A[0], A[1]));
  __m512 y23 = _mm512_add_ps(_mm512_unpacklo_ps(A[2], A[3]), _mm512_unpackhi_ps(A[2], A[3]));
  /* element 4q + m: output 4m + q */
  return _mm512_add_ps(_mm512_shuffle_ps(y01, y23, _MM_SHUFFLE(1, 0, 1, 0)),
                       _mm512_shuffle_ps(y01, y23, _MM_SHUFFLE(3, 2, 3, 2)));
}

INLINE void hsum16(const __m512 *z, float *s) {
  _Alignas(64) float o[16];
  _mm512_store_ps(o, hsum16v(z));
  for (int m = 0; m < 4; m++)
    for (int q = 0; q < 4; q++) s[4 * m + q] = o[4 * q + m];
}

/* K per packed block (6 pairs: 25 KB), floats per packed pair and weight rows per chunk. */
enum { FW_KB = 512, FW_PS = 2 * FW_KB + 16, FW_NCH = 128 };
static _Thread_local _Alignas(64) float t_xtile[FW_NP * FW_PS];

typedef struct {
  const void *W;
  const float *X, *bias;
  float *out;
  size_t ldx;
  int K, K8, N;
} fw_args;

/* Weight rows n .. n + NW - 1 x the NP pairs of xb (packed for k in [k0, k1), ps apart, input
 * rows m0 .. m0 + mr - 1): the lane sums continue from `save` unless k0 == 0 and end there
 * unless k1 == K8, where they are reduced and written out. */
INLINE void fwd_block(int NW, int NP, int BF, const fw_args *f, const float *xb, size_t ps, int n, int m0, int mr,
                      int k0, int k1, __m512 *save, const char *pf, int npf) {
  const __m512i widen = _mm512_setr_epi32(0, 1 << 16, 2 << 16, 3 << 16, 4 << 16, 5 << 16, 6 << 16, 7 << 16, 0,
                                          1 << 16, 2 << 16, 3 << 16, 4 << 16, 5 << 16, 6 << 16, 7 << 16);
  __m512 acc[FW_NW * FW_NP + 7];
  /* unrolled here, or the compiler makes these loops rep stos / rep movs through the stack
   * (7% of the forward at 300 rows) */
#pragma GCC unroll 32
  for (int i = 0; i < NW * NP; i++) acc[i] = k0 ? save[i] : _mm512_setzero_ps();
  size_t w[FW_NW];
  for (int a = 0; a < NW; a++) w[a] = (size_t)(n + a) * f->K;
  int ipf = 0;
  for (int k = k0; k < k1; k += 8) {
    if (ipf < npf) _mm_prefetch(pf + 64 * ipf, _MM_HINT_T1), ipf++;
    __m512 wv[FW_NW];
    for (int a = 0; a < NW; a++) wv[a] = w_bcast8(f->W, BF, w[a] + k, widen);
    for (int p = 0; p < NP; p++) {
      __m512 xv = _mm512_load_ps(xb + (size_t)p * ps + 2 * (k - k0));
      for (int a = 0; a < NW; a++) acc[a * NP + p] = _mm512_fmadd_ps(wv[a], xv, acc[a * NP + p]);
    }
  }
  for (; ipf < npf; ipf++) _mm_prefetch(pf + 64 * ipf, _MM_HINT_T1);
  if (k1 < f->K8) {
#pragma GCC unroll 32
    for (int i = 0; i < NW * NP; i++) save[i] = acc[i];
    return;
  }
  if (NW == FW_NW && f->K8 == f->K) { /* no K tail: 4 weight rows x 4 input rows per reduction */
    __m512 b4 = f->bias ? _mm512_broadcast_f32x4(_mm_loadu_ps(f->bias + n)) : _mm512_setzero_ps();
    for (int p = 0; p < NP; p += 2) {
      __m512 z[8];
      for (int a = 0; a < FW_NW; a++) {
        z[2 * a] = acc[a * NP + p];
        z[2 * a + 1] = p + 1 < NP ? acc[a * NP + p + 1] : _mm512_setzero_ps();
      }
      _Alignas(64) float o[16]; /* o[4q .. 4q + 3]: input row 2p + q, weight rows n .. n + 3 */
      _mm512_store_ps(o, _mm512_add_ps(hsum16v(z), b4));
      for (int q = 0; q < 4 && 2 * p + q < mr; q++) memcpy(f->out + (size_t)(m0 + 2 * p + q) * f->N + n, o + 4 * q, 16);
    }
    return;
  }
  float sum[2 * (FW_NW * FW_NP + 7)];
  for (int i = NW * NP; i < (NW * NP + 7) / 8 * 8; i++) acc[i] = _mm512_setzero_ps();
  for (int i = 0; i < NW * NP; i += 8) hsum16(acc + i, sum + 2 * i);
  for (int a = 0; a < NW; a++)
    for (int r = 0; r < mr; r++)
      f->out[(size_t)(m0 + r) * f->N + n + a] =
          cd_x86_skinny_out(sum[2 * (a * NP + r / 2) + r % 2], f->W, BF, w[a], f->X + (size_t)(m0 + r) * f->ldx,
                            f->K8, f->K, f->bias, n + a);
}

/* Weight rows [c0, c1) (at most FW_NCH) x NP pairs from input row m0, K block by K block
 * (save: the lane sums between blocks); pf: the next weight rows to prefetch meanwhile, per
 * block. The pairs come from xp, all rows packed once per product (K block b's pairs
 * npairs * FW_PS floats apart), or with xp NULL are packed here into an L1 tile. */
INLINE void fwd_pairs(int NP, int BF, const fw_args *f, int M, int m0, int c0, int c1,
                      __m512 (*save)[FW_NW * FW_NP], const char **pf, int *left, int per, const float *xp) {
  const size_t ps = FW_PS, npairs = (size_t)(M + 1) / 2;
  int mr = 2 * NP < M - m0 ? 2 * NP : M - m0;
  for (int k0 = 0; k0 < f->K8; k0 += FW_KB) {
    int k1 = k0 + FW_KB < f->K8 ? k0 + FW_KB : f->K8;
    const float *xb = t_xtile;
    if (xp) xb = xp + ((size_t)(k0 / FW_KB) * npairs + m0 / 2) * ps;
    else pack_pairs(t_xtile, ps, f->X + (size_t)m0 * f->ldx, f->ldx, mr, k0, k1);
    for (int n = c0, t = 0; n < c1; n += FW_NW, t++) {
      int npf = per < *left ? per : *left;
      switch (c1 - n < FW_NW ? c1 - n : FW_NW) {
      case 4: fwd_block(4, NP, BF, f, xb, ps, n, m0, mr, k0, k1, save[t], *pf, npf); break;
      case 3: fwd_block(3, NP, BF, f, xb, ps, n, m0, mr, k0, k1, save[t], *pf, npf); break;
      case 2: fwd_block(2, NP, BF, f, xb, ps, n, m0, mr, k0, k1, save[t], *pf, npf); break;
      default: fwd_block(1, NP, BF, f, xb, ps, n, m0, mr, k0, k1, save[t], *pf, npf); break;
      }
      *pf += 64 * npf, *left -= npf;
    }
  }
}

INLINE void avx512_skinny_forward_blocked(float *out, const float *X, size_t ldx, const void *W, int BF,
                                          const float *bias, int M, int K, int N, int n0, int n1, const float *xp) {
  fw_args f = {W, X, bias, out, ldx, K, K & ~7, N};
  const size_t esz = BF ? 2 : 4;
  __m512 save[FW_NCH / FW_NW][FW_NW * FW_NP];
  int npairs = (M + 1) / 2, nt = (npairs + FW_NP - 1) / FW_NP, nkb = (f.K8 + FW_KB - 1) / FW_KB;
  for (int c0 = n0; c0 < n1; c0 += FW_NCH) {
    int c1 = c0 + FW_NCH < n1 ? c0 + FW_NCH : n1;
    /* the next chunk's rows (past n1 too: usually the next call's), spread over the blocks */
    int rest = N - c1 < c1 - c0 ? N - c1 : c1 - c0;
    int left = rest > 0 ? (int)(((size_t)rest * K * esz + 63) / 64) : 0;
    int calls = nt * nkb * ((c1 - c0 + FW_NW - 1) / FW_NW), per = (left + calls - 1) / calls;
    const char *pf = (const char *)W + (size_t)c1 * K * esz;
    for (int t = 0, q = 0; t < nt; t++) {
      int np = npairs / nt + (t < npairs % nt);
      switch (np) {
#define FP_CASE(P) case P: fwd_pairs(P, BF, &f, M, 2 * q, c0, c1, save, &pf, &left, per, xp); break;
        FP_CASE(1) FP_CASE(2) FP_CASE(3) FP_CASE(4) FP_CASE(5) FP_CASE(6)
#undef FP_CASE
      default: break;
      }
      q += np;
    }
  }
}

INLINE void avx512_skinny_forward(float *out, const float *X, size_t ldx, const void *W, int BF,
                                  const float *bias, int M, int K, int N, int n0, int n1, const float *xp) {
  if (M <= 0) return;
  if (K < 8) { /* nothing for the vectors: the AVX2 kernel's plain C, the same bits */
    if (BF) cd_skinny_forward_bf16_avx2(out, X, ldx, W, bias, M, K, N, n0, n1);
    else cd_skinny_forward_avx2(out, X, ldx, W, bias, M, K, N, n0, n1);
    return;
  }
  avx512_skinny_forward_blocked(out, X, ldx, W, BF, bias, M, K, N, n0, n1, xp);
}

void cd_skinny_forward_avx512(float *out, const float *X, size_t ldx, const float *W,
                              const float *bias, int M, int K, int N, int n0, int n1) {
  avx512_skinny_forward(out, X, ldx, W, 0, bias, M, K, N, n0, n1, NULL);
}

void cd_skinny_forward_bf16_avx512(float *out, const float *X, size_t ldx, const uint16_t *W,
                                   const float *bias, int M, int K, int N, int n0, int n1) {
  avx512_skinny_forward(out, X, ldx, W, 1, bias, M, K, N, n0, n1, NULL);
}

size_t cd_skinny_pairs_floats_avx512(int M, int K) {
  return (size_t)((K & ~7) + FW_KB - 1) / FW_KB * (size_t)((M + 1) / 2) * FW_PS;
}

/* All rows of X in pairs, K block after K block, for the forward's items to share instead of
 * each packing its own: a 24-row item at 25 input rows spent a tenth of its time packing
 * them. */
void cd_skinny_pack_pairs_avx512(float *xp, const float *X, size_t ldx, int M, int K) {
  int K8 = K & ~7;
  size_t npairs = (size_t)(M + 1) / 2;
  for (int k0 = 0; k0 < K8; k0 += FW_KB)
    pack_pairs(xp + (size_t)(k0 / FW_KB) * npairs * FW_PS, FW_PS, X, ldx, M, k0, k0 + FW_KB < K8 ? k0 + FW_KB : K8);
}

void cd_skinny_forward_pairs_avx512(float *out, const float *xp, const float *X, size_t ldx, const float *W,
                                    const float *bias, int M, int K, int N, int n0, int n1) {
  avx512_skinny_forward(out, X, ldx, W, 0, bias, M, K, N, n0, n1, xp);
}

void cd_skinny_forward_pairs_bf16_avx512(float *out, const float *xp, const float *X, size_t ldx, const uint16_t *W,
                                         const float *bias, int M, int K, int N, int n0, int n1) {
  avx512_skinny_forward(out, X, ldx, W, 1, bias, M, K, N, n0, n1, xp);
}

/* The prefetch of the next chunk's part of a strip group (lpr lines per weight row), spread
 * over the group's row tiles a line per weight row step: issued all at once the requests
 * would queue behind each other and stall the tile. */
typedef struct {
  const char *p;
  size_t row;
  int lpr, line, left;
} bwd_pf;

INLINE void pf_next(bwd_pf *f) {
  if (f->left <= 0) return;
  _mm_prefetch(f->p + 64 * f->line, _MM_HINT_T1);
  if (++f->line == f->lpr) f->line = 0, f->p += f->row;
  f->left--;
}

/* One weight row of an R x S tile: S loads of the row's strips at st (lds apart), R broadcasts
 * of dY at g (rows N apart), R * S FMAs. */
INLINE void bwd_step(int R, int S, __m512 *acc, const float *st, size_t lds, const float *g, size_t N) {
  __m512 b[4];
  for (int s = 0; s < S; s++) b[s] = _mm512_loadu_ps(st + s * lds);
  for (int r = 0; r < R; r++) {
    __m512 a = _mm512_set1_ps(g[r * N]);
    for (int s = 0; s < S; s++) acc[r * S + s] = _mm512_fmadd_ps(a, b[s], acc[r * S + s]);
  }
}

/* R rows x S strips of dX from m0, c0 (weight row p of strip s at st + (p - p0) * ldr + s *
 * lds): per weight row S loads and R broadcasts for R * S FMAs; npf lines of pf fetched
 * meanwhile, a line per weight row in a first loop of their own (the loop over the rest
 * carries no prefetch state). */
INLINE void bwd_tile(int R, int S, float *dX, const float *dY, const float *st, size_t ldr, size_t lds, int K,
                     int N, int m0, int c0, int p0, int p1, bwd_pf *pf, int npf) {
  __m512 acc[24];
  for (int r = 0; r < R; r++)
    for (int s = 0; s < S; s++) acc[r * S + s] = _mm512_loadu_ps(dX + (size_t)(m0 + r) * K + c0 + 16 * s);
  const float *g = dY + (size_t)m0 * N + p0;
  int p = p0, pe = p0 + npf < p1 ? p0 + npf : p1;
  for (; p < pe; p++, g++, st += ldr) {
    pf_next(pf);
    bwd_step(R, S, acc, st, lds, g, (size_t)N);
  }
  for (; p < p1; p++, g++, st += ldr) bwd_step(R, S, acc, st, lds, g, (size_t)N);
  for (int r = 0; r < R; r++)
    for (int s = 0; s < S; s++) _mm512_storeu_ps(dX + (size_t)(m0 + r) * K + c0 + 16 * s, acc[r * S + s]);
}

/* All M rows of S strips from c0, in row tiles of about equal size, up to 24 / S rows (at
 * least 6). */
INLINE void bwd_strips(int S, float *dX, const float *dY, const float *st, size_t ldr, size_t lds, int M, int K,
                       int N, int c0, int p0, int p1, bwd_pf *pf) {
  int rmax = S == 4 ? 6 : 12, nt = (M + rmax - 1) / rmax, npf = (pf->left + nt - 1) / nt;
  for (int t = 0, m = 0; t < nt; t++) {
    int R = M / nt + (t < M % nt);
    switch (R) {
#define BW_CASE(RR) case RR: if (RR * S <= 24) bwd_tile(RR, S, dX, dY, st, ldr, lds, K, N, m, c0, p0, p1, pf, npf); break;
      BW_CASE(1) BW_CASE(2) BW_CASE(3) BW_CASE(4) BW_CASE(5) BW_CASE(6)
      BW_CASE(7) BW_CASE(8) BW_CASE(9) BW_CASE(10) BW_CASE(11) BW_CASE(12)
#undef BW_CASE
    default: break;
    }
    m += R;
  }
}

/* Rows [p0, p1) of S strips from column c0 into st ([strip][row][16] float32, strips pchunk
 * rows apart; bfloat16 widened). */
INLINE void copy_strips(float *st, const void *W, int BF, int K, int pchunk, int p0, int p1, int c0, int S) {
  for (int p = p0; p < p1; p++) {
    size_t w = (size_t)p * K + c0;
    for (int j = 0; j < S; j++) {
      __m512 v = BF ? _mm512_castsi512_ps(_mm512_slli_epi32(
                          _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)((const uint16_t *)W + w + 16 * j))), 16))
                    : _mm512_loadu_ps((const float *)W + w + 16 * j);
      _mm512_storeu_ps(st + ((size_t)j * pchunk + (p - p0)) * 16, v);
    }
  }
}

/* Columns [j0, j1) of dX, the AVX2 kernel's walk: W in chunks of PCHUNK rows, each chunk's
 * part of every strip read once, row-contiguously, into pk ([strip][row][16] float32,
 * bfloat16 widened) and reused from L1 by all row tiles; the last partial strip in plain C.
 * Few rows copy a strip group's part just before its tiles (the whole chunk's part, 64 KB on
 * one thread at 512 wide, left L1 before its tiles read it: +15-20% at 25 rows), and fetch the
 * next chunk's part meanwhile; many rows copy the whole chunk's part at once and fetch
 * nothing ahead (the prefetches cost 3-7% there, the copy's loads find the rows in time).
 * From BW_MANY rows (lockstep) the chunks are CD_SKINNY_PCHUNK_MAX rows: each row tile
 * reloads and stores its dX accumulators once per chunk, and a strip group's 128-row part
 * (32 KB) still fits L1; at 300 rows the products run +15% (128 rows against 32). Few rows
 * keep the short chunks (longer ones slowed 25 rows). Accumulators stored and reloaded
 * exactly, each dX element still sums its weight rows in order: the same bits either way. */
enum { BW_MANY = 64 };
INLINE void avx512_skinny_backward(float *dX, const float *dY, const void *W, int BF, int M, int K, int N,
                                   int j0, int j1, float *pk) {
  const int PCHUNK = M >= BW_MANY ? CD_SKINNY_PCHUNK_MAX : CD_SKINNY_PCHUNK;
  const size_t esz = BF ? 2 : 4;
  const char *Wb = W;
  int jb0 = j0 / 16, ns = M > 0 ? (j1 - j0) / 16 : 0; /* full strips */
  /* float32 rows whose stride spreads over the L1 sets (not a multiple of 512 bytes) are read
   * in place: a chunk's part of a strip group is a few KB in L1 either way, and the copy
   * cost as much as a tenth of the toy CLIP's backward */
  int direct = !BF && K % 128 != 0;
  size_t ldr = direct ? (size_t)K : 16, lds = direct ? 16 : (size_t)PCHUNK * 16;
  for (int p0 = 0; p0 < N && ns > 0; p0 += PCHUNK) {
    int p1 = p0 + PCHUNK < N ? p0 + PCHUNK : N;
    if (!direct && M >= BW_MANY) copy_strips(pk, W, BF, K, PCHUNK, p0, p1, jb0 * 16, ns);
    for (int j = 0; j < ns;) {
      int S = ns - j >= 4 ? 4 : ns - j >= 2 ? 2 : 1, c0 = (jb0 + j) * 16;
      /* the next chunk's part of these strips, fetched meanwhile (few rows) */
      int lpr = (int)((S * 16 * esz + 63) / 64), rows = M >= BW_MANY ? 0 : N - p1 < PCHUNK ? N - p1 : PCHUNK;
      bwd_pf pf = {Wb + ((size_t)p1 * K + c0) * esz, (size_t)K * esz, lpr, 0, rows * lpr};
      const float *st = direct ? (const float *)W + (size_t)p0 * K + c0 : pk + (size_t)j * PCHUNK * 16;
      if (!direct && M < BW_MANY) copy_strips(pk + (size_t)j * PCHUNK * 16, W, BF, K, PCHUNK, p0, p1, c0, S);
      if (S == 4) bwd_strips(4, dX, dY, st, ldr, lds, M, K, N, c0, p0, p1, &pf);
      else if (S == 2) bwd_strips(2, dX, dY, st, ldr, lds, M, K, N, c0, p0, p1, &pf);
      else bwd_strips(1, dX, dY, st, ldr, lds, M, K, N, c0, p0, p1, &pf);
      while (pf.left > 0) pf_next(&pf);
      j += S;
    }
  }
  cd_x86_skinny_dx_tail(dX, dY, W, BF, M, K, N, j0 + ns * 16, j1);
}

void cd_skinny_backward_avx512(float *dX, const float *dY, const float *W, int M, int K, int N,
                               int j0, int j1, float *pk) {
  avx512_skinny_backward(dX, dY, W, 0, M, K, N, j0, j1, pk);
}

void cd_skinny_backward_bf16_avx512(float *dX, const float *dY, const uint16_t *W, int M, int K,
                                    int N, int j0, int j1, float *pk) {
  avx512_skinny_backward(dX, dY, W, 1, M, K, N, j0, j1, pk);
}

/* ---- the per-op kernels (activation, epilogue, LayerNorm, softmax, attention head) ---- */
#define ATT_W 32 /* attention tile columns */
#include "ops/kernels/level_ops.h"

CD_LEVEL_OPS(avx512)
#else
typedef int cd_kernels_avx512_unused; /* ISO C: no empty translation unit */
#endif
