/* Segment-causal attention of one copy and one head (ops/attention/attention_segments.h), as
 * portable loops every level compiles (through level_ops.h) into its own vector code.
 *
 * Why not the straightforward loops: each score is a dot product over the head's hs values,
 * summed in order, a chain of dependent additions the compiler may not reorder, so the plain
 * C ran at one addition per four cycles. Here the key (or value) rows a block of query rows
 * needs are transposed once into hs x columns, and the scores of the whole block are built
 * column-vector-wise: S[i][c] += q_i[x] * Kt[x][c] for x in order, many independent chains in
 * every vector. Each score is still the sum over x in order of the same float products, and
 * the rest (scale, max, expf, the sum, the weighted values, the backward's updates) keeps the
 * reference's order, so every level gives the reference's bits (the project builds as ISO C,
 * where GCC does not contract a * b + c into an FMA; under Clang the functions turn
 * contraction off themselves).
 *
 * Columns of a block of rows [i0, i1): the prefix rows [0, np0), np0 = min(P, i1), then the
 * rows [lo, i1), lo = the start of the segment of row max(i0, P) (none when i1 <= P). Key
 * row r sits in column r (r < P) or np0 + r - lo. */
#ifndef CD_ATTENTION_SEGMENTS_KERNELS_H
#define CD_ATTENTION_SEGMENTS_KERNELS_H

#include <math.h>
#include <stddef.h>

#include "ops/kernels/kernels.h"

/* The bodies take the head size as a constant where it is CLIP's 64 (every released text
 * tower), so the loops over it are whole vectors with no remainder. */
#define SEGATT_INLINE static inline __attribute__((always_inline))

#if defined(__clang__)
#define SEGATT_NO_CONTRACT _Pragma("clang fp contract(off)")
#else
#define SEGATT_NO_CONTRACT
#endif

/* Keys of row i: prefix rows [0, np) then segment rows [sb, sb + ns). */
static inline void segatt_row_keys(const cd_segatt *a, int i, int *np, int *sb, int *ns) {
  if (i < a->P) {
    *np = i + 1, *sb = 0, *ns = 0;
    return;
  }
  int lo = 0, hi = a->n_seg - 1; /* last s with seg[s] <= i */
  while (lo < hi) {
    int mid = (lo + hi + 1) / 2;
    if (a->seg[mid] <= i) lo = mid;
    else hi = mid - 1;
  }
  *np = a->P, *sb = a->seg[lo], *ns = i - a->seg[lo] + 1;
}

/* The columns of rows [i0, i1) (see above): returns their count, sets np0 and lo. */
static inline int segatt_columns(const cd_segatt *a, int i0, int i1, int *np0, int *lo) {
  *np0 = a->P < i1 ? a->P : i1;
  *lo = i1;
  if (i1 > a->P) {
    int np, ns;
    segatt_row_keys(a, i0 > a->P ? i0 : a->P, &np, lo, &ns);
  }
  return *np0 + (i1 - *lo);
}

/* Columns are padded to whole vectors of SEGATT_VEC (zeros), so the inner loops have a fixed
 * width every level turns into whole vectors. */
enum { SEGATT_VEC = 16, SEGATT_RB = 4 };
static inline int segatt_padded(int ncols) { return (ncols + SEGATT_VEC - 1) / SEGATT_VEC * SEGATT_VEC; }

/* Bt[x][c] (ld = ldb, columns ncols..ldb-1 zero) = element x of the column's row in section
 * `part` (1 keys, 2 values) of head h. */
SEGATT_INLINE void segatt_transpose(float *Bt, int ldb, const cd_segatt *a, const int hs, int h, int part, int np0,
                                    int lo, int ncols) {
  const size_t C3 = 3 * (size_t)a->C;
  const float *base = a->qkv + (size_t)part * a->C + (size_t)h * hs;
  for (int c = 0; c < ncols; c++) {
    int r = c < np0 ? c : lo + (c - np0);
    const float *src = base + (size_t)r * C3;
    for (int x = 0; x < hs; x++) Bt[(size_t)x * ldb + c] = src[x];
  }
  for (int x = 0; x < hs; x++)
    for (int c = ncols; c < ldb; c++) Bt[(size_t)x * ldb + c] = 0;
}

/* S[i][c] (ld = ldb) = the sum over x in order of A_i[x] * Bt[x][c], for the rows i of A (lda
 * apart): SEGATT_RB rows x one vector of columns at a time, each element its own chain over x
 * (a short last group repeats its last row; those results are not stored). */
SEGATT_INLINE void segatt_dots(float *S, const float *A, size_t lda, int rows, const float *Bt, int ldb, int hs) {
  SEGATT_NO_CONTRACT
  for (int i0 = 0; i0 < rows; i0 += SEGATT_RB) {
    const float *ar[SEGATT_RB];
    for (int r = 0; r < SEGATT_RB; r++) ar[r] = A + (size_t)(i0 + r < rows ? i0 + r : rows - 1) * lda;
    for (int c0 = 0; c0 < ldb; c0 += SEGATT_VEC) {
      float acc[SEGATT_RB][SEGATT_VEC] = {{0}};
      for (int x = 0; x < hs; x++) {
        const float *bt = Bt + (size_t)x * ldb + c0;
        for (int r = 0; r < SEGATT_RB; r++) {
          float ax = ar[r][x];
#pragma omp simd
          for (int c = 0; c < SEGATT_VEC; c++) acc[r][c] += ax * bt[c];
        }
      }
      for (int r = 0; r < SEGATT_RB && i0 + r < rows; r++)
        for (int c = 0; c < SEGATT_VEC; c++) S[(size_t)(i0 + r) * ldb + c0 + c] = acc[r][c];
    }
  }
}

/* Column of key k of row i (k < np: prefix key k; else segment row sb + k - np). */
static inline int segatt_col(int k, int np, int sb, int np0, int lo) { return k < np ? k : np0 + sb + (k - np) - lo; }

/* dst[x] = (zero ? 0 : dst[x]) + w[0] * src[x] + w[ws] * src[ss + x] + ... (n terms, added in
 * that order), x < hs: a weighted sum of rows kept in registers a vector at a time, where the
 * plain loop would store and reload dst once per term. */
SEGATT_INLINE void segatt_axpys(float *dst, int zero, int n, const float *w, size_t ws, const float *src, size_t ss,
                                const int hs) {
  SEGATT_NO_CONTRACT
  int x0 = 0;
  for (; x0 + 4 * SEGATT_VEC <= hs; x0 += 4 * SEGATT_VEC) {
    float acc[4 * SEGATT_VEC];
    for (int x = 0; x < 4 * SEGATT_VEC; x++) acc[x] = zero ? 0.0f : dst[x0 + x];
    for (int j = 0; j < n; j++) {
      float wj = w[(size_t)j * ws];
      const float *r = src + (size_t)j * ss + x0;
#pragma omp simd
      for (int x = 0; x < 4 * SEGATT_VEC; x++) acc[x] += wj * r[x];
    }
    for (int x = 0; x < 4 * SEGATT_VEC; x++) dst[x0 + x] = acc[x];
  }
  for (; x0 < hs; x0 += SEGATT_VEC) {
    int m = hs - x0 < SEGATT_VEC ? hs - x0 : SEGATT_VEC;
    float acc[SEGATT_VEC];
    for (int x = 0; x < m; x++) acc[x] = zero ? 0.0f : dst[x0 + x];
    for (int j = 0; j < n; j++) {
      float wj = w[(size_t)j * ws];
      const float *r = src + (size_t)j * ss + x0;
      for (int x = 0; x < m; x++) acc[x] += wj * r[x];
    }
    for (int x = 0; x < m; x++) dst[x0 + x] = acc[x];
  }
}

/* Forward of head h, rows [i0, i1) (at most CD_SEGATT_ROWS): att rows i of head h at
 * att + i * Tk (zero past each row's keys), out rows C apart. */
SEGATT_INLINE void segatt_forward_hs(const cd_segatt *a, const int hs, int h, int i0, int i1, float *out,
                                     float *att, float *scratch) {
  SEGATT_NO_CONTRACT
  const size_t C = (size_t)a->C, C3 = 3 * C;
  const int Tk = a->Tk;
  int np0, lo, ncols = segatt_columns(a, i0, i1, &np0, &lo), ldb = segatt_padded(ncols);
  float *Bt = scratch, *S = scratch + (size_t)hs * ldb;
  segatt_transpose(Bt, ldb, a, hs, h, 1, np0, lo, ncols);
  segatt_dots(S, a->qkv + (size_t)i0 * C3 + (size_t)h * hs, C3, i1 - i0, Bt, ldb, hs);
  const float *v = a->qkv + 2 * C + (size_t)h * hs; /* row 0's values */
  for (int i = i0; i < i1; i++) {
    int np, sb, ns;
    segatt_row_keys(a, i, &np, &sb, &ns);
    int nk = np + ns;
    const float *s = S + (size_t)(i - i0) * ldb;
    float *p = att + (size_t)i * Tk, mx = -INFINITY;
    for (int k = 0; k < nk; k++) {
      p[k] = s[segatt_col(k, np, sb, np0, lo)] * a->scale;
      if (p[k] > mx) mx = p[k];
    }
    float sum = 0;
    for (int k = 0; k < nk; k++) {
      p[k] = expf(p[k] - mx);
      sum += p[k];
    }
    float inv = 1.0f / sum;
    for (int k = 0; k < nk; k++) p[k] *= inv;
    for (int k = nk; k < Tk; k++) p[k] = 0;
    /* out_i = the probabilities times the values: prefix keys, then the segment's */
    float *o = out + (size_t)i * C + (size_t)h * hs;
    segatt_axpys(o, 1, np, p, 1, v, C3, hs);
    segatt_axpys(o, 0, ns, p + np, 1, v + (size_t)sb * C3, C3, hs);
  }
}

/* Backward of head h over all rows, dqkv += (rows C3 apart). Per row i and key k of row r:
 * dv_r += p_ik dout_i and, with ds_ik = p_ik (dout_i·v_r − Σ_k p_ik dout_i·v_r) scale,
 * dq_i += ds_ik k_r and dk_r += ds_ik q_i, each element of dv, dk summed over the rows i in
 * order and of dq over the keys k in order (the reference's order). First ds for every row
 * (the dots dout_i·v_r a block of rows at a time from the transposed values), then each
 * gradient row as one weighted sum in registers: a key row r is attended by the rows
 * [r, end): the rest of the prompt for a prefix row, the rest of its segment otherwise. */
SEGATT_INLINE void segatt_backward_hs(const cd_segatt *a, const int hs, int h, const float *dout,
                                      const float *att, float *dqkv, float *scratch) {
  SEGATT_NO_CONTRACT
  const size_t C = (size_t)a->C, C3 = 3 * C;
  const int Tk = a->Tk, R = a->R, P = a->P;
  float *DS = scratch, *work = DS + (size_t)R * Tk; /* DS: ds of row i at DS + i * Tk */
  for (int i0 = 0; i0 < R; i0 += CD_SEGATT_ROWS) {
    int i1 = i0 + CD_SEGATT_ROWS < R ? i0 + CD_SEGATT_ROWS : R;
    int np0, lo, ncols = segatt_columns(a, i0, i1, &np0, &lo), ldb = segatt_padded(ncols);
    float *Bt = work, *S = work + (size_t)hs * ldb, *da = S + (size_t)CD_SEGATT_ROWS * ldb;
    segatt_transpose(Bt, ldb, a, hs, h, 2, np0, lo, ncols);
    segatt_dots(S, dout + (size_t)i0 * C + (size_t)h * hs, C, i1 - i0, Bt, ldb, hs);
    for (int i = i0; i < i1; i++) {
      int np, sb, ns;
      segatt_row_keys(a, i, &np, &sb, &ns);
      int nk = np + ns;
      const float *p = att + (size_t)i * Tk, *s = S + (size_t)(i - i0) * ldb;
      float dot = 0, *ds = DS + (size_t)i * Tk;
      for (int k = 0; k < nk; k++) {
        da[k] = s[segatt_col(k, np, sb, np0, lo)];
        dot += p[k] * da[k];
      }
      for (int k = 0; k < nk; k++) ds[k] = p[k] * (da[k] - dot) * a->scale;
    }
  }
  const size_t hoff = (size_t)h * hs;
  for (int r = 0, s = 0; r < R; r++) { /* dv_r and dk_r over the rows attending to r */
    while (r >= P && a->seg[s + 1] <= r) s++;
    int end = r < P ? R : a->seg[s + 1], k = r < P ? r : P + r - a->seg[s], n = end - r;
    segatt_axpys(dqkv + (size_t)r * C3 + 2 * C + hoff, 0, n, att + (size_t)r * Tk + k, Tk, dout + (size_t)r * C + hoff,
                 C, hs);
    segatt_axpys(dqkv + (size_t)r * C3 + C + hoff, 0, n, DS + (size_t)r * Tk + k, Tk, a->qkv + (size_t)r * C3 + hoff,
                 C3, hs);
  }
  for (int i = 0; i < R; i++) { /* dq_i over its keys: prefix, then its segment */
    int np, sb, ns;
    segatt_row_keys(a, i, &np, &sb, &ns);
    float *dq = dqkv + (size_t)i * C3 + hoff;
    const float *kr = a->qkv + C + hoff, *ds = DS + (size_t)i * Tk;
    segatt_axpys(dq, 0, np, ds, 1, kr, C3, hs);
    segatt_axpys(dq, 0, ns, ds + np, 1, kr + (size_t)sb * C3, C3, hs);
  }
}

static inline void segatt_forward_impl(const cd_segatt *a, int h, int i0, int i1, float *out, float *att,
                                       float *scratch) {
  if (a->hs == 64) segatt_forward_hs(a, 64, h, i0, i1, out, att, scratch);
  else segatt_forward_hs(a, a->hs, h, i0, i1, out, att, scratch);
}

static inline void segatt_backward_impl(const cd_segatt *a, int h, const float *dout, const float *att,
                                        float *dqkv, float *scratch) {
  if (a->hs == 64) segatt_backward_hs(a, 64, h, dout, att, dqkv, scratch);
  else segatt_backward_hs(a, a->hs, h, dout, att, dqkv, scratch);
}

#endif
