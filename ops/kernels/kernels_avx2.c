/* Every AVX2 + FMA kernel: the GEMM tiles and their packers, the skinny products, and the
 * per-op kernels compiled for AVX2 (see kernels.h).
 *
 * GEMM: float32 and fp16-weight (F16C widening) tiles of MR x 16, C in
 * 2·MR ymm accumulators; per k step two 8-wide loads of the packed B row and MR broadcasts
 * of the packed A column. MR = 5 divides CLIP's 50 rows per image, so no tile rows are
 * wasted on ViT-B/32 (and 10 accumulators cover the FMA latency). */
#include "ops/kernels/kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#include <string.h>

#include "ops/kernels/gemm_x86.h"
#include "ops/kernels/skinny_x86.h"

enum { MR = 5, NR = 16 };

#define INLINE static inline __attribute__((always_inline))

/* A's element (i, p) is a[i * rs + p * cs]: packed (rs 1, cs MR) or in place (rs lda, cs 1). */
INLINE void tile_body(int kc, const float *a, ptrdiff_t rs, ptrdiff_t cs, const float *b, float *c,
                      ptrdiff_t ldc, int accumulate, const float *bnext) {
  __m256 acc0[MR], acc1[MR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; i++) acc0[i] = acc1[i] = _mm256_setzero_ps();
  for (int p = 0; p < kc; p++, a += cs, b += NR) {
    if (bnext) { /* the next micro-panel is 64 bytes per k step: one line per step */
      _mm_prefetch((const char *)bnext, _MM_HINT_T0);
      bnext += NR;
    }
    __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
      __m256 ai = _mm256_broadcast_ss(a + i * rs);
      acc0[i] = _mm256_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm256_fmadd_ps(ai, b1, acc1[i]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; i++) {
    float *ci = c + i * ldc;
    if (accumulate) {
      acc0[i] = _mm256_add_ps(acc0[i], _mm256_loadu_ps(ci));
      acc1[i] = _mm256_add_ps(acc1[i], _mm256_loadu_ps(ci + 8));
    }
    _mm256_storeu_ps(ci, acc0[i]);
    _mm256_storeu_ps(ci + 8, acc1[i]);
  }
}

CD_X86_TILE_FP32(tile_fp32, tile_body, MR)

/* A full 5-row micro-panel: rows 0-3 by 4 x 4 register transposes into the panel's columns
 * (stride 5), row 4 element by element. */
static void pack_a(const float *A, ptrdiff_t lda, int mr, int kc, float alpha, void *dst) {
  float *d = dst;
  if (mr != MR || alpha != 1.0f) {
    cd_gemm_pack_a_f32(A, lda, mr, kc, alpha, d, MR);
    return;
  }
  int p = 0;
  for (; p + 4 <= kc; p += 4) {
    __m128 r0 = _mm_loadu_ps(A + p), r1 = _mm_loadu_ps(A + lda + p);
    __m128 r2 = _mm_loadu_ps(A + 2 * lda + p), r3 = _mm_loadu_ps(A + 3 * lda + p);
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
    float *c = d + (size_t)p * MR;
    _mm_storeu_ps(c, r0);
    _mm_storeu_ps(c + MR, r1);
    _mm_storeu_ps(c + 2 * MR, r2);
    _mm_storeu_ps(c + 3 * MR, r3);
    for (int q = 0; q < 4; q++) c[q * MR + 4] = A[4 * lda + p + q];
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
  const __m128i *h = b;
  for (int i = 0; i < kc * NR / 8; i++) _mm256_store_ps(dst + 8 * i, _mm256_cvtph_ps(_mm_load_si128(h + i)));
}

const cd_gemm_kernel cd_gemm_avx2_fp32 = {
    .name = "avx2 fp32 5x16",
    .isa = CD_ISA_AVX2, .prec = CD_PREC_FP32, .mr = MR, .nr = NR, .mc = 120, .kc = 384,
    .kstep = 1, .a_bytes = 4, .b_bytes = 4, .a_in_place = 1, .tile = tile_fp32, .pack_a = pack_a,
    .pack_b = pack_b_fp32, .widen_b = NULL};

const cd_gemm_kernel cd_gemm_avx2_fp16 = {
    .name = "avx2 fp16 5x16 (half weights widened by F16C, float32 arithmetic)",
    .isa = CD_ISA_AVX2, .prec = CD_PREC_FP16, .mr = MR, .nr = NR, .mc = 120, .kc = 384,
    .kstep = 1, .a_bytes = 4, .b_bytes = 2, .a_in_place = 1, .tile = tile_fp32, .pack_a = pack_a,
    .pack_b = pack_b_fp16, .widen_b = widen_fp16};

/* ---- skinny products (few rows against a [N,K] weight, see ops/gemm/skinny.h) ----
 * Register tiles:
 *   forward : 3 weight rows x 4 input rows of 8-lane partial dot products (12 accumulators),
 *             reduced horizontally at the end; threads split the weight rows.
 *   backward: 6 rows x 16 columns of dX (12 accumulators) updated with a broadcast of dY
 *             times a 16-wide strip of a weight row; threads split the column strips.
 * Tiles at the edges are the same code instantiated with smaller constant sizes. */

INLINE float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/* hsum8 of v[0..8) into s[0..8) together, with the same additions in the same order:
 * a_j = l_j + l_(j+4), then (a_0 + a_2) + (a_1 + a_3) (hadd of [a0, a2, a1, a3] twice). With
 * K of a few dozen (small towers) the per-accumulator reduction cost as much as the FMAs. */
INLINE void hsum8x8(const __m256 *v, float *s) {
  __m256 p[4], u[2];
  for (int i = 0; i < 4; i++) {
    __m256 t = _mm256_add_ps(_mm256_permute2f128_ps(v[2 * i], v[2 * i + 1], 0x20),
                             _mm256_permute2f128_ps(v[2 * i], v[2 * i + 1], 0x31));
    p[i] = _mm256_permute_ps(t, 0xD8); /* [a0 a2 a1 a3] of v[2i] | of v[2i+1] */
  }
  u[0] = _mm256_hadd_ps(p[0], p[1]);
  u[1] = _mm256_hadd_ps(p[2], p[3]);
  __m256 r = _mm256_hadd_ps(u[0], u[1]); /* [s0 s2 s4 s6 | s1 s3 s5 s7] */
  _Alignas(32) float o[8];
  _mm256_store_ps(o, r);
  for (int i = 0; i < 4; i++) s[2 * i] = o[i], s[2 * i + 1] = o[4 + i];
}

/* The same for v[0..4). */
INLINE void hsum8x4(const __m256 *v, float *s) {
  __m256 p[2];
  for (int i = 0; i < 2; i++) {
    __m256 t = _mm256_add_ps(_mm256_permute2f128_ps(v[2 * i], v[2 * i + 1], 0x20),
                             _mm256_permute2f128_ps(v[2 * i], v[2 * i + 1], 0x31));
    p[i] = _mm256_permute_ps(t, 0xD8);
  }
  __m256 u = _mm256_hadd_ps(p[0], p[1]);
  __m256 r = _mm256_hadd_ps(u, u); /* [s0 s2 s0 s2 | s1 s3 s1 s3] */
  _Alignas(32) float o[8];
  _mm256_store_ps(o, r);
  s[0] = o[0], s[1] = o[4], s[2] = o[1], s[3] = o[5];
}

/* Weights as float32 rows, or as bfloat16 rows widened exactly to float32 on load (the
 * 16 bits shifted into the high half): one body per op, instantiated for both (BF constant;
 * esz bytes per weight). */
INLINE __m256 w_load8(const void *W, int BF, size_t i) {
  if (BF)
    return _mm256_castsi256_ps(_mm256_slli_epi32(
        _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)W + i))), 16));
  return _mm256_loadu_ps((const float *)W + i);
}

INLINE void fwd_tile(int NW, int NX, const void *W, int BF, const float *X, int K, size_t ldx, int N,
                     float *out, const float *bias, int n0, int m0, const char *pf, int npf) {
  __m256 acc[3][4];
  for (int a = 0; a < NW; a++)
    for (int b = 0; b < NX; b++) acc[a][b] = _mm256_setzero_ps();
  size_t w[3];
  const float *x[4];
  for (int a = 0; a < NW; a++) w[a] = (size_t)(n0 + a) * K;
  for (int b = 0; b < NX; b++) x[b] = X + (size_t)(m0 + b) * ldx;
  int K8 = K & ~7;
  for (int i = 0; i < npf; i++) _mm_prefetch(pf + 64 * i, _MM_HINT_T1);
  for (int k = 0; k < K8; k += 8) {
    __m256 wv[3];
    for (int a = 0; a < NW; a++) wv[a] = w_load8(W, BF, w[a] + k);
    for (int b = 0; b < NX; b++) {
      __m256 xv = _mm256_loadu_ps(x[b] + k);
      for (int a = 0; a < NW; a++) acc[a][b] = _mm256_fmadd_ps(wv[a], xv, acc[a][b]);
    }
  }
  /* the lane sums of all accumulators, 8 (then 4) at a time, in hsum8's order */
  _Alignas(32) float sum[16];
  const __m256 *v = &acc[0][0]; /* acc[a][b] is v[4a + b] */
  if (NX == 4 && NW >= 2) {
    hsum8x8(v, sum);
    if (NW == 3) hsum8x4(v + 8, sum + 8);
  } else
    for (int a = 0; a < NW; a++)
      for (int b = 0; b < NX; b++) sum[4 * a + b] = hsum8(acc[a][b]);
  for (int a = 0; a < NW; a++)
    for (int b = 0; b < NX; b++) {
      out[(size_t)(m0 + b) * N + n0 + a] = cd_x86_skinny_out(sum[4 * a + b], W, BF, w[a], x[b], K8, K, bias, n0 + a);
    }
}

/* While the tiles of M rows run over NW weight rows (from L1 after the first), the next
 * tile's weight rows are prefetched, a share per tile: the memory streams the whole time
 * instead of only in the first tile of each weight row. */
INLINE void fwd_rows(int NW, const void *W, int BF, const float *X, int M, int K, size_t ldx, int N,
                     float *out, const float *bias, int n0, int nend) {
  const size_t esz = BF ? 2 : 4;
  /* 4-row tiles, then 3-row ones for the remainder (M = 4a + 3b for any M >= 9): a 3 x 3 tile
   * of 9 accumulators still covers the FMA latency, a 3 x 1 tile would not */
  int n3 = M >= 9 ? (4 - M % 4) % 4 : 0, n4 = (M - 3 * n3) / 4;
  int nt = n4 + n3 + ((M - 3 * n3) % 4 != 0), rest = nend - n0 - NW < 3 ? nend - n0 - NW : 3;
  int left = rest > 0 ? (int)(((size_t)rest * K * esz + 63) / 64) : 0, per = nt > 1 ? (left + nt - 1) / nt : 0;
  if (per > 16) per = 16; /* a longer burst of misses stalls the loads; the rest is the hardware's */
  const char *pf = (const char *)W + (size_t)(n0 + NW) * K * esz; /* the next tile's rows, contiguous */
  int m = 0, t = 0;
#define PF_NEXT pf, per < left ? per : left
#define PF_STEP pf += 64 * (per < left ? per : left), left -= per < left ? per : left
  for (; t < n4; m += 4, t++, PF_STEP) fwd_tile(NW, 4, W, BF, X, K, ldx, N, out, bias, n0, m, PF_NEXT);
  for (; t < n4 + n3; m += 3, t++, PF_STEP) fwd_tile(NW, 3, W, BF, X, K, ldx, N, out, bias, n0, m, PF_NEXT);
  switch (M - m) {
  case 3: fwd_tile(NW, 3, W, BF, X, K, ldx, N, out, bias, n0, m, PF_NEXT); break;
  case 2: fwd_tile(NW, 2, W, BF, X, K, ldx, N, out, bias, n0, m, PF_NEXT); break;
  case 1: fwd_tile(NW, 1, W, BF, X, K, ldx, N, out, bias, n0, m, PF_NEXT); break;
  default: break;
  }
#undef PF_NEXT
#undef PF_STEP
}

/* Input rows per pass over the weight rows: many stacked rows (lockstep) would stream every
 * input row through the cache once per 3 weight rows; in blocks of about XBYTES the block
 * stays in L2 while the weight rows (in L2 too) pass over it. Each output element is
 * computed alone, so the blocks do not change the bits. */
enum { XBYTES = 128 << 10 };

INLINE void avx2_skinny_forward(float *out, const float *X, size_t ldx, const void *W, int BF,
                                const float *bias, int M, int K, int N, int n0, int n1) {
  int rows = (int)(XBYTES / (sizeof(float) * ldx)) & ~3;
  if (rows < 8) rows = 8;
  for (int m0 = 0; m0 < M; m0 += rows) {
    int m = M - m0 < rows ? M - m0 : rows, n = n0;
    const float *Xm = X + (size_t)m0 * ldx;
    float *om = out + (size_t)m0 * N;
    /* the prefetch runs past n1 (to N): the next range of rows is usually the next call's */
    for (; n + 3 <= n1; n += 3) fwd_rows(3, W, BF, Xm, m, K, ldx, N, om, bias, n, N);
    if (n1 - n == 2) fwd_rows(2, W, BF, Xm, m, K, ldx, N, om, bias, n, N);
    else if (n1 - n == 1) fwd_rows(1, W, BF, Xm, m, K, ldx, N, om, bias, n, N);
  }
}

void cd_skinny_forward_avx2(float *out, const float *X, size_t ldx, const float *W,
                            const float *bias, int M, int K, int N, int n0, int n1) {
  avx2_skinny_forward(out, X, ldx, W, 0, bias, M, K, N, n0, n1);
}

void cd_skinny_forward_bf16_avx2(float *out, const float *X, size_t ldx, const uint16_t *W,
                                 const float *bias, int M, int K, int N, int n0, int n1) {
  avx2_skinny_forward(out, X, ldx, W, 1, bias, M, K, N, n0, n1);
}

INLINE void bwd_tile(int rows, float *dX, const float *dY, const float *pk, int K, int N, int m0,
                     int j0, int p0, int p1) {
  __m256 acc[6][2];
  for (int r = 0; r < rows; r++) {
    acc[r][0] = _mm256_loadu_ps(dX + (size_t)(m0 + r) * K + j0);
    acc[r][1] = _mm256_loadu_ps(dX + (size_t)(m0 + r) * K + j0 + 8);
  }
  const float *g = dY + (size_t)m0 * N;
  for (int p = p0; p < p1; p++) {
    const float *w = pk + (size_t)(p - p0) * 16;
    __m256 b0 = _mm256_loadu_ps(w), b1 = _mm256_loadu_ps(w + 8);
    for (int r = 0; r < rows; r++) {
      __m256 a = _mm256_broadcast_ss(g + (size_t)r * N + p);
      acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
    }
  }
  for (int r = 0; r < rows; r++) {
    float *d = dX + (size_t)(m0 + r) * K + j0;
    _mm256_storeu_ps(d, acc[r][0]);
    _mm256_storeu_ps(d + 8, acc[r][1]);
  }
}

/* Two adjacent strips (32 columns) for `rows` <= 3 rows: 12 accumulators fed by 4 loads and
 * 3 broadcasts per weight row, where the 16-column tile needs 2 loads and 6 broadcasts (the
 * broadcasts compete with the FMAs for the vector pipes). Each element still sums its
 * weight rows in order. */
INLINE void bwd_tile32(int rows, float *dX, const float *dY, const float *pk, const float *pk2, int K,
                       int N, int m0, int j0, int p0, int p1) {
  __m256 acc[3][4];
  for (int r = 0; r < rows; r++)
    for (int v = 0; v < 4; v++) acc[r][v] = _mm256_loadu_ps(dX + (size_t)(m0 + r) * K + j0 + 8 * v);
  const float *g = dY + (size_t)m0 * N;
  for (int p = p0; p < p1; p++) {
    const float *w = pk + (size_t)(p - p0) * 16, *w2 = pk2 + (size_t)(p - p0) * 16;
    __m256 b0 = _mm256_load_ps(w), b1 = _mm256_load_ps(w + 8);
    __m256 b2 = _mm256_load_ps(w2), b3 = _mm256_load_ps(w2 + 8);
    for (int r = 0; r < rows; r++) {
      __m256 a = _mm256_broadcast_ss(g + (size_t)r * N + p);
      acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
      acc[r][2] = _mm256_fmadd_ps(a, b2, acc[r][2]);
      acc[r][3] = _mm256_fmadd_ps(a, b3, acc[r][3]);
    }
  }
  for (int r = 0; r < rows; r++)
    for (int v = 0; v < 4; v++) _mm256_storeu_ps(dX + (size_t)(m0 + r) * K + j0 + 8 * v, acc[r][v]);
}

/* Columns [j0, j1) of dX (the caller's strips): W is walked in chunks of rows so that a
 * chunk's part of every strip is read from memory once, row-contiguously, into `strip`
 * ([strip][row][16] float32; bfloat16 weights are widened on the way) and reused from L1 by
 * all row tiles. A last partial strip (K not a multiple of 16) is done in plain C. */
INLINE void avx2_skinny_backward(float *dX, const float *dY, const void *W, int BF, int M, int K, int N,
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
        float *d = pk + ((size_t)j * PCHUNK + (p - p0)) * 16;
        _mm256_store_ps(d, w_load8(W, BF, w + j * 16));
        _mm256_store_ps(d + 8, w_load8(W, BF, w + j * 16 + 8));
      }
    }
    for (int j = 0; j < ns; j++) {
      const float *st = pk + (size_t)j * PCHUNK * 16;
      int c0 = (jb0 + j) * 16, m = 0;
      /* the next chunk's part of this strip (a line per row), fetched while this one computes */
      for (int p = p1; p < p1 + PCHUNK && p < N; p++) _mm_prefetch(Wb + ((size_t)p * K + c0) * esz, _MM_HINT_T1);
      if (j + 1 < ns && M >= 3) { /* strips j and j + 1 together */
        const float *st2 = st + PCHUNK * 16;
        for (int p = p1; p < p1 + PCHUNK && p < N; p++) _mm_prefetch(Wb + ((size_t)p * K + c0 + 16) * esz, _MM_HINT_T1);
        for (; m + 3 <= M; m += 3) bwd_tile32(3, dX, dY, st, st2, K, N, m, c0, p0, p1);
        if (M - m == 2) bwd_tile32(2, dX, dY, st, st2, K, N, m, c0, p0, p1);
        else if (M - m == 1) bwd_tile32(1, dX, dY, st, st2, K, N, m, c0, p0, p1);
        j++;
        continue;
      }
      for (; m + 6 <= M; m += 6) bwd_tile(6, dX, dY, st, K, N, m, c0, p0, p1);
      switch (M - m) {
      case 5: bwd_tile(5, dX, dY, st, K, N, m, c0, p0, p1); break;
      case 4: bwd_tile(4, dX, dY, st, K, N, m, c0, p0, p1); break;
      case 3: bwd_tile(3, dX, dY, st, K, N, m, c0, p0, p1); break;
      case 2: bwd_tile(2, dX, dY, st, K, N, m, c0, p0, p1); break;
      case 1: bwd_tile(1, dX, dY, st, K, N, m, c0, p0, p1); break;
      default: break;
      }
    }
  }
  cd_x86_skinny_dx_tail(dX, dY, W, BF, M, K, N, j0 + ns * 16, j1);
}

void cd_skinny_backward_avx2(float *dX, const float *dY, const float *W, int M, int K, int N,
                             int j0, int j1, float *pk) {
  avx2_skinny_backward(dX, dY, W, 0, M, K, N, j0, j1, pk);
}

void cd_skinny_backward_bf16_avx2(float *dX, const float *dY, const uint16_t *W, int M, int K,
                                  int N, int j0, int j1, float *pk) {
  avx2_skinny_backward(dX, dY, W, 1, M, K, N, j0, j1, pk);
}

/* ---- the per-op kernels (activation, epilogue, LayerNorm, softmax, attention head) ---- */
#define ATT_W 16 /* attention tile columns */
#include "ops/kernels/level_ops.h"

CD_LEVEL_OPS(avx2)
#else
typedef int cd_kernels_avx2_unused; /* ISO C: no empty translation unit */
#endif
