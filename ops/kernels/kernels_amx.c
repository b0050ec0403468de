/* AMX kernels: the skinny products against bfloat16 weight rows (prompt tuning's bf16 text
 * tower, see ops/gemm/skinny.h) on tdpbf16ps, 16 x 16 float32 tiles.
 *
 * Numerics: the weights are bfloat16 already (exact in a tile). The float32 activations are
 * split once per product into hi = bf16(x) and lo = bf16(x - hi), and every product is
 * W·hi + W·lo: two exact bfloat16 products summed in float32, so about 16 bits of each
 * activation are kept (relative error of x about 2^-16) instead of the 8 of a plain bf16
 * product. Per 32-wide K step the hi tile is accumulated, then the lo tile, in a fixed order:
 * each output element depends only on its own row of activations, never on the other rows,
 * on M or on the thread split (a tile row's result uses that row of A alone; partial sums are
 * spilled exactly as float32).
 *
 * Layouts (tile = 16 rows of 64 bytes):
 *   packed activations, from cd_skinny_pack_bf16_amx: per block of 16 rows b and 32-wide step
 *     s, the hi tile then the lo tile (512 bf16 each) at ((b * S + s) * 2 + part) * 512;
 *     tile row r = row 16b + r, its 32 values from column 32s (A of both products). Rows
 *     past M and columns past K are zero.
 *   forward: out[m, n] = X[m, :]·W[n, :] (+ bias after the sum); A = packed X, B = W^T in
 *     pairs along K (tile row q: the pairs of columns 32s + 2q of 16 weight rows), packed
 *     WBLOCK weight rows at a time as they stream from memory, reused by every block of rows.
 *     C tiles: 2 blocks of rows x 2 blocks of weight rows, stored straight into out (tile
 *     stores read back at once by vector loads had cost 40% of the product at K = 512).
 *   backward: dX[m, c] += Σ_p dY[m, p]·W[p, c]; A = packed dY, B = W in pairs of rows
 *     (rows 2q and 2q + 1 interleaved: 16 columns x 2 per tile row) copied into the scratch a
 *     chunk of up to CD_SKINNY_AMX_NC weight rows at a time (as many as stay in L2), reused by
 *     every block of rows; C tiles (2 blocks of rows x 2 strips of 16 columns) loaded from dX
 *     and stored back once per chunk.
 * A frozen weight's tiles are packed once instead (cd_skinny_tile_weight_bf16_amx, at load:
 * the forward's B tiles by 32 weight rows, then the backward's pair tiles of every strip over
 * all of N; about twice the bf16 weight's bytes). The products then read them in place and
 * pack nothing, and the backward takes each pair of strips over all of N at once (each dX
 * tile loaded and stored once, not once per chunk). Every output element sums the same
 * products in the same order either way: the same bits.
 * Both prefetch the weight rows (or tiles) of their next pass while this one computes.
 * On a 2-core Sapphire Rapids (one thread, 156 rows: 12 runs in lockstep at the default n_ctx, weights
 * from memory, tiles packed at load), counting W·hi + W·lo against the tile peak (1024
 * flop / cycle): forward 50-54% at K = 512, 61-70% at K = 2048; backward 70% for 512 x 1536
 * and 512 x 2048, 44% for 2048 x 512, 49% for 512 x 512 (per-product packing and transposed
 * stores: 37-38%, 60%; 43-48%, 23%, 42%). */
#include "ops/kernels/kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))

enum { TILE = 512 }; /* bf16 elements of a 16 x 32 tile */

typedef struct {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
} tile_config;

/* All 8 tiles 16 rows x 64 bytes: C in tmm0-3, A in tmm4-5, B in tmm6-7. */
static void tiles_on(void) {
  tile_config c;
  memset(&c, 0, sizeof c);
  c.palette = 1;
  for (int t = 0; t < 8; t++) c.colsb[t] = 64, c.rows[t] = 16;
  _tile_loadconfig(&c);
}

/* The weight rows the next pass needs, fetched into L2 a share at a time while this pass
 * computes, so that the memory streams the whole time instead of only while packing: rows
 * [r0, r1) of `bytes` bytes from column offset `off`, ld bytes apart. */
typedef struct {
  const char *row; /* the next line's row */
  size_t ld;
  long per_row, col, rows_left;
} prefetcher;

static prefetcher pf_rows(const void *W, size_t ld, size_t off, int r0, int r1, size_t bytes) {
  prefetcher p = {(const char *)W + (size_t)r0 * ld + off, ld, (long)((bytes + 63) / 64), 0, r1 - r0};
  return p;
}

static long pf_total(const prefetcher *p) { return p->rows_left > 0 ? p->rows_left * p->per_row : 0; }

static void pf_some(prefetcher *p, long n) {
  for (; n > 0 && p->rows_left > 0; n--) {
    _mm_prefetch(p->row + 64 * p->col, _MM_HINT_T1);
    if (++p->col == p->per_row) p->col = 0, p->row += p->ld, p->rows_left--;
  }
}

/* ---- packing the activations ---- */

/* hi and lo of 32 float32 values (x0: the first 16) as 32 bf16 each. */
INLINE void split32(__m512 x0, __m512 x1, __m512i *hi, __m512i *lo) {
  __m512i h = (__m512i)_mm512_cvtne2ps_pbh(x1, x0);
  __m512 h0 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_castsi512_si256(h)), 16));
  __m512 h1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(h, 1)), 16));
  *hi = h;
  *lo = (__m512i)_mm512_cvtne2ps_pbh(_mm512_sub_ps(x1, h1), _mm512_sub_ps(x0, h0));
}

/* r[i] = row i of a 16 x 16 matrix of 32-bit elements; transposed in place. */
INLINE void transpose16(__m512i *r) {
  __m512i t[16];
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; i++) {
    r[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    r[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    r[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    r[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  /* each 128-bit lane of r[4i + j] now holds column j of a 4 x 4 block */
  for (int h = 0; h < 2; h++)
    for (int j = 0; j < 4; j++) {
      t[8 * h + j] = _mm512_shuffle_i32x4(r[8 * h + j], r[8 * h + 4 + j], 0x88);
      t[8 * h + 4 + j] = _mm512_shuffle_i32x4(r[8 * h + j], r[8 * h + 4 + j], 0xdd);
    }
  for (int j = 0; j < 8; j++) {
    r[j] = _mm512_shuffle_i32x4(t[j], t[8 + j], 0x88);
    r[8 + j] = _mm512_shuffle_i32x4(t[j], t[8 + j], 0xdd);
  }
}

/* 32 values of row x from column k0 (zeros past K), as two vectors. */
INLINE void load32(const float *x, int k0, int K, __m512 *x0, __m512 *x1) {
  int n = K - k0;
  if (n >= 32) {
    *x0 = _mm512_loadu_ps(x + k0);
    *x1 = _mm512_loadu_ps(x + k0 + 16);
    return;
  }
  __mmask16 m0 = n >= 16 ? 0xFFFF : (__mmask16)((1u << n) - 1);
  __mmask16 m1 = n <= 16 ? 0 : (__mmask16)((1u << (n - 16)) - 1);
  *x0 = _mm512_maskz_loadu_ps(m0, x + k0);
  *x1 = _mm512_maskz_loadu_ps(m1, x + k0 + 16);
}

void cd_skinny_pack_bf16_amx(uint16_t *dst, const float *X, size_t ldx, int M, int K, int b0, int b1) {
  int S = (K + 31) / 32;
  for (int b = b0; b < b1; b++)
    for (int r = 0; r < 16; r++) {
      int m = 16 * b + r;
      uint16_t *d = dst + (size_t)b * S * 2 * TILE + 32 * r;
      for (int s = 0; s < S; s++, d += 2 * TILE) {
        __m512 x0 = _mm512_setzero_ps(), x1 = _mm512_setzero_ps();
        __m512i hi, lo;
        if (m < M) load32(X + (size_t)m * ldx, 32 * s, K, &x0, &x1);
        split32(x0, x1, &hi, &lo);
        _mm512_store_si512(d, hi);
        _mm512_store_si512(d + TILE, lo);
      }
    }
}

/* ---- forward ---- */

/* C tiles of MP row blocks x NP weight blocks (tile 2b + a: row block b, weight block a):
 * out's rows [m0, m0 + 16 MP) x columns [n, n + 16 NP), stored straight into out (its rows
 * N floats apart), or through cbuf where a tile runs past M rows or the caller's columns. */
typedef struct {
  float *out;
  int M, N, n1;
} fwd_out;

static void c_copy_out(const fwd_out *o, int m0, int n, const float *buf) {
  int mm = o->M - m0 < 16 ? o->M - m0 : 16, nn = o->n1 - n < 16 ? o->n1 - n : 16;
  __mmask16 k = (__mmask16)((1u << nn) - 1);
  for (int r = 0; r < mm; r++) _mm512_mask_storeu_ps(o->out + (size_t)(m0 + r) * o->N + n, k, _mm512_load_ps(buf + 16 * r));
}

#define C_OUT(tile, b, a)                                                                      \
  do {                                                                                         \
    int m0_ = m0 + 16 * (b), n_ = n + 16 * (a);                                                \
    if (m0_ + 16 <= o->M && n_ + 16 <= o->n1)                                                  \
      _tile_stored(tile, o->out + (size_t)m0_ * o->N + n_, o->N * 4);                          \
    else {                                                                                     \
      _tile_stored(tile, cbuf, 64);                                                            \
      c_copy_out(o, m0_, n_, cbuf);                                                            \
    }                                                                                          \
  } while (0)

/* out rows [m0, m0 + 16 MP) x columns [n, n + 16 NP) = X·W^T over all S steps. xp: packed X
 * (rows) of row block m0/16, the next block S * 2 tiles on; wt: the weight pair's tiles, step
 * s's block a at (2s + a) * TILE. Per step the two weight tiles, then per part (hi, lo) the
 * two row blocks' tiles. */
INLINE void fwd_body(int NP, int MP, const fwd_out *o, int m0, int n, const uint16_t *wt, const uint16_t *xp,
                     int S, prefetcher *pf, long per_step) {
  _Alignas(64) float cbuf[256];
  _tile_zero(0);
  if (NP == 2) _tile_zero(1);
  if (MP == 2) _tile_zero(2);
  if (NP == 2 && MP == 2) _tile_zero(3);
  const size_t xb = (size_t)S * 2 * TILE; /* next row block */
  for (int s = 0; s < S; s++) {
    pf_some(pf, per_step);
    _tile_loadd(6, wt + (size_t)2 * s * TILE, 64);
    if (NP == 2) _tile_loadd(7, wt + (size_t)(2 * s + 1) * TILE, 64);
    for (int part = 0; part < 2; part++) {
      const uint16_t *x = xp + ((size_t)s * 2 + part) * TILE;
      _tile_loadd(4, x, 64);
      if (MP == 2) _tile_loadd(5, x + xb, 64);
      _tile_dpbf16ps(0, 4, 6);
      if (NP == 2) _tile_dpbf16ps(1, 4, 7);
      if (MP == 2) _tile_dpbf16ps(2, 5, 6);
      if (NP == 2 && MP == 2) _tile_dpbf16ps(3, 5, 7);
    }
  }
  C_OUT(0, 0, 0);
  if (NP == 2) C_OUT(1, 0, 1);
  if (MP == 2) C_OUT(2, 1, 0);
  if (NP == 2 && MP == 2) C_OUT(3, 1, 1);
}

/* Weight rows [n, n + 16 NP) (zeros from n1 on and past K) as the forward's B tiles, W^T in
 * pairs along K: step s's block a at (2s + a) * TILE, its row q the pairs (W[r][32s + 2q],
 * W[r][32s + 2q + 1]) of the block's 16 rows r. */
static void pack_w_rows(uint16_t *dst, const uint16_t *W, int K, int n, int NP, int n1, int S) {
  for (int a = 0; a < NP; a++)
    for (int s = 0; s < S; s++) {
      __m512i v[16];
      for (int r = 0; r < 16; r++) {
        int row = n + 16 * a + r, left = row < n1 ? K - 32 * s : 0;
        __mmask32 m = left >= 32 ? 0xFFFFFFFFu : left <= 0 ? 0 : (__mmask32)((1u << left) - 1);
        v[r] = _mm512_maskz_loadu_epi16(m, W + (size_t)(row < n1 ? row : n) * K + 32 * s);
      }
      transpose16(v);
      for (int q = 0; q < 16; q++) _mm512_store_si512(dst + (size_t)(2 * s + a) * TILE + 32 * q, v[q]);
    }
}

/* out[m, n0 .. n1) += bias over the rows (after the products: out = X·W^T + bias, rounded as
 * one sum of the two). */
static void add_bias(float *out, const float *bias, int M, int N, int n0, int n1) {
  for (int m = 0; m < M; m++)
    for (int n = n0; n < n1; n += 16) {
      __mmask16 k = n1 - n >= 16 ? 0xFFFF : (__mmask16)((1u << (n1 - n)) - 1);
      float *o = out + (size_t)m * N + n;
      _mm512_mask_storeu_ps(o, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, o), _mm512_maskz_loadu_ps(k, bias + n)));
    }
}

/* Rows of X per pass over a pair of weight blocks: their packed tiles stay in L2 while the
 * weight tiles (in L1 / L2) pass over them. */
enum { XPASS_BYTES = 256 << 10 };

/* Weight rows packed at a time (128 KB at K = 512, 512 KB at 2048: in L2 beside a group of
 * input rows). A multiple of 32. */
enum { WBLOCK = 128 };

void cd_skinny_forward_bf16_amx(float *out, const uint16_t *Xp, const uint16_t *W, const uint16_t *Wt,
                                const float *bias, int M, int K, int N, int n0, int n1) {
  if (M <= 0 || n1 <= n0) return;
  int S = (K + 31) / 32, MB = (M + 15) / 16;
  size_t tile_bytes = (size_t)S * 4 * TILE;
  int G = (int)(XPASS_BYTES / tile_bytes) & ~1;
  if (G < 2) G = 2;
  /* the caller's weight rows a block at a time, packed once and reused by every group of
   * rows (X passes through L2 once per block instead of once per 32 weight rows), or read
   * from the tiles packed at load (Wt, the same layout); the next block's rows or tiles are
   * fetched a few lines per tile step meanwhile */
  size_t pair_tiles = (size_t)S * 2 * TILE;
  int bpairs = (n1 - n0 + 31) / 32 < WBLOCK / 32 ? (n1 - n0 + 31) / 32 : WBLOCK / 32;
  uint16_t *wt = NULL;
  if (!Wt && !(wt = aligned_alloc(64, (size_t)bpairs * pair_tiles * sizeof(uint16_t)))) abort();
  fwd_out o = {out, M, N, n1};
  tiles_on();
  for (int r0 = n0; r0 < n1; r0 += WBLOCK) {
    int r1 = r0 + WBLOCK < n1 ? r0 + WBLOCK : n1, npairs = (r1 - r0 + 31) / 32;
    int r2 = r1 + WBLOCK < n1 ? r1 + WBLOCK : n1;
    prefetcher pf;
    if (Wt) {
      wt = (uint16_t *)Wt + (size_t)(r0 / 32) * pair_tiles;
      pf = pf_rows(Wt, 0, (size_t)(r1 / 32) * pair_tiles * 2, 0, r2 > r1, (size_t)((r2 - r1 + 31) / 32) * pair_tiles * 2);
    } else {
      for (int i = 0; i < npairs; i++) {
        int nb = r0 + 32 * i;
        pack_w_rows(wt + i * pair_tiles, W, K, nb, r1 - nb > 16 ? 2 : 1, r1, S);
      }
      pf = pf_rows(W, (size_t)K * 2, 0, r1, r2, (size_t)K * 2);
    }
    long per_step = pf_total(&pf) / ((long)npairs * ((MB + 1) / 2) * S) + 1;
    for (int g0 = 0; g0 < MB; g0 += G) {
      int g1 = g0 + G < MB ? g0 + G : MB;
      for (int i = 0; i < npairs; i++) {
        int nb = r0 + 32 * i, NP = r1 - nb > 16 ? 2 : 1;
        const uint16_t *w = wt + i * pair_tiles;
        for (int mb = g0; mb < g1; mb += 2) {
          int MP = g1 - mb >= 2 ? 2 : 1;
          const uint16_t *xp = Xp + (size_t)mb * S * 2 * TILE;
          if (NP == 2 && MP == 2) fwd_body(2, 2, &o, 16 * mb, nb, w, xp, S, &pf, per_step);
          else if (NP == 2) fwd_body(2, 1, &o, 16 * mb, nb, w, xp, S, &pf, per_step);
          else if (MP == 2) fwd_body(1, 2, &o, 16 * mb, nb, w, xp, S, &pf, per_step);
          else fwd_body(1, 1, &o, 16 * mb, nb, w, xp, S, &pf, per_step);
        }
      }
    }
  }
  _tile_release();
  if (!Wt) free(wt);
  if (bias) add_bias(out, bias, M, N, n0, n1);
}

/* ---- backward ---- */

/* Weight rows [p0, p0 + 32 * TC) (zeros past N), columns [c0, c0 + 16 * ns) (zeros past K),
 * as TC steps x ns strips of pair tiles: strip j's step t at (j * TC + t) * TILE. */
static void pack_w_pairs(uint16_t *dst, const uint16_t *W, int K, int N, int p0, int TC, int c0, int ns) {
  /* row pair by row pair, each read front to back across the caller's columns */
  for (int t = 0; t < TC; t++)
    for (int q = 0; q < 16; q++) {
      int p = p0 + 32 * t + 2 * q;
      const uint16_t *w0 = W + (size_t)p * K, *w1 = w0 + K;
      for (int j = 0; j < ns; j++) {
        int c = c0 + 16 * j, nc = K - c < 16 ? K - c : 16;
        __mmask16 cm = (__mmask16)((1u << nc) - 1);
        __m256i r0 = p < N ? _mm256_maskz_loadu_epi16(cm, w0 + c) : _mm256_setzero_si256();
        __m256i r1 = p + 1 < N ? _mm256_maskz_loadu_epi16(cm, w1 + c) : _mm256_setzero_si256();
        __m512i v = _mm512_or_si512(_mm512_cvtepu16_epi32(r0), _mm512_slli_epi32(_mm512_cvtepu16_epi32(r1), 16));
        _mm512_store_si512(dst + ((size_t)j * TC + t) * TILE + 32 * q, v);
      }
    }
}

/* C tiles of MP row blocks x SP strips (tile 2i + j: row block i, strip j) from dX, or
 * through cbuf where a tile runs past M rows or the caller's columns. */
typedef struct {
  float *dX;
  int K, M, j1;
} bwd_out;

INLINE int c_direct(const bwd_out *o, int m0, int c) { return m0 + 16 <= o->M && c + 16 <= o->j1; }

static void c_to_buf(const bwd_out *o, int m0, int c, float *buf) {
  memset(buf, 0, sizeof(float) * 256);
  for (int r = 0; r < 16 && m0 + r < o->M; r++)
    for (int k = 0; k < 16 && c + k < o->j1; k++) buf[16 * r + k] = o->dX[(size_t)(m0 + r) * o->K + c + k];
}

static void c_from_buf(const bwd_out *o, int m0, int c, const float *buf) {
  for (int r = 0; r < 16 && m0 + r < o->M; r++)
    for (int k = 0; k < 16 && c + k < o->j1; k++) o->dX[(size_t)(m0 + r) * o->K + c + k] = buf[16 * r + k];
}

#define C_LOAD(tile, i, j)                                                                  \
  do {                                                                                      \
    int m0_ = m0 + 16 * (i), c_ = c + 16 * (j);                                             \
    if (c_direct(o, m0_, c_)) _tile_loadd(tile, o->dX + (size_t)m0_ * o->K + c_, o->K * 4); \
    else {                                                                                  \
      c_to_buf(o, m0_, c_, cbuf[tile]);                                                     \
      _tile_loadd(tile, cbuf[tile], 64);                                                    \
    }                                                                                       \
  } while (0)
#define C_STORE(tile, i, j)                                                                  \
  do {                                                                                       \
    int m0_ = m0 + 16 * (i), c_ = c + 16 * (j);                                              \
    if (c_direct(o, m0_, c_)) _tile_stored(tile, o->dX + (size_t)m0_ * o->K + c_, o->K * 4); \
    else {                                                                                   \
      _tile_stored(tile, cbuf[tile], 64);                                                    \
      c_from_buf(o, m0_, c_, cbuf[tile]);                                                    \
    }                                                                                        \
  } while (0)

/* dX rows [m0, m0 + 16 MP) x columns [c, c + 16 SP) += dY·W over one chunk of TC steps.
 * ya: packed dY of row block m0/16 at the chunk's first step; yb: the next row block's
 * offset; wb: the strip's pair tiles, ws: the next strip's offset. */
INLINE void bwd_body(int MP, int SP, const bwd_out *o, int m0, int c, const uint16_t *ya, size_t yb,
                     const uint16_t *wb, size_t ws, int TC, prefetcher *pf, long per_step) {
  _Alignas(64) float cbuf[4][256];
  C_LOAD(0, 0, 0);
  if (SP == 2) C_LOAD(1, 0, 1);
  if (MP == 2) C_LOAD(2, 1, 0);
  if (MP == 2 && SP == 2) C_LOAD(3, 1, 1);
  for (int t = 0; t < TC; t++) {
    pf_some(pf, per_step);
    _tile_loadd(6, wb + (size_t)t * TILE, 64);
    if (SP == 2) _tile_loadd(7, wb + ws + (size_t)t * TILE, 64);
    for (int part = 0; part < 2; part++) {
      const uint16_t *y = ya + ((size_t)t * 2 + part) * TILE;
      _tile_loadd(4, y, 64);
      if (MP == 2) _tile_loadd(5, y + yb, 64);
      _tile_dpbf16ps(0, 4, 6);
      if (SP == 2) _tile_dpbf16ps(1, 4, 7);
      if (MP == 2) _tile_dpbf16ps(2, 5, 6);
      if (MP == 2 && SP == 2) _tile_dpbf16ps(3, 5, 7);
    }
  }
  C_STORE(0, 0, 0);
  if (SP == 2) C_STORE(1, 0, 1);
  if (MP == 2) C_STORE(2, 1, 0);
  if (MP == 2 && SP == 2) C_STORE(3, 1, 1);
}

enum { WPAIR_BYTES = 384 << 10 };

/* bwd_body with MP and SP as constants */
static void bwd_block(int MP, int SP, const bwd_out *o, int m0, int c, const uint16_t *ya, size_t yb,
                      const uint16_t *wb, size_t ws, int TC, prefetcher *pf, long per_step) {
  if (MP == 2 && SP == 2) bwd_body(2, 2, o, m0, c, ya, yb, wb, ws, TC, pf, per_step);
  else if (MP == 2) bwd_body(2, 1, o, m0, c, ya, yb, wb, ws, TC, pf, per_step);
  else if (SP == 2) bwd_body(1, 2, o, m0, c, ya, yb, wb, ws, TC, pf, per_step);
  else bwd_body(1, 1, o, m0, c, ya, yb, wb, ws, TC, pf, per_step);
}

/* From the tiles packed at load (Wt, after the forward's: strip j's step t at (j * T + t) *
 * TILE): each pair of strips over all of N at once (each dX tile loaded and stored once),
 * its tiles (2 T KB) reused by every pair of row blocks while the next pair's are fetched;
 * the packed dY (all of it, MB T 2 KB) stays in L2. */
static void backward_tiled(const bwd_out *o, const uint16_t *dYp, const uint16_t *wt, int MB, int T, int j0,
                           int ns) {
  const size_t yb = (size_t)T * 2 * TILE, ws = (size_t)T * TILE;
  for (int j = 0; j < ns; j += 2) {
    int SP = ns - j >= 2 ? 2 : 1, c = j0 + 16 * j, next = ns - j - 2 < 2 ? ns - j - 2 : 2;
    const uint16_t *wb = wt + (size_t)j * ws;
    prefetcher pf = pf_rows(wb + 2 * ws, 0, 0, 0, next > 0, (size_t)(next > 0 ? next : 0) * ws * 2);
    long per_step = pf_total(&pf) / ((long)((MB + 1) / 2) * T) + 1;
    for (int mb = 0; mb < MB; mb += 2)
      bwd_block(MB - mb >= 2 ? 2 : 1, SP, o, 16 * mb, c, dYp + (size_t)mb * yb, yb, wb, ws, T, &pf, per_step);
  }
}

void cd_skinny_backward_bf16_amx(float *dX, const uint16_t *dYp, const uint16_t *W, const uint16_t *Wt,
                                 int M, int K, int N, int j0, int j1, uint16_t *wp) {
  if (M <= 0 || j1 <= j0 || N <= 0) return;
  int T = (N + 31) / 32, MB = (M + 15) / 16, ns = (j1 - j0 + 15) / 16;
  bwd_out o = {dX, K, M, j1};
  tiles_on();
  if (Wt) {
    backward_tiled(&o, dYp, Wt + CD_SKINNY_AMX_FWD_TILES(K, N) + (size_t)(j0 / 16) * T * TILE, MB, T, j0, ns);
    _tile_release();
    return;
  }
  /* steps per chunk: as many as the scratch takes (fewer passes of dX through the C tiles)
   * while the chunk's pair tiles stay in L2; the chunks never change the bits (the C tiles
   * are spilled exactly) */
  int TCMAX = (int)(WPAIR_BYTES / ((size_t)ns * 2 * TILE));
  if (TCMAX > CD_SKINNY_AMX_NC / 32) TCMAX = CD_SKINNY_AMX_NC / 32;
  if (TCMAX < 4) TCMAX = 4;
  const size_t yb = (size_t)T * 2 * TILE;
  for (int t0 = 0; t0 < T; t0 += TCMAX) {
    int TC = T - t0 < TCMAX ? T - t0 : TCMAX;
    pack_w_pairs(wp, W, K, N, 32 * t0, TC, j0, ns);
    /* the next chunk's part of the weight rows, over this chunk's row pairs */
    int p1 = 32 * (t0 + TC), p2 = p1 + CD_SKINNY_AMX_NC < N ? p1 + CD_SKINNY_AMX_NC : N;
    prefetcher pf = pf_rows(W, (size_t)K * 2, (size_t)j0 * 2, p1, p2, (size_t)(j1 - j0) * 2);
    long per_step = pf_total(&pf) / ((long)((MB + 1) / 2) * ((ns + 1) / 2) * TC) + 1;
    for (int mb = 0; mb < MB; mb += 2) {
      const uint16_t *ya = dYp + ((size_t)mb * T + t0) * 2 * TILE;
      for (int j = 0; j < ns; j += 2)
        bwd_block(MB - mb >= 2 ? 2 : 1, ns - j >= 2 ? 2 : 1, &o, 16 * mb, j0 + 16 * j, ya, yb,
                  wp + (size_t)j * TC * TILE, (size_t)TC * TILE, TC, &pf, per_step);
    }
  }
  _tile_release();
}

/* ---- the weight's tiles, packed once (at load: the weights are frozen) ---- */
size_t cd_skinny_tile_weight_bytes_amx(int K, int N) { return CD_SKINNY_AMX_WT_BYTES(K, N); }

void cd_skinny_tile_weight_bf16_amx(uint16_t *dst, const uint16_t *W, int K, int N) {
  int S = (K + 31) / 32, T = (N + 31) / 32;
  size_t pair_tiles = (size_t)S * 2 * TILE;
  /* the forward's: every 32 weight rows as the kernel packs them (a last pair of 16 rows
   * or fewer has its second block's tiles zero, never read) */
  memset(dst + (size_t)(T - 1) * pair_tiles, 0, pair_tiles * sizeof(uint16_t));
  for (int i = 0; i < T; i++) pack_w_rows(dst + i * pair_tiles, W, K, 32 * i, N - 32 * i > 16 ? 2 : 1, N, S);
  /* the backward's: W in row pairs, every strip of 16 columns over all of N */
  pack_w_pairs(dst + CD_SKINNY_AMX_FWD_TILES(K, N), W, K, N, 0, T, 0, (K + 15) / 16);
}

/* ---- one range per call, packing inside (for callers without the drivers) ---- */
void cd_skinny_forward_bf16_amx_unpacked(float *out, const float *X, size_t ldx, const uint16_t *W,
                                         const float *bias, int M, int K, int N, int n0, int n1) {
  if (M <= 0 || n1 <= n0) return;
  uint16_t *xp = aligned_alloc(64, CD_SKINNY_AMX_BYTES(M, K));
  if (!xp) abort();
  cd_skinny_pack_bf16_amx(xp, X, ldx, M, K, 0, (M + 15) / 16);
  cd_skinny_forward_bf16_amx(out, xp, W, NULL, bias, M, K, N, n0, n1);
  free(xp);
}

void cd_skinny_backward_bf16_amx_unpacked(float *dX, const float *dY, const uint16_t *W, int M, int K,
                                          int N, int j0, int j1, float *strip) {
  (void)strip;
  if (M <= 0 || j1 <= j0 || N <= 0) return;
  uint16_t *yp = aligned_alloc(64, CD_SKINNY_AMX_BYTES(M, N));
  uint16_t *wp = aligned_alloc(64, (size_t)CD_SKINNY_AMX_NC * 2 * ((j1 - j0 + 15) / 16 * 16));
  if (!yp || !wp) abort();
  cd_skinny_pack_bf16_amx(yp, dY, (size_t)N, M, N, 0, (M + 15) / 16);
  cd_skinny_backward_bf16_amx(dX, yp, W, NULL, M, K, N, j0, j1, wp);
  free(yp), free(wp);
}
#else
typedef int cd_kernels_amx_unused; /* ISO C: no empty translation unit */
#endif
