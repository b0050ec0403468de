/* The kernels under the table (ops/dispatch.h): every ISA level's kernels, declared once, and
 * the types they share. One file per level defines them, compiled with that level's flags
 * only (CMakeLists.txt matches the file name):
 *   kernels_portable.c    level "ref": plain C the compiler vectorises for the baseline ISA
 *   kernels_avx2.c        AVX2 + FMA (+ F16C)
 *   kernels_avx512.c      AVX-512 F/BW/VL/DQ
 *   kernels_avx512bf16.c  AVX512_BF16 (the bf16 GEMMs)
 *   kernels_amx.c         AMX tiles (the bf16 tuning tower's skinny products)
 *   kernels_neon.c        aarch64 NEON
 * The per-op kernels every level has (activation and GEMM epilogue, LayerNorm rows, row
 * softmax, fused attention head) are one portable source each (*_impl.h), compiled in every
 * level's file through level_ops.h. A kernel is single-threaded over the range it is given:
 * the drivers (ops/<op>/) split the work over the pool. Nothing here knows the table, the
 * drivers or the pool. */
#ifndef CD_OPS_KERNELS_H
#define CD_OPS_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "core/cpu.h"
#include "core/dtype.h"
#include "ops/ops.h"

/* Arithmetic of the weight products (see ops/gemm/gemm.h):
 *   fp32    float32 weights and activations (the reference)
 *   bf16    both operands rounded to bfloat16, float32 accumulation
 *   bf16x3  both operands split into bfloat16 hi + lo, hi*hi + hi*lo + lo*hi accumulated in
 *           float32: float32-level accuracy from bf16 instructions
 *   fp16    weights stored as IEEE half (half the memory), widened to float32 in the kernel;
 *           activations and arithmetic float32 */
typedef enum { CD_PREC_FP32 = 0, CD_PREC_BF16, CD_PREC_BF16X3, CD_PREC_FP16, CD_PREC_COUNT } cd_precision;
/* ---- GEMM micro-kernels (the BLIS design, see ops/gemm/gemm.h) ---- */
typedef struct cd_gemm_kernel cd_gemm_kernel;

/* One micro-kernel call: the MR x NR tile at c over kc steps of packed A and B. */
typedef struct {
  int kc;              /* K steps (a multiple of the kernel's kstep) */
  const void *a;       /* packed A micro-panel: kc x MR; or, when lda > 0, A itself */
  ptrdiff_t lda;       /* 0: a is packed. > 0: a is row 0 of MR float32 rows of A read in place,
                        * lda floats apart, k contiguous (kernels with a_in_place only) */
  const void *b;       /* packed B micro-panel: kc x NR */
  float *c;
  ptrdiff_t ldc;
  int accumulate;      /* 1: c += A·B;  0: c = A·B (c not read) */
  const void *b_next;  /* the B micro-panel needed next, prefetched meanwhile (may be NULL) */
} cd_tile;

struct cd_gemm_kernel {
  const char *name;    /* e.g. "avx512 fp32 10x32" */
  cd_isa isa;
  cd_precision prec;
  int mr, nr;          /* register tile */
  int mc, kc;          /* M block (A block in L2) and K block (B micro-panel in L1) */
  int kstep;           /* K granularity of the packed layouts: 1, or 2 for bf16 pairs */
  size_t a_bytes;      /* bytes of packed A per (row, k) */
  size_t b_bytes;      /* bytes of packed B per (column, k) */
  /* Tiles of a micro-panel that share prefetching the next one: tile j (< pf_tiles) gets
   * b_next + j/pf_tiles of it and prefetches that part (0 or 1: the first tile all of it).
   * Spread over tiles the requests do not all queue in the first tile's miss buffers. */
  int pf_tiles;
  /* 1: the tile also reads float32 A in place (cd_tile.lda > 0), so a product whose rows fill
   * whole tiles skips packing A (one pass over the activations and one fork/join fewer). */
  int a_in_place;
  void (*tile)(const cd_tile *t);
  /* Packs rows [0, mr) of A (row stride lda, float32; rows mr..MR-1 zero) for kc steps
   * (padded with zeros up to a multiple of kstep), multiplied by alpha, into one micro-panel. */
  void (*pack_a)(const float *A, ptrdiff_t lda, int mr, int kc, float alpha, void *dst);
  /* Packs rows [0, nr) of W [*, K] stored as dtype with row stride ldw elements (rows
   * nr..NR-1 zero) into one panel over K steps (zero padded to kstep): the B layout. */
  void (*pack_b)(const void *W, cd_dtype dtype, size_t ldw, int nr, int K, void *dst);
  /* Optional: widens a kc x NR micro-panel of B to float32 for a float32 tile (fp16 weights
   * are stored half size and computed in float32). NULL: the tile reads B as packed. */
  void (*widen_b)(const void *b, int kc, float *dst);
};

extern const cd_gemm_kernel cd_gemm_portable_fp32, cd_gemm_portable_fp16, cd_gemm_portable_bf16,
    cd_gemm_portable_bf16x3;
extern const cd_gemm_kernel cd_gemm_avx2_fp32, cd_gemm_avx2_fp16;
extern const cd_gemm_kernel cd_gemm_avx512_fp32, cd_gemm_avx512_fp16;
extern const cd_gemm_kernel cd_gemm_avx512bf16_bf16, cd_gemm_avx512bf16_bf16x3;
extern const cd_gemm_kernel cd_gemm_neon_fp32, cd_gemm_neon_fp16;

/* Packers (kernels_portable.c): the float32 layouts (MR / NR given), used by the C kernels,
 * as the edge case of the vectorised ones, and by the general GEMM for its operands. */
void cd_gemm_pack_a_f32(const float *A, ptrdiff_t lda, int mr, int kc, float alpha, float *dst, int MR);
void cd_gemm_pack_b_f32(const void *W, cd_dtype dtype, size_t ldw, int nr, int K, float *dst, int NR);
/* op(A) stored [K, M] (transposed): MR columns of it, kc steps, times alpha, into a micro-panel. */
void cd_gemm_pack_a_f32_trans(const float *A, ptrdiff_t lda, int mr, int kc, float alpha, float *dst, int MR);
/* op(B) stored [K, N] (not transposed): NR columns of it over all K into a panel. */
void cd_gemm_pack_b_f32_rows(const float *B, ptrdiff_t ldb, int nr, int K, float *dst, int NR);
/* bfloat16 pair layouts (parts = 1: bf16, 2: bf16x3 hi + lo), see kernels_portable.c. */
void cd_gemm_pack_a_bf16(const float *A, ptrdiff_t lda, int mr, int kc, float alpha, uint16_t *dst,
                         int MR, int parts);
void cd_gemm_pack_b_bf16(const void *W, cd_dtype dtype, size_t ldw, int nr, int K, uint16_t *dst,
                         int NR, int parts);
/* Element idx of W stored as dtype (any alignment), as float32. */
float cd_gemm_load(const void *W, cd_dtype dtype, size_t idx);

/* ---- segment-causal attention (ops/attention/attention_segments.h), one copy and one head
 * per call (attention_segments_impl.h) ----
 * forward: rows [i0, i1) of head h (at most CD_SEGATT_ROWS): out rows C apart, att rows of
 * head h Tk apart (zero past each row's keys). backward: dqkv += the gradient of head h over
 * all R rows, from dout [R, C] and the forward's att of head h. scratch: CD_SEGATT_SCRATCH
 * floats. The same bits on every level (the reference's order of every sum). */
typedef struct {
  const float *qkv; /* [R, 3C]: q | k | v */
  const int *seg;   /* n_seg + 1 segment starts: seg[0] = P, seg[n_seg] = R */
  int R, P, n_seg, C, hs, Tk;
  float scale;
} cd_segatt;
#define CD_SEGATT_ROWS 16
/* a block's columns: at most Tk + CD_SEGATT_ROWS - 1, padded to whole vectors of 16; the
 * backward's ds of every row: R x Tk */
#define CD_SEGATT_SCRATCH(hs, Tk, R)                                                                  \
  (((size_t)(hs) + CD_SEGATT_ROWS) * ((size_t)(Tk) + CD_SEGATT_ROWS + 16) + (size_t)(Tk) + (size_t)(R) * (size_t)(Tk))
#define CD_SEGATT_DECLARE(level)                                                                              \
  void cd_segatt_forward_##level(const cd_segatt *a, int h, int i0, int i1, float *out, float *att, float *scratch); \
  void cd_segatt_backward_##level(const cd_segatt *a, int h, const float *dout, const float *att, float *dqkv,   \
                                  float *scratch);
CD_SEGATT_DECLARE(portable)
CD_SEGATT_DECLARE(avx2)
CD_SEGATT_DECLARE(avx512)
CD_SEGATT_DECLARE(neon)

/* ---- per-op kernels of every level (level_ops.h; suffix = level) ----
 * bias_act_tile: c[i, j] = act(c[i, j] + bias[j]) over an mr x nr tile (bias may be NULL).
 * act_forward / act_backward: out = act(in); din += dout * act'(in) over n elements.
 * act_forward_deriv / act_backward_deriv: out = act(in) and deriv = act'(in) (deriv may be
 *   in); din += dout * deriv: a training pair with the same bits as the two above.
 * layernorm_rows: LayerNorm of M rows of C (mean/rstd may be NULL).
 * softmax_rows: in-place softmax of M rows (see ops/dispatch.h).
 * attention_head: one fused attention head of T rows (see ops/attention/attention.h). */
void cd_bias_act_tile_portable(float *c, ptrdiff_t ldc, int mr, int nr, const float *bias, cd_activation act);
void cd_act_forward_portable(float *out, const float *in, size_t n, cd_activation act);
void cd_act_backward_portable(float *din, const float *dout, const float *in, size_t n, cd_activation act);
void cd_act_forward_deriv_portable(float *out, float *deriv, const float *in, size_t n, cd_activation act);
void cd_act_backward_deriv_portable(float *din, const float *dout, const float *deriv, size_t n);
void cd_layernorm_rows_portable(float *out, float *mean, float *rstd, const float *inp, const float *w,
                                const float *b, int M, int C, float eps);
void cd_softmax_rows_portable(float *x, int M, int N, ptrdiff_t ld, int causal, int diag);
void cd_attention_head_portable(float *out, ptrdiff_t ldo, const float *q, const float *k, const float *v,
                                ptrdiff_t ldqkv, int T, int hs, float scale, int causal, float *probs,
                                float *scratch);

void cd_bias_act_tile_avx2(float *c, ptrdiff_t ldc, int mr, int nr, const float *bias, cd_activation act);
void cd_act_forward_avx2(float *out, const float *in, size_t n, cd_activation act);
void cd_act_backward_avx2(float *din, const float *dout, const float *in, size_t n, cd_activation act);
void cd_act_forward_deriv_avx2(float *out, float *deriv, const float *in, size_t n, cd_activation act);
void cd_act_backward_deriv_avx2(float *din, const float *dout, const float *deriv, size_t n);
void cd_layernorm_rows_avx2(float *out, float *mean, float *rstd, const float *inp, const float *w,
                            const float *b, int M, int C, float eps);
void cd_softmax_rows_avx2(float *x, int M, int N, ptrdiff_t ld, int causal, int diag);
void cd_attention_head_avx2(float *out, ptrdiff_t ldo, const float *q, const float *k, const float *v,
                            ptrdiff_t ldqkv, int T, int hs, float scale, int causal, float *probs,
                            float *scratch);

void cd_bias_act_tile_avx512(float *c, ptrdiff_t ldc, int mr, int nr, const float *bias, cd_activation act);
void cd_act_forward_avx512(float *out, const float *in, size_t n, cd_activation act);
void cd_act_backward_avx512(float *din, const float *dout, const float *in, size_t n, cd_activation act);
void cd_act_forward_deriv_avx512(float *out, float *deriv, const float *in, size_t n, cd_activation act);
void cd_act_backward_deriv_avx512(float *din, const float *dout, const float *deriv, size_t n);
void cd_layernorm_rows_avx512(float *out, float *mean, float *rstd, const float *inp, const float *w,
                              const float *b, int M, int C, float eps);
void cd_softmax_rows_avx512(float *x, int M, int N, ptrdiff_t ld, int causal, int diag);
void cd_attention_head_avx512(float *out, ptrdiff_t ldo, const float *q, const float *k, const float *v,
                              ptrdiff_t ldqkv, int T, int hs, float scale, int causal, float *probs,
                              float *scratch);

void cd_bias_act_tile_neon(float *c, ptrdiff_t ldc, int mr, int nr, const float *bias, cd_activation act);
void cd_act_forward_neon(float *out, const float *in, size_t n, cd_activation act);
void cd_act_backward_neon(float *din, const float *dout, const float *in, size_t n, cd_activation act);
void cd_act_forward_deriv_neon(float *out, float *deriv, const float *in, size_t n, cd_activation act);
void cd_act_backward_deriv_neon(float *din, const float *dout, const float *deriv, size_t n);
void cd_layernorm_rows_neon(float *out, float *mean, float *rstd, const float *inp, const float *w,
                            const float *b, int M, int C, float eps);
void cd_softmax_rows_neon(float *x, int M, int N, ptrdiff_t ld, int causal, int diag);
void cd_attention_head_neon(float *out, ptrdiff_t ldo, const float *q, const float *k, const float *v,
                            ptrdiff_t ldqkv, int T, int hs, float scale, int causal, float *probs,
                            float *scratch);

/* ---- skinny products (few rows against a [N,K] weight, see ops/gemm/skinny.h) ----
 * forward: out columns [n0, n1) (weight rows); backward: dX columns [j0, j1) (j0 a multiple
 * of 16), with strip scratch of CD_SKINNY_PCHUNK_MAX * (j1 - j0) floats, 64-byte aligned. */
#define CD_SKINNY_PCHUNK 32
#define CD_SKINNY_PCHUNK_MAX 128 /* the longest chunk a kernel uses (the scratch is sized for it) */
void cd_skinny_forward_portable(float *out, const float *X, size_t ldx, const float *W,
                                const float *bias, int M, int K, int N, int n0, int n1);
void cd_skinny_backward_portable(float *dX, const float *dY, const float *W, int M, int K, int N,
                                 int j0, int j1, float *strip);
void cd_skinny_forward_avx2(float *out, const float *X, size_t ldx, const float *W,
                            const float *bias, int M, int K, int N, int n0, int n1);
void cd_skinny_backward_avx2(float *dX, const float *dY, const float *W, int M, int K, int N,
                             int j0, int j1, float *strip);
void cd_skinny_forward_avx512(float *out, const float *X, size_t ldx, const float *W,
                              const float *bias, int M, int K, int N, int n0, int n1);
/* The AVX-512 forward with the input rows packed once per product (cd_skinny_pack_pairs_avx512
 * into cd_skinny_pairs_floats_avx512(M, K) floats, 64-byte aligned: rows in pairs, K block by
 * K block) for every item to read; X is still read for the K tail (K not a multiple of 8).
 * The same bits as without. */
size_t cd_skinny_pairs_floats_avx512(int M, int K);
void cd_skinny_pack_pairs_avx512(float *xp, const float *X, size_t ldx, int M, int K);
void cd_skinny_forward_pairs_avx512(float *out, const float *xp, const float *X, size_t ldx, const float *W,
                                    const float *bias, int M, int K, int N, int n0, int n1);
void cd_skinny_forward_pairs_bf16_avx512(float *out, const float *xp, const float *X, size_t ldx, const uint16_t *W,
                                         const float *bias, int M, int K, int N, int n0, int n1);
void cd_skinny_backward_avx512(float *dX, const float *dY, const float *W, int M, int K, int N,
                               int j0, int j1, float *strip);
/* The same with W [N,K] stored as bfloat16 rows (prompt tuning's bf16 text tower): each
 * weight is widened exactly to float32 (a 16-bit shift) as it is loaded, so inputs, products,
 * sums and outputs stay float32; one array serves the forward and the transposed backward. */
void cd_skinny_forward_bf16_portable(float *out, const float *X, size_t ldx, const uint16_t *W,
                                     const float *bias, int M, int K, int N, int n0, int n1);
void cd_skinny_backward_bf16_portable(float *dX, const float *dY, const uint16_t *W, int M, int K,
                                      int N, int j0, int j1, float *strip);
void cd_skinny_forward_bf16_avx2(float *out, const float *X, size_t ldx, const uint16_t *W,
                                 const float *bias, int M, int K, int N, int n0, int n1);
void cd_skinny_backward_bf16_avx2(float *dX, const float *dY, const uint16_t *W, int M, int K,
                                  int N, int j0, int j1, float *strip);
void cd_skinny_forward_bf16_avx512(float *out, const float *X, size_t ldx, const uint16_t *W,
                                   const float *bias, int M, int K, int N, int n0, int n1);
void cd_skinny_backward_bf16_avx512(float *dX, const float *dY, const uint16_t *W, int M, int K,
                                    int N, int j0, int j1, float *strip);
void cd_skinny_forward_bf16_neon(float *out, const float *X, size_t ldx, const uint16_t *W,
                                 const float *bias, int M, int K, int N, int n0, int n1);
void cd_skinny_backward_bf16_neon(float *dX, const float *dY, const uint16_t *W, int M, int K,
                                  int N, int j0, int j1, float *strip);
/* AMX (kernels_amx.c): the float32 activations split once per product into bfloat16 hi + lo
 * and packed as tiles of rows (cd_skinny_pack_bf16_amx, row blocks [b0, b1) of 16; the A
 * tiles of both products; CD_SKINNY_AMX_BYTES(M, K) bytes in all), then W·hi + W·lo on
 * tdpbf16ps tiles. Without the weight's tiles (Wt NULL) the backward's scratch holds
 * CD_SKINNY_AMX_NC weight rows of the caller's columns in pairs: CD_SKINNY_AMX_NC * 2 bytes
 * per column (rounded up to 16 columns), 64-byte aligned. The _unpacked entries pack inside
 * (one range per call, for callers without the drivers). */
#define CD_SKINNY_AMX_NC 512
#define CD_SKINNY_AMX_BYTES(M, K) ((size_t)(((M) + 15) / 16) * (size_t)(((K) + 31) / 32) * 2048u)
void cd_skinny_pack_bf16_amx(uint16_t *dst, const float *X, size_t ldx, int M, int K, int b0, int b1);
void cd_skinny_forward_bf16_amx(float *out, const uint16_t *Xp, const uint16_t *W, const uint16_t *Wt,
                                const float *bias, int M, int K, int N, int n0, int n1);
void cd_skinny_backward_bf16_amx(float *dX, const uint16_t *dYp, const uint16_t *W, const uint16_t *Wt,
                                 int M, int K, int N, int j0, int j1, uint16_t *scratch);
/* A frozen weight's tiles, packed once (cd_skinny_tile_weight_bf16_amx, CD_SKINNY_AMX_WT_BYTES
 * 64-byte aligned): the forward's (32 weight rows at a time, as the forward packs them)
 * then the backward's (row pairs by strips of 16 columns), about twice the bf16 weight. With
 * Wt the products read them instead of W (then unused, may be NULL) and pack nothing: the
 * same bits, and no scratch in the backward. */
#define CD_SKINNY_AMX_FWD_TILES(K, N) ((size_t)(((N) + 31) / 32) * (size_t)(((K) + 31) / 32) * 1024u)
#define CD_SKINNY_AMX_WT_BYTES(K, N) \
  (2 * (CD_SKINNY_AMX_FWD_TILES(K, N) + (size_t)(((K) + 15) / 16) * (size_t)(((N) + 31) / 32) * 512u))
size_t cd_skinny_tile_weight_bytes_amx(int K, int N);
void cd_skinny_tile_weight_bf16_amx(uint16_t *dst, const uint16_t *W, int K, int N);
void cd_skinny_forward_bf16_amx_unpacked(float *out, const float *X, size_t ldx, const uint16_t *W,
                                         const float *bias, int M, int K, int N, int n0, int n1);
void cd_skinny_backward_bf16_amx_unpacked(float *dX, const float *dY, const uint16_t *W, int M, int K,
                                          int N, int j0, int j1, float *strip);

/* ---- backward kernels (kernels_portable.c; the levels above inherit them) ----
 * layernorm_backward_rows: dinp[m] += LayerNorm's input gradient of rows [0, M).
 * layernorm_backward_cols: dweight[c] += Σ_m x̂[m, c]·dout[m, c] and dbias[c] += Σ_m
 *   dout[m, c] for columns [c0, c1), each summed over the rows in order (either may be NULL).
 * layernorm_stats: the forward's mean and rstd again, for a backward called without them.
 * softmax_backward_rows: in place on M rows ld apart, d = p ⊙ (d − Σ p·d) · scale over
 *   row i's first len(i) = causal ? i + 1 : N columns, and 0 after them. */
void cd_layernorm_backward_rows_portable(float *dinp, const float *dout, const float *inp, const float *weight,
                                         const float *mean, const float *rstd, int M, int C);
void cd_layernorm_backward_cols_portable(float *dweight, float *dbias, const float *dout, const float *inp,
                                         const float *mean, const float *rstd, int M, int C, int c0, int c1);
void cd_softmax_backward_rows_portable(float *d, const float *p, int M, int N, ptrdiff_t ld, int causal,
                                       float scale);
/* mean and rstd of M rows of C (the forward's statistics, for a backward without them). */
void cd_layernorm_stats_portable(float *mean, float *rstd, const float *inp, int M, int C, float eps);

#endif
