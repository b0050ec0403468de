/* Every kernel of the portable level "ref" (plain C, vectorised by the compiler for the
 * baseline ISA): the GEMM tiles for every precision and the packers the vectorised kernels
 * fall back to, the general GEMM's operand packers, the skinny products, the backward
 * kernels, and the per-op kernels (see kernels.h).
 *
 * Packed layouts (see gemm.h), per K step p of a micro-panel:
 *   fp32 / fp16:  A [p][MR] float,  B [p][NR] float (fp16: IEEE half)
 *   bf16:         A [p/2][MR][2],   B [p/2][NR][2] bfloat16: the pairs (k, k+1) of a row or
 *                 column side by side, as vdpbf16ps / AMX want them
 *   bf16x3:       A [p/2][MR][hi pair, lo pair],  B [p/2][hi: NR pairs][lo: NR pairs]
 * The bf16 tiles compute exactly what the hardware does: products of bfloat16 values are
 * exact in float32, accumulated in float32, odd element of a pair first. */
#include <string.h>

#include "core/dtype.h"
#include "ops/kernels/kernels.h"
#define ATT_W 8 /* attention tile columns of the per-op kernels */
#include "ops/kernels/level_ops.h"

enum { MR = 4, NR = 8 };

float cd_gemm_load(const void *W, cd_dtype dtype, size_t idx) {
  const unsigned char *p = (const unsigned char *)W;
  if (dtype == CD_F32) {
    float f;
    memcpy(&f, p + 4 * idx, 4); /* safetensors data may be unaligned */
    return f;
  }
  uint16_t h = (uint16_t)(p[2 * idx] | (p[2 * idx + 1] << 8));
  return dtype == CD_F16 ? cd_f16_to_f32(h) : cd_bf16_to_f32(h);
}

void cd_gemm_pack_a_f32(const float *A, ptrdiff_t lda, int mr, int kc, float alpha, float *dst, int mrf) {
  for (int i = 0; i < mr; i++) {
    const float *src = A + (ptrdiff_t)i * lda;
    for (int p = 0; p < kc; p++) dst[(size_t)p * mrf + i] = alpha * src[p];
  }
  for (int i = mr; i < mrf; i++)
    for (int p = 0; p < kc; p++) dst[(size_t)p * mrf + i] = 0.0f;
}

void cd_gemm_pack_b_f32(const void *W, cd_dtype dtype, size_t ldw, int nr, int K, float *dst, int nrf) {
  if (dtype == CD_F32) {
    for (int j = 0; j < nr; j++) {
      const float *src = (const float *)W + (size_t)j * ldw;
      for (int p = 0; p < K; p++) dst[(size_t)p * nrf + j] = src[p];
    }
  } else {
    for (int j = 0; j < nr; j++)
      for (int p = 0; p < K; p++) dst[(size_t)p * nrf + j] = cd_gemm_load(W, dtype, (size_t)j * ldw + p);
  }
  for (int j = nr; j < nrf; j++)
    for (int p = 0; p < K; p++) dst[(size_t)p * nrf + j] = 0.0f;
}

/* ---- fp32 ---- */

static void pack_a_fp32(const float *A, ptrdiff_t lda, int mr, int kc, float alpha, void *dst) {
  cd_gemm_pack_a_f32(A, lda, mr, kc, alpha, dst, MR);
}

static void pack_b_fp32(const void *W, cd_dtype dtype, size_t ldw, int nr, int K, void *dst) {
  cd_gemm_pack_b_f32(W, dtype, ldw, nr, K, dst, NR);
}

static void store_tile(const cd_tile *t, float acc[MR][NR]) {
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) {
      float *c = t->c + i * t->ldc + j;
      *c = t->accumulate ? *c + acc[i][j] : acc[i][j];
    }
}

static void tile_fp32(const cd_tile *t) {
  const float *a = t->a, *b = t->b;
  float acc[MR][NR] = {{0}};
  for (int p = 0; p < t->kc; p++, a += MR, b += NR)
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NR; j++) acc[i][j] += a[i] * b[j];
  store_tile(t, acc);
}

const cd_gemm_kernel cd_gemm_portable_fp32 = {
    .name = "ref fp32 4x8",
    .isa = CD_ISA_REF, .prec = CD_PREC_FP32, .mr = MR, .nr = NR, .mc = 128, .kc = 256,
    .kstep = 1, .a_bytes = 4, .b_bytes = 4, .tile = tile_fp32, .pack_a = pack_a_fp32,
    .pack_b = pack_b_fp32, .widen_b = NULL};

/* ---- fp16: half-precision weights, float32 arithmetic ---- */

static void pack_b_fp16(const void *W, cd_dtype dtype, size_t ldw, int nr, int K, void *dst) {
  uint16_t *d = dst;
  for (int j = 0; j < nr; j++)
    for (int p = 0; p < K; p++) {
      size_t idx = (size_t)j * ldw + p;
      uint16_t h;
      if (dtype == CD_F16) memcpy(&h, (const unsigned char *)W + 2 * idx, 2);
      else h = cd_f32_to_f16(cd_gemm_load(W, dtype, idx));
      d[(size_t)p * NR + j] = h;
    }
  for (int j = nr; j < NR; j++)
    for (int p = 0; p < K; p++) d[(size_t)p * NR + j] = 0;
}

static void widen_fp16(const void *b, int kc, float *dst) {
  const uint16_t *h = b;
  for (int i = 0; i < kc * NR; i++) dst[i] = cd_f16_to_f32(h[i]);
}

const cd_gemm_kernel cd_gemm_portable_fp16 = {
    .name = "ref fp16 4x8 (half weights, float32 arithmetic)",
    .isa = CD_ISA_REF, .prec = CD_PREC_FP16, .mr = MR, .nr = NR, .mc = 128, .kc = 256,
    .kstep = 1, .a_bytes = 4, .b_bytes = 2, .tile = tile_fp32, .pack_a = pack_a_fp32,
    .pack_b = pack_b_fp16, .widen_b = widen_fp16};

/* ---- bf16 pairs ---- */

/* Round-to-nearest-even split of x into bfloat16 hi and the bfloat16 of the remainder. */
static void split_bf16(float x, uint16_t *hi, uint16_t *lo) {
  *hi = cd_f32_to_bf16(x);
  *lo = cd_f32_to_bf16(x - cd_bf16_to_f32(*hi));
}

/* A rows as bf16 pairs: dst[(p/2)*MR*parts + i*parts + part][2]. parts = 1 (bf16) or 2
 * (bf16x3: hi pair, lo pair). */
void cd_gemm_pack_a_bf16(const float *A, ptrdiff_t lda, int mr, int kc, float alpha, uint16_t *dst,
                         int mrf, int parts) {
  int kp = (kc + 1) / 2;
  for (int i = 0; i < mrf; i++)
    for (int q = 0; q < kp; q++)
      for (int e = 0; e < 2; e++) {
        int p = 2 * q + e;
        float x = i < mr && p < kc ? alpha * A[(ptrdiff_t)i * lda + p] : 0.0f;
        uint16_t hi, lo;
        split_bf16(x, &hi, &lo);
        uint16_t *d = dst + ((size_t)q * mrf + i) * parts * 2;
        d[e] = hi;
        if (parts == 2) d[2 + e] = lo;
      }
}

/* B as bf16 pairs: per pair q, parts blocks of nrf columns x 2. */
void cd_gemm_pack_b_bf16(const void *W, cd_dtype dtype, size_t ldw, int nr, int K, uint16_t *dst,
                         int nrf, int parts) {
  int kp = (K + 1) / 2;
  for (int j = 0; j < nrf; j++)
    for (int q = 0; q < kp; q++)
      for (int e = 0; e < 2; e++) {
        int p = 2 * q + e;
        float x = j < nr && p < K ? cd_gemm_load(W, dtype, (size_t)j * ldw + p) : 0.0f;
        uint16_t hi, lo;
        split_bf16(x, &hi, &lo);
        uint16_t *d = dst + (size_t)q * parts * nrf * 2;
        d[j * 2 + e] = hi;
        if (parts == 2) d[nrf * 2 + j * 2 + e] = lo;
      }
}

static float bf(uint16_t h) { return cd_bf16_to_f32(h); }

/* acc += a pair . b pair, the odd element first (vdpbf16ps order). */
static float dot_pair(float acc, const uint16_t *a, const uint16_t *b) {
  acc += bf(a[1]) * bf(b[1]);
  return acc + bf(a[0]) * bf(b[0]);
}

static void pack_a_bf16(const float *A, ptrdiff_t lda, int mr, int kc, float alpha, void *dst) {
  cd_gemm_pack_a_bf16(A, lda, mr, kc, alpha, dst, MR, 1);
}
static void pack_b_bf16(const void *W, cd_dtype dtype, size_t ldw, int nr, int K, void *dst) {
  cd_gemm_pack_b_bf16(W, dtype, ldw, nr, K, dst, NR, 1);
}

static void tile_bf16(const cd_tile *t) {
  const uint16_t *a = t->a, *b = t->b;
  float acc[MR][NR] = {{0}};
  for (int q = 0; q < t->kc / 2; q++, a += 2 * MR, b += 2 * NR)
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NR; j++) acc[i][j] = dot_pair(acc[i][j], a + 2 * i, b + 2 * j);
  store_tile(t, acc);
}

const cd_gemm_kernel cd_gemm_portable_bf16 = {
    .name = "ref bf16 4x8",
    .isa = CD_ISA_REF, .prec = CD_PREC_BF16, .mr = MR, .nr = NR, .mc = 128, .kc = 256,
    .kstep = 2, .a_bytes = 2, .b_bytes = 2, .tile = tile_bf16, .pack_a = pack_a_bf16,
    .pack_b = pack_b_bf16, .widen_b = NULL};

static void pack_a_bf16x3(const float *A, ptrdiff_t lda, int mr, int kc, float alpha, void *dst) {
  cd_gemm_pack_a_bf16(A, lda, mr, kc, alpha, dst, MR, 2);
}
static void pack_b_bf16x3(const void *W, cd_dtype dtype, size_t ldw, int nr, int K, void *dst) {
  cd_gemm_pack_b_bf16(W, dtype, ldw, nr, K, dst, NR, 2);
}

/* hi*hi + hi*lo + lo*hi: the small terms first. */
static void tile_bf16x3(const cd_tile *t) {
  const uint16_t *a = t->a, *b = t->b;
  float acc[MR][NR] = {{0}};
  for (int q = 0; q < t->kc / 2; q++, a += 4 * MR, b += 4 * NR)
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NR; j++) {
        const uint16_t *ahi = a + 4 * i, *alo = ahi + 2, *bhi = b + 2 * j, *blo = bhi + 2 * NR;
        float s = dot_pair(acc[i][j], alo, bhi);
        s = dot_pair(s, ahi, blo);
        acc[i][j] = dot_pair(s, ahi, bhi);
      }
  store_tile(t, acc);
}

const cd_gemm_kernel cd_gemm_portable_bf16x3 = {
    .name = "ref bf16x3 4x8",
    .isa = CD_ISA_REF, .prec = CD_PREC_BF16X3, .mr = MR, .nr = NR, .mc = 128, .kc = 256,
    .kstep = 2, .a_bytes = 4, .b_bytes = 4, .tile = tile_bf16x3, .pack_a = pack_a_bf16x3,
    .pack_b = pack_b_bf16x3, .widen_b = NULL};

/* ---- the general GEMM's operand packers (see kernels.h) ---- */
void cd_gemm_pack_a_f32_trans(const float *A, ptrdiff_t lda, int mr, int kc, float alpha, float *dst, int MR) {
  for (int p = 0; p < kc; p++)
    for (int i = 0; i < MR; i++) dst[(size_t)p * MR + i] = i < mr ? alpha * A[(ptrdiff_t)p * lda + i] : 0.0f;
}

void cd_gemm_pack_b_f32_rows(const float *B, ptrdiff_t ldb, int nr, int K, float *dst, int NR) {
  for (int p = 0; p < K; p++) {
    memcpy(dst + (size_t)p * NR, B + (ptrdiff_t)p * ldb, sizeof(float) * (size_t)nr);
    for (int j = nr; j < NR; j++) dst[(size_t)p * NR + j] = 0.0f;
  }
}

/* ---- skinny products ----
 * One body per weight type: W as float32 rows or as bfloat16 rows (widened exactly to float32
 * on load; the products and sums are float32 either way). */
static inline float skinny_weight(const void *W, int bf16, size_t i) {
  return bf16 ? cd_bf16_to_f32(((const uint16_t *)W)[i]) : ((const float *)W)[i];
}

static inline void skinny_forward_typed(float *out, const float *X, size_t ldx, const void *W, int bf16,
                                  const float *bias, int M, int K, int N, int n0, int n1) {
  for (int n = n0; n < n1; n++)
    for (int m = 0; m < M; m++) {
      const float *x = X + (size_t)m * ldx;
      size_t w = (size_t)n * K;
      float s = 0;
      for (int k = 0; k < K; k++) s += x[k] * skinny_weight(W, bf16, w + k);
      out[(size_t)m * N + n] = s + (bias ? bias[n] : 0.0f);
    }
}

static inline void skinny_backward_typed(float *dX, const float *dY, const void *W, int bf16, int M, int K,
                                   int N, int j0, int j1) {
  for (int m = 0; m < M; m++)
    for (int p = 0; p < N; p++) {
      float g = dY[(size_t)m * N + p];
      size_t w = (size_t)p * K;
      float *d = dX + (size_t)m * K;
      for (int k = j0; k < j1; k++) d[k] += g * skinny_weight(W, bf16, w + k);
    }
}

void cd_skinny_forward_portable(float *out, const float *X, size_t ldx, const float *W,
                                const float *bias, int M, int K, int N, int n0, int n1) {
  skinny_forward_typed(out, X, ldx, W, 0, bias, M, K, N, n0, n1);
}

void cd_skinny_backward_portable(float *dX, const float *dY, const float *W, int M, int K, int N,
                                 int j0, int j1, float *strip) {
  (void)strip;
  skinny_backward_typed(dX, dY, W, 0, M, K, N, j0, j1);
}

void cd_skinny_forward_bf16_portable(float *out, const float *X, size_t ldx, const uint16_t *W,
                                     const float *bias, int M, int K, int N, int n0, int n1) {
  skinny_forward_typed(out, X, ldx, W, 1, bias, M, K, N, n0, n1);
}

void cd_skinny_backward_bf16_portable(float *dX, const float *dY, const uint16_t *W, int M, int K,
                                      int N, int j0, int j1, float *strip) {
  (void)strip;
  skinny_backward_typed(dX, dY, W, 1, M, K, N, j0, j1);
}

/* ---- backward kernels ---- */
void cd_layernorm_backward_rows_portable(float *dinp, const float *dout, const float *inp, const float *weight,
                                         const float *mean, const float *rstd, int M, int C) {
  for (int m = 0; m < M; m++) {
    const float *x = inp + (size_t)m * C, *dy = dout + (size_t)m * C;
    float *dx = dinp + (size_t)m * C, mu = mean[m], rs = rstd[m], gm = 0.0f, gnm = 0.0f;
#pragma omp simd reduction(+ : gm, gnm)
    for (int c = 0; c < C; c++) {
      float g = weight[c] * dy[c];
      gm += g;
      gnm += g * (x[c] - mu) * rs;
    }
    gm /= C;
    gnm /= C;
#pragma omp simd
    for (int c = 0; c < C; c++)
      dx[c] += (weight[c] * dy[c] - gm - (x[c] - mu) * rs * gnm) * rs;
  }
}

void cd_layernorm_backward_cols_portable(float *dweight, float *dbias, const float *dout, const float *inp,
                                         const float *mean, const float *rstd, int M, int C, int c0, int c1) {
  enum { COLS = 64 }; /* accumulators in registers / L1, each column summing its rows in order */
  for (int b0 = c0; b0 < c1; b0 += COLS) {
    int b1 = b0 + COLS < c1 ? b0 + COLS : c1;
    float dw[COLS] = {0}, db[COLS] = {0};
    for (int m = 0; m < M; m++) {
      const float *x = inp + (size_t)m * C, *dy = dout + (size_t)m * C;
      float mu = mean[m], rs = rstd[m];
#pragma omp simd
      for (int c = b0; c < b1; c++) {
        dw[c - b0] += (x[c] - mu) * rs * dy[c];
        db[c - b0] += dy[c];
      }
    }
    for (int c = b0; c < b1; c++) {
      if (dweight) dweight[c] += dw[c - b0];
      if (dbias) dbias[c] += db[c - b0];
    }
  }
}

void cd_softmax_backward_rows_portable(float *d, const float *p, int M, int N, ptrdiff_t ld, int causal,
                                       float scale) {
  for (int t = 0; t < M; t++) {
    const float *pr = p + t * ld;
    float *dr = d + t * ld, dot = 0.0f;
    int len = causal ? (t + 1 < N ? t + 1 : N) : N;
    for (int i = 0; i < len; i++) dot += pr[i] * dr[i];
    for (int i = 0; i < len; i++) dr[i] = pr[i] * (dr[i] - dot) * scale;
    for (int i = len; i < N; i++) dr[i] = 0.0f;
  }
}


void cd_layernorm_stats_portable(float *mean, float *rstd, const float *inp, int M, int C, float eps) {
  for (int m = 0; m < M; m++) layernorm_row_stats(inp + (size_t)m * C, C, eps, mean + m, rstd + m);
}

/* ---- the per-op kernels (activation, epilogue, LayerNorm, softmax, attention head) ---- */
CD_LEVEL_OPS(portable)
