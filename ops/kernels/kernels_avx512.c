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
 *             accumulators, 10 loads per 24 FMAs), reduced 16 outputs at a time.
 *   backward: every dX element is an FMA chain over the weight rows in order starting from
 *             dX, so a 16-wide strip is one zmm: R rows x S strips (24 accumulators at S = 4)
 *             with the AVX2 kernel's chunked strip scratch and its plain C last partial strip. */
#include "ops/kernels/skinny_x86.h"

enum { FW_NW = 4, FW_NP = 6 };

/* Each thread's packed input pairs: XCAP floats hold 36 rows at K = 512 (the driver hands
 * the kernel blocks of about 128 KB of rows; bigger blocks are packed in turns). */
enum { XCAP = 36 * 1024 };
static _Thread_local _Alignas(64) float t_xpairs[XCAP];

/* Rows [0, M) of X into pairs ps floats apart: pair q's 8 k at xp + q * ps + 2k as
 * [row 2q | row 2q+1] (a missing odd row is zero). */
static void pack_pairs(float *xp, size_t ps, const float *X, size_t ldx, int M, int K8) {
  for (int q = 0; 2 * q < M; q++) {
    const float *r0 = X + (size_t)2 * q * ldx, *r1 = r0 + ldx;
    float *d = xp + (size_t)q * ps;
    for (int k = 0; k < K8; k += 8) {
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
INLINE void hsum16(const __m512 *z, float *s) {
  __m512 A[4];
  for (int m = 0; m < 4; m++) /* 128-bit lane q of A[m]: the a_j of output 4m + q */
    A[m] = _mm512_add_ps(_mm512_shuffle_f32x4(z[2 * m], z[2 * m + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(z[2 * m], z[2 * m + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  /* [a0 + a2 of A0, of A1, a1 + a3 of A0, of A1] per lane, and the same of A2, A3 */
  __m512 y01 = _mm512_add_ps(_mm512_unpacklo_ps(A[0], A[1]), _mm512_unpackhi_ps(A[0], A[1]));
  __m512 y23 = _mm512_add_ps(_mm512_unpacklo_ps(A[2], A[3]), _mm512_unpackhi_ps(A[2], A[3]));
  __m512 r = _mm512_add_ps(_mm512_shuffle_ps(y01, y23, _MM_SHUFFLE(1, 0, 1, 0)),
                           _mm512_shuffle_ps(y01, y23, _MM_SHUFFLE(3, 2, 3, 2)));
  _Alignas(64) float o[16];
  _mm512_store_ps(o, r); /* o[4q + m]: output 4m + q */
  for (int m = 0; m < 4; m++)
    for (int q = 0; q < 4; q++) s[4 * m + q] = o[4 * q + m];
}

/* Weight rows n0 .. n0 + NW - 1 against input rows m0 .. m0 + mr - 1 (pairs m0 / 2 on, mr <=
 * 2 NP); pf/npf: lines of the next weight rows to prefetch meanwhile. */
INLINE void fwd_tile(int NW, int NP, const void *W, int BF, const float *xp, size_t ps, const float *X,
                     size_t ldx, int K, int N, float *out, const float *bias, int n0, int m0, int mr,
                     const char *pf, int npf) {
  const __m512i widen = _mm512_setr_epi32(0, 1 << 16, 2 << 16, 3 << 16, 4 << 16, 5 << 16, 6 << 16, 7 << 16, 0,
                                          1 << 16, 2 << 16, 3 << 16, 4 << 16, 5 << 16, 6 << 16, 7 << 16);
  __m512 acc[FW_NW * FW_NP + 7];
  for (int i = 0; i < NW * NP; i++) acc[i] = _mm512_setzero_ps();
  size_t w[FW_NW];
  const float *x[FW_NP];
  for (int a = 0; a < NW; a++) w[a] = (size_t)(n0 + a) * K;
  for (int p = 0; p < NP; p++) x[p] = xp + (size_t)(m0 / 2 + p) * ps;
  int K8 = K & ~7;
  for (int i = 0; i < npf; i++) _mm_prefetch(pf + 64 * i, _MM_HINT_T1);
  for (int k = 0; k < K8; k += 8) {
    __m512 wv[FW_NW];
    for (int a = 0; a < NW; a++) wv[a] = w_bcast8(W, BF, w[a] + k, widen);
    for (int p = 0; p < NP; p++) {
      __m512 xv = _mm512_load_ps(x[p] + 2 * k);
      for (int a = 0; a < NW; a++) acc[a * NP + p] = _mm512_fmadd_ps(wv[a], xv, acc[a * NP + p]);
    }
  }
  float sum[2 * (FW_NW * FW_NP + 7)];
  for (int i = NW * NP; i < (NW * NP + 7) / 8 * 8; i++) acc[i] = _mm512_setzero_ps();
  for (int i = 0; i < NW * NP; i += 8) hsum16(acc + i, sum + 2 * i);
  for (int a = 0; a < NW; a++)
    for (int r = 0; r < mr; r++)
      out[(size_t)(m0 + r) * N + n0 + a] = cd_x86_skinny_out(sum[2 * (a * NP + r / 2) + r % 2], W, BF, w[a],
                                                             X + (size_t)(m0 + r) * ldx, K8, K, bias, n0 + a);
}

/* Weight rows n0 .. n0 + NW - 1 against all M rows, in tiles of up to FW_NP pairs of about
 * equal size; while they run (the weight rows from L1 after the first tile) the next NW
 * weight rows are prefetched, a share per tile, as in the AVX2 kernel. */
INLINE void fwd_rows(int NW, const void *W, int BF, const float *xp, size_t ps, const float *X, size_t ldx, int M,
                     int K, int N, float *out, const float *bias, int n0, int nend) {
  const size_t esz = BF ? 2 : 4;
  int npairs = (M + 1) / 2, nt = (npairs + FW_NP - 1) / FW_NP;
  int rest = nend - n0 - NW < FW_NW ? nend - n0 - NW : FW_NW;
  int left = rest > 0 ? (int)(((size_t)rest * K * esz + 63) / 64) : 0, per = (left + nt - 1) / nt;
  if (per > 16) per = 16;
  const char *pf = (const char *)W + (size_t)(n0 + NW) * K * esz;
  for (int t = 0, q = 0; t < nt; t++) {
    int np = npairs / nt + (t < npairs % nt), m0 = 2 * q, mr = 2 * np < M - m0 ? 2 * np : M - m0;
    int npf = per < left ? per : left;
    switch (np) {
#define FW_CASE(P) case P: fwd_tile(NW, P, W, BF, xp, ps, X, ldx, K, N, out, bias, n0, m0, mr, pf, npf); break;
      FW_CASE(1) FW_CASE(2) FW_CASE(3) FW_CASE(4) FW_CASE(5) FW_CASE(6)
#undef FW_CASE
    default: break;
    }
    pf += 64 * npf, left -= npf, q += np;
  }
}

INLINE void avx512_skinny_forward(float *out, const float *X, size_t ldx, const void *W, int BF,
                                  const float *bias, int M, int K, int N, int n0, int n1) {
  int K8 = K & ~7;
  size_t ps = 2 * (size_t)K8 + 16; /* pairs 64 bytes more than a multiple of 4 KB apart: other L1 sets */
  int cap = 2 * (int)(XCAP / ps);
  if (K8 == 0 || cap < 2) { /* nothing for the vectors, or a row too long to pack: the same bits */
    if (BF) cd_skinny_forward_bf16_avx2(out, X, ldx, W, bias, M, K, N, n0, n1);
    else cd_skinny_forward_avx2(out, X, ldx, W, bias, M, K, N, n0, n1);
    return;
  }
  for (int m0 = 0; m0 < M; m0 += cap) {
    int m = M - m0 < cap ? M - m0 : cap;
    const float *Xm = X + (size_t)m0 * ldx;
    float *om = out + (size_t)m0 * N;
    pack_pairs(t_xpairs, ps, Xm, ldx, m, K8);
    int n = n0;
    /* the prefetch runs past n1 (to N): the next range of rows is usually the next call's */
    for (; n + FW_NW <= n1; n += FW_NW) fwd_rows(FW_NW, W, BF, t_xpairs, ps, Xm, ldx, m, K, N, om, bias, n, N);
    switch (n1 - n) {
    case 3: fwd_rows(3, W, BF, t_xpairs, ps, Xm, ldx, m, K, N, om, bias, n, N); break;
    case 2: fwd_rows(2, W, BF, t_xpairs, ps, Xm, ldx, m, K, N, om, bias, n, N); break;
    case 1: fwd_rows(1, W, BF, t_xpairs, ps, Xm, ldx, m, K, N, om, bias, n, N); break;
    default: break;
    }
  }
}

void cd_skinny_forward_avx512(float *out, const float *X, size_t ldx, const float *W,
                              const float *bias, int M, int K, int N, int n0, int n1) {
  avx512_skinny_forward(out, X, ldx, W, 0, bias, M, K, N, n0, n1);
}

void cd_skinny_forward_bf16_avx512(float *out, const float *X, size_t ldx, const uint16_t *W,
                                   const float *bias, int M, int K, int N, int n0, int n1) {
  avx512_skinny_forward(out, X, ldx, W, 1, bias, M, K, N, n0, n1);
}

/* R rows x S strips of dX from m0, c0 (strip s's chunk rows at st + s * CD_SKINNY_PCHUNK * 16):
 * per weight row S loads and R broadcasts for R * S FMAs. */
INLINE void bwd_tile(int R, int S, float *dX, const float *dY, const float *st, int K, int N, int m0, int c0,
                     int p0, int p1) {
  __m512 acc[24];
  for (int r = 0; r < R; r++)
    for (int s = 0; s < S; s++) acc[r * S + s] = _mm512_loadu_ps(dX + (size_t)(m0 + r) * K + c0 + 16 * s);
  const float *g = dY + (size_t)m0 * N;
  for (int p = p0; p < p1; p++) {
    __m512 b[4];
    for (int s = 0; s < S; s++) b[s] = _mm512_loadu_ps(st + ((size_t)s * CD_SKINNY_PCHUNK + (p - p0)) * 16);
    for (int r = 0; r < R; r++) {
      __m512 a = _mm512_set1_ps(g[(size_t)r * N + p]);
      for (int s = 0; s < S; s++) acc[r * S + s] = _mm512_fmadd_ps(a, b[s], acc[r * S + s]);
    }
  }
  for (int r = 0; r < R; r++)
    for (int s = 0; s < S; s++) _mm512_storeu_ps(dX + (size_t)(m0 + r) * K + c0 + 16 * s, acc[r * S + s]);
}

/* All M rows of S strips from c0, in row tiles of about equal size, up to 24 / S rows (at
 * least 6). */
INLINE void bwd_strips(int S, float *dX, const float *dY, const float *st, int M, int K, int N, int c0, int p0,
                       int p1) {
  int rmax = S == 4 ? 6 : 12, nt = (M + rmax - 1) / rmax;
  for (int t = 0, m = 0; t < nt; t++) {
    int R = M / nt + (t < M % nt);
    switch (R) {
#define BW_CASE(RR) case RR: if (RR * S <= 24) bwd_tile(RR, S, dX, dY, st, K, N, m, c0, p0, p1); break;
      BW_CASE(1) BW_CASE(2) BW_CASE(3) BW_CASE(4) BW_CASE(5) BW_CASE(6)
      BW_CASE(7) BW_CASE(8) BW_CASE(9) BW_CASE(10) BW_CASE(11) BW_CASE(12)
#undef BW_CASE
    default: break;
    }
    m += R;
  }
}

/* Columns [j0, j1) of dX, the AVX2 kernel's walk: W in chunks of CD_SKINNY_PCHUNK rows, each
 * chunk's part of every strip read once, row-contiguously, into pk ([strip][row][16] float32,
 * bfloat16 widened) and reused from L1 by all row tiles; the last partial strip in plain C. */
INLINE void avx512_skinny_backward(float *dX, const float *dY, const void *W, int BF, int M, int K, int N,
                                   int j0, int j1, float *pk) {
  enum { PCHUNK = CD_SKINNY_PCHUNK };
  const size_t esz = BF ? 2 : 4;
  const char *Wb = W;
  int jb0 = j0 / 16, ns = (j1 - j0) / 16; /* full strips */
  for (int p0 = 0; p0 < N && ns > 0; p0 += PCHUNK) {
    int p1 = p0 + PCHUNK < N ? p0 + PCHUNK : N;
    for (int p = p0; p < p1; p++) {
      size_t w = (size_t)p * K + (size_t)jb0 * 16;
      for (int j = 0; j < ns; j++) {
        __m512 v = BF ? _mm512_castsi512_ps(_mm512_slli_epi32(
                            _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)((const uint16_t *)W + w + 16 * j))), 16))
                      : _mm512_loadu_ps((const float *)W + w + 16 * j);
        _mm512_storeu_ps(pk + ((size_t)j * PCHUNK + (p - p0)) * 16, v);
      }
    }
    for (int j = 0; j < ns;) {
      int S = ns - j >= 4 ? 4 : ns - j >= 2 ? 2 : 1, c0 = (jb0 + j) * 16;
      /* the next chunk's part of these strips (a line per row and strip), fetched meanwhile */
      for (int p = p1; p < p1 + PCHUNK && p < N; p++)
        for (size_t b = 0; b < (size_t)S * 16 * esz; b += 64) _mm_prefetch(Wb + ((size_t)p * K + c0) * esz + b, _MM_HINT_T1);
      const float *st = pk + (size_t)j * PCHUNK * 16;
      if (S == 4) bwd_strips(4, dX, dY, st, M, K, N, c0, p0, p1);
      else if (S == 2) bwd_strips(2, dX, dY, st, M, K, N, c0, p0, p1);
      else bwd_strips(1, dX, dY, st, M, K, N, c0, p0, p1);
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
