/* AVX2 + FMA skinny products (see ops/gemm/skinny.h). Register tiles:
 *   forward : 3 weight rows x 4 input rows of 8-lane partial dot products (12 accumulators),
 *             reduced horizontally at the end; threads split the weight rows.
 *   backward: 6 rows x 16 columns of dX (12 accumulators) updated with a broadcast of dY
 *             times a 16-wide strip of a weight row; threads split the column strips.
 * Tiles at the edges are the same code instantiated with smaller constant sizes. */
#include <immintrin.h>
#include <stddef.h>

#include "ops/gemm/skinny.h"

#define INLINE static inline __attribute__((always_inline))

INLINE float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

INLINE void fwd_tile(int NW, int NX, const float *W, const float *X, int K, size_t ldx, int N,
                     float *out, const float *bias, int n0, int m0) {
  __m256 acc[3][4];
  for (int a = 0; a < NW; a++)
    for (int b = 0; b < NX; b++) acc[a][b] = _mm256_setzero_ps();
  const float *w[3], *x[4];
  for (int a = 0; a < NW; a++) w[a] = W + (size_t)(n0 + a) * K;
  for (int b = 0; b < NX; b++) x[b] = X + (size_t)(m0 + b) * ldx;
  int K8 = K & ~7;
  for (int k = 0; k < K8; k += 8) {
    __m256 wv[3];
    for (int a = 0; a < NW; a++) wv[a] = _mm256_loadu_ps(w[a] + k);
    for (int b = 0; b < NX; b++) {
      __m256 xv = _mm256_loadu_ps(x[b] + k);
      for (int a = 0; a < NW; a++) acc[a][b] = _mm256_fmadd_ps(wv[a], xv, acc[a][b]);
    }
  }
  for (int a = 0; a < NW; a++)
    for (int b = 0; b < NX; b++) {
      float s = hsum8(acc[a][b]);
      for (int k = K8; k < K; k++) s += w[a][k] * x[b][k];
      out[(size_t)(m0 + b) * N + n0 + a] = s + (bias ? bias[n0 + a] : 0.0f);
    }
}

INLINE void fwd_rows(int NW, const float *W, const float *X, int M, int K, size_t ldx, int N,
                     float *out, const float *bias, int n0) {
  int m = 0;
  for (; m + 4 <= M; m += 4) fwd_tile(NW, 4, W, X, K, ldx, N, out, bias, n0, m);
  switch (M - m) {
  case 3: fwd_tile(NW, 3, W, X, K, ldx, N, out, bias, n0, m); break;
  case 2: fwd_tile(NW, 2, W, X, K, ldx, N, out, bias, n0, m); break;
  case 1: fwd_tile(NW, 1, W, X, K, ldx, N, out, bias, n0, m); break;
  default: break;
  }
}

void cd_skinny_forward_avx2(float *out, const float *X, size_t ldx, const float *W,
                            const float *bias, int M, int K, int N, int n0, int n1) {
  int n = n0;
  for (; n + 3 <= n1; n += 3) fwd_rows(3, W, X, M, K, ldx, N, out, bias, n);
  if (n1 - n == 2) fwd_rows(2, W, X, M, K, ldx, N, out, bias, n);
  else if (n1 - n == 1) fwd_rows(1, W, X, M, K, ldx, N, out, bias, n);
}

INLINE void bwd_tile(int MR, float *dX, const float *dY, const float *pk, int K, int N, int m0,
                     int j0, int p0, int p1) {
  __m256 acc[6][2];
  for (int r = 0; r < MR; r++) {
    acc[r][0] = _mm256_loadu_ps(dX + (size_t)(m0 + r) * K + j0);
    acc[r][1] = _mm256_loadu_ps(dX + (size_t)(m0 + r) * K + j0 + 8);
  }
  const float *g = dY + (size_t)m0 * N;
  for (int p = p0; p < p1; p++) {
    const float *w = pk + (size_t)(p - p0) * 16;
    __m256 b0 = _mm256_loadu_ps(w), b1 = _mm256_loadu_ps(w + 8);
    for (int r = 0; r < MR; r++) {
      __m256 a = _mm256_broadcast_ss(g + (size_t)r * N + p);
      acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
    }
  }
  for (int r = 0; r < MR; r++) {
    float *d = dX + (size_t)(m0 + r) * K + j0;
    _mm256_storeu_ps(d, acc[r][0]);
    _mm256_storeu_ps(d + 8, acc[r][1]);
  }
}

/* Columns [j0, j1) of dX (the caller's strips): W is walked in chunks of rows so that a
 * chunk's part of every strip is read from memory once, row-contiguously, into `strip`
 * ([strip][row][16]) and reused from L1 by all row tiles. A last partial strip (K not a
 * multiple of 16) is done in plain C. */
void cd_skinny_backward_avx2(float *dX, const float *dY, const float *W, int M, int K, int N,
                             int j0, int j1, float *pk) {
  enum { PCHUNK = CD_SKINNY_PCHUNK };
  int jb0 = j0 / 16, ns = (j1 - j0) / 16; /* full strips */
  for (int p0 = 0; p0 < N && ns > 0; p0 += PCHUNK) {
    int p1 = p0 + PCHUNK < N ? p0 + PCHUNK : N;
    for (int p = p0; p < p1; p++) {
      const float *w = W + (size_t)p * K + (size_t)jb0 * 16;
      for (int j = 0; j < ns; j++) {
        float *d = pk + ((size_t)j * PCHUNK + (p - p0)) * 16;
        _mm256_store_ps(d, _mm256_loadu_ps(w + j * 16));
        _mm256_store_ps(d + 8, _mm256_loadu_ps(w + j * 16 + 8));
      }
    }
    for (int j = 0; j < ns; j++) {
      const float *st = pk + (size_t)j * PCHUNK * 16;
      int c0 = (jb0 + j) * 16, m = 0;
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
  for (int m = 0; m < M; m++)
    for (int p = 0; p < N; p++) {
      float gv = dY[(size_t)m * N + p];
      const float *w = W + (size_t)p * K;
      float *d = dX + (size_t)m * K;
      for (int k = j0 + ns * 16; k < j1; k++) d[k] += gv * w[k];
    }
}
