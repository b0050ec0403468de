/* The machine's two roofs, measured in the bench that compares against them:
 *   bandwidth  a STREAM-like triad a[i] = b[i] + s·c[i] over arrays far larger than the caches,
 *              on the pool's threads (each thread its own contiguous share); bytes = 3 · 4 · n
 *              per pass (STREAM's count: write-allocate traffic not included); best of passes;
 *   FMA peak   independent fused multiply-adds (12 accumulators, no memory traffic) of the
 *              widest float32 vector this CPU runs (AVX-512, AVX2 or scalar), every thread at
 *              once; best of rounds.
 * Best-of timing: on a shared machine the least disturbed pass is the one closest to what the
 * hardware can do. Header-only: each bench is one translation unit. */
#ifndef CD_BENCH_ROOFLINE_H
#define CD_BENCH_ROOFLINE_H

#include <stdlib.h>

#include "core/cpu.h"
#include "core/pool.h"
#include "core/progress.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

typedef struct {
  float *a;
  const float *b, *c;
  size_t n;
  int parts;
} roofline_triad;

static void roofline_triad_item(void *ctx, int item, int worker) {
  (void)worker;
  roofline_triad *t = ctx;
  size_t i0 = t->n * (size_t)item / (size_t)t->parts, i1 = t->n * (size_t)(item + 1) / (size_t)t->parts;
  float *a = t->a;
  const float *b = t->b, *c = t->c;
  for (size_t i = i0; i < i1; i++) a[i] = b[i] + 3.0f * c[i];
}

static void roofline_fill_item(void *ctx, int item, int worker) {
  (void)worker;
  roofline_triad *t = ctx; /* first touch by the thread that will stream the share */
  size_t i0 = t->n * (size_t)item / (size_t)t->parts, i1 = t->n * (size_t)(item + 1) / (size_t)t->parts;
  float *b = (float *)t->b, *c = (float *)t->c;
  for (size_t i = i0; i < i1; i++) t->a[i] = 0.0f, b[i] = 1.0f, c[i] = 0.5f;
}

/* Triad bandwidth in GB/s (1e9 bytes) on nt threads, n floats per array; 0 without memory. */
static double roofline_bandwidth_gbs(int nt, size_t n, int passes) {
  float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n), *c = malloc(sizeof(float) * n);
  double best = 1e30;
  if (a && b && c) {
    roofline_triad t = {a, b, c, n, nt};
    cd_pool_run(nt, nt, roofline_fill_item, &t);
    for (int p = 0; p < passes; p++) {
      double t0 = cd_time_now();
      cd_pool_run(nt, nt, roofline_triad_item, &t);
      double dt = cd_time_now() - t0;
      if (dt < best) best = dt;
    }
  }
  volatile float sink = a ? a[n / 2] : 0.0f;
  (void)sink;
  free(a), free(b), free(c);
  return best < 1e30 ? 3.0 * sizeof(float) * (double)n / best * 1e-9 : 0.0;
}

enum { ROOFLINE_PEAK_STEPS = 20000 };
#if defined(__x86_64__)
#define ROOFLINE_PEAK_LOOP(T, set1, fma)                                        \
  T a[12];                                                                      \
  T b = set1(1.0000001f), c = set1(1e-7f);                                      \
  for (int i = 0; i < 12; i++) a[i] = set1((float)i);                           \
  for (long k = 0; k < ROOFLINE_PEAK_STEPS; k++) {                              \
    _Pragma("GCC unroll 12") for (int i = 0; i < 12; i++) a[i] = fma(a[i], b, c); \
  }                                                                             \
  float s = 0;                                                                  \
  for (int i = 0; i < 12; i++) s += ((float *)&a[i])[0];                        \
  return s;
__attribute__((target("avx2,fma"))) static float roofline_fma_avx2(void) {
  ROOFLINE_PEAK_LOOP(__m256, _mm256_set1_ps, _mm256_fmadd_ps)
}
__attribute__((target("avx512f"))) static float roofline_fma_avx512(void) {
  ROOFLINE_PEAK_LOOP(__m512, _mm512_set1_ps, _mm512_fmadd_ps)
}
#endif
static float roofline_fma_scalar(void) {
  float a[12], b = 1.0000001f, c = 1e-7f, s = 0;
  for (int i = 0; i < 12; i++) a[i] = (float)i;
  for (long k = 0; k < ROOFLINE_PEAK_STEPS; k++)
    for (int i = 0; i < 12; i++) a[i] = a[i] * b + c;
  for (int i = 0; i < 12; i++) s += a[i];
  return s;
}

typedef struct {
  float (*fn)(void);
  volatile float sink[CD_POOL_MAX_THREADS];
} roofline_peak;

static void roofline_peak_item(void *ctx, int item, int worker) {
  (void)worker;
  roofline_peak *p = ctx;
  p->sink[item] = p->fn();
}

/* FMA peak in GFLOP/s on nt threads; *lanes = the vector width it ran (16, 8 or 1). */
static double roofline_fma_peak_gflops(int nt, int rounds, int *lanes) {
  roofline_peak p = {roofline_fma_scalar, {0}};
  *lanes = 1;
#if defined(__x86_64__)
  if (cd_cpu_supports(CD_ISA_AVX512)) p.fn = roofline_fma_avx512, *lanes = 16;
  else if (cd_cpu_supports(CD_ISA_AVX2)) p.fn = roofline_fma_avx2, *lanes = 8;
#endif
  double best = 1e30;
  for (int r = 0; r < rounds; r++) {
    double t0 = cd_time_now();
    cd_pool_run(nt, nt, roofline_peak_item, &p);
    double dt = cd_time_now() - t0;
    if (dt < best) best = dt;
  }
  return 2.0 * 12 * *lanes * (double)ROOFLINE_PEAK_STEPS * nt / best * 1e-9;
}

#endif
