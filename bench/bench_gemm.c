/* GEMM throughput on CLIP's shapes, per ISA level and precision, next to the measured FMA
 * peak of this machine.
 *
 *   bench_gemm [threads] [seconds_per_case] [tag-substring]
 *
 * First the peak: a loop of independent FMAs (12 accumulators, no memory traffic) per vector
 * width, and vdpbf16ps where the CPU has it, on `threads` threads. Then, for every level this
 * CPU runs and every precision that level has its own kernel for, the packed-weight GEMM
 * out = x · W^T + b (cd_gemm_weight, what the towers run) on ViT-B/32's shapes at batch 1
 * (M = 50) and batch 32 (M = 1600, one product split across the threads, and `shares`: each
 * thread its own 400-row product at the same time, as the image tower runs a batch of at
 * least one image per thread), and the text tower's. One line per case:
 *   <tag> M K N <level> <precision> <GFLOP/s> <% of the level's float32 FMA peak>
 * plus the % of the level's FMA peak timed in rounds alternating with the case (so that both
 * see the same share of a shared machine; best round of each, by wall clock and CPU time).
 * GFLOP/s counts 2·M·K·N per product whatever the precision. Two clocks: wall time (best of
 * several batches: on a shared machine the best is the least disturbed) and the process's CPU
 * time divided by the thread count, which other processes taking the cores cannot inflate
 * (the pool's idle workers poll for only a millisecond before they sleep). The
 * % of peak compares CPU-time rates with the peak loop measured the same way.
 * bench/bench_gemm.sh puts the best level's fp32 lines beside PyTorch's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/pool.h"
#include "core/progress.h"
#include "ops/dispatch.h"
#include "ops/gemm/gemm.h"
#include "ops/gemm/weight.h"
#include "tools/cli/args.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* shares 1: every thread runs its own product of M rows at the same time (how the image
 * tower runs a batch of at least one image per thread: a pass of 8 images = 400 rows each);
 * GFLOP/s then counts all threads' products. shares 0: one product split across threads. */
static const struct {
  const char *tag;
  int M, K, N, shares;
} shapes[] = {
    {"vit-b32.b1.qkv", 50, 768, 2304, 0},    {"vit-b32.b1.out", 50, 768, 768, 0},
    {"vit-b32.b1.fc", 50, 768, 3072, 0},     {"vit-b32.b1.proj", 50, 3072, 768, 0},
    {"vit-b32.b32.qkv", 1600, 768, 2304, 0}, {"vit-b32.b32.out", 1600, 768, 768, 0},
    {"vit-b32.b32.fc", 1600, 768, 3072, 0},  {"vit-b32.b32.proj", 1600, 3072, 768, 0},
    {"vit-b32.b32.shares.qkv", 400, 768, 2304, 1}, {"vit-b32.b32.shares.out", 400, 768, 768, 1},
    {"vit-b32.b32.shares.fc", 400, 768, 3072, 1},  {"vit-b32.b32.shares.proj", 400, 3072, 768, 1},
    {"text.qkv.M77", 77, 512, 1536, 0},      {"text.fc.M77", 77, 512, 2048, 0},
    {"text.fc.M385", 385, 512, 2048, 0},     {"text.proj.M385", 385, 2048, 512, 0},
};

/* ---- peak ---- */
#define PEAK_STEPS 20000
#if defined(__x86_64__)
#define PEAK_LOOP(T, set1, fma)                                      \
  T a[12];                                                           \
  T b = set1(1.0000001f), c = set1(1e-7f);                           \
  for (int i = 0; i < 12; i++) a[i] = set1((float)i);                \
  for (long k = 0; k < PEAK_STEPS; k++) {                            \
    _Pragma("GCC unroll 12") for (int i = 0; i < 12; i++) a[i] = fma(a[i], b, c); \
  }                                                                  \
  float s = 0;                                                       \
  for (int i = 0; i < 12; i++) s += ((float *)&a[i])[0];             \
  return s;
__attribute__((target("avx2,fma"))) static float peak_avx2(void) { PEAK_LOOP(__m256, _mm256_set1_ps, _mm256_fmadd_ps) }
__attribute__((target("avx512f"))) static float peak_avx512(void) { PEAK_LOOP(__m512, _mm512_set1_ps, _mm512_fmadd_ps) }
__attribute__((target("avx512f,avx512bf16"))) static float peak_bf16(void) {
  __m512 a[12];
  __m512bh b = (__m512bh)_mm512_set1_epi32(0x3f803f80);
  for (int i = 0; i < 12; i++) a[i] = _mm512_set1_ps((float)i);
  for (long k = 0; k < PEAK_STEPS; k++) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) a[i] = _mm512_dpbf16_ps(a[i], b, b);
  }
  float s = 0;
  for (int i = 0; i < 12; i++) s += ((float *)&a[i])[0];
  return s;
}
#endif

typedef struct {
  double wall, cpu; /* best seconds per call: wall clock, CPU time / threads */
} timing;

static void keep_best(timing *b, double wall, double cpu) {
  if (wall < b->wall) b->wall = wall;
  if (cpu < b->cpu) b->cpu = cpu;
}

/* Peak GFLOP/s (CPU-time based) of fn on nt threads, flops per call per thread given; each
 * timed unit makes `calls` calls per thread (a unit as long as the work it is compared with
 * has the same odds of being interrupted on a shared machine). */
typedef struct {
  float (*fn)(void);
  int calls;
  float sums[256];
} peak_job;

static void peak_item(void *ctx, int t, int worker) {
  peak_job *j = ctx;
  float s = 0;
  for (int i = 0; i < j->calls; i++) s += j->fn();
  j->sums[t] = s;
}

static double peak_of(float (*fn)(void), double flops, int nt, double secs, int calls, double *wall_gflops) {
  timing best = {1e30, 1e30};
  double t_end = cd_time_now() + secs;
  volatile float sink = 0;
  peak_job j = {fn, calls, {0}};
  if (nt > 256) nt = 256;
  do {
    double t0 = cd_time_now(), c0 = cd_cpu_time_now();
    cd_pool_run(nt, nt, peak_item, &j); /* one item per thread: nt copies of the loop at once */
    keep_best(&best, (cd_time_now() - t0) / calls, (cd_cpu_time_now() - c0) / nt / calls);
    for (int t = 0; t < nt; t++) sink += j.sums[t];
  } while (cd_time_now() < t_end);
  (void)sink;
  *wall_gflops = flops * nt / best.wall * 1e-9;
  return flops * nt / best.cpu * 1e-9;
}

/* ---- GEMM ---- */
/* One call: the product split across nt threads, or (shares) nt products at once, one per
 * thread (inside the parallel region each runs single-threaded), outputs M * N floats apart. */
typedef struct {
  const cd_weight *w;
  const float *x, *b;
  float *o;
  int M;
  cd_arena *ws;
} share_job;

static void share_item(void *ctx, int t, int worker) {
  const share_job *j = ctx;
  cd_gemm_weight(j->w, j->x, j->w->cols, j->M, j->o + (size_t)t * j->M * j->w->rows, j->w->rows, j->b, CD_ACT_NONE,
                 NULL, j->ws + 1 + t);
}

static void gemm_call(const cd_weight *w, const float *x, float *o, const float *b, int M, int nt, int shares,
                      cd_arena *ws) {
  if (!shares) {
    cd_gemm_weight(w, x, w->cols, M, o, w->rows, b, CD_ACT_NONE, NULL, ws);
    return;
  }
  share_job j = {w, x, b, o, M, ws};
  cd_pool_run(nt, nt, share_item, &j); /* one product per thread, each run inline */
}

/* One timed round of secs; the best per-call times so far are kept in *best. */
static void time_gemm(const cd_weight *w, const float *x, float *o, const float *b, int M, double secs,
                      int nt, int shares, cd_arena *ws, timing *best) {
  double t_end = cd_time_now() + secs;
  int reps = 1;
  do {
    double t0 = cd_time_now(), c0 = cd_cpu_time_now();
    for (int r = 0; r < reps; r++) gemm_call(w, x, o, b, M, nt, shares, ws);
    double dt = (cd_time_now() - t0) / reps;
    keep_best(best, dt, (cd_cpu_time_now() - c0) / reps / nt);
    if (dt * reps < 0.02) reps *= 2;
  } while (cd_time_now() < t_end);
}

/* The peak loop of a level (fp32 FMAs of its vector width), flops per call per thread. */
static float (*peak_fn(cd_isa l, double *flops))(void) {
#if defined(__x86_64__)
  if (l == CD_ISA_AVX2) return *flops = 12.0 * 16 * PEAK_STEPS, peak_avx2;
  if (l == CD_ISA_AVX512 || l == CD_ISA_AVX512BF16 || l == CD_ISA_AMX) return *flops = 12.0 * 32 * PEAK_STEPS, peak_avx512;
#endif
  (void)l;
  *flops = 0;
  return NULL;
}

/* A GEMM case and its level's FMA peak timed in alternating rounds, so that both see the
 * same share of a shared machine; the best round of each counts. Returns the GEMM's best
 * times; *peak_wall / *peak_cpu get the peak's GFLOP/s measured beside it (0 without one). */
#define ROUNDS 5
static timing race_gemm(const cd_weight *w, const float *x, float *o, const float *b, int M, double secs, int nt,
                        int shares, cd_arena *ws, cd_isa l, double *peak_wall, double *peak_cpu) {
  gemm_call(w, x, o, b, M, nt, shares, ws); /* warm up */
  timing best = {1e30, 1e30};
  double flops, pw = 0, pc = 0, wall;
  float (*fn)(void) = peak_fn(l, &flops);
  for (int r = 0; r < ROUNDS; r++) {
    if (fn) {
      /* peak units as long as one GEMM call (at the peak's first rate) */
      double g = best.wall < 1e30 ? best.wall : 0, unit = pw > 0 ? flops * nt / (pw * 1e9) : 0;
      int calls = unit > 0 && g > unit ? (int)(g / unit) : 1;
      double c = peak_of(fn, flops, nt, secs / (2 * ROUNDS), calls, &wall);
      if (c > pc) pc = c;
      if (wall > pw) pw = wall;
    }
    time_gemm(w, x, o, b, M, secs / ROUNDS, nt, shares, ws, &best);
  }
  *peak_wall = pw, *peak_cpu = pc;
  return best;
}

int main(int argc, char **argv) {
  int threads = 0; /* usage: bench_gemm [threads (0: all)] [seconds per case] [tag filter] */
  double secs = 0.5;
  const char *filter = argc > 3 ? argv[3] : NULL;
  if ((argc > 1 && cd_arg_int("threads", argv[1], 0, CD_POOL_MAX_THREADS, &threads)) ||
      (argc > 2 && cd_arg_float("seconds", argv[2], &secs)))
    return 1;
  if (threads > 0) cd_threads_set(threads);
  int nt = cd_threads_get();
  cd_cpu_features f;
  cd_cpu_detect(&f);
  fprintf(stderr, "clipdebias gemm: %s, best level %s, %d threads\n", f.brand, cd_isa_name(cd_cpu_best_isa()), nt);
  double peak[CD_ISA_COUNT] = {0}, wall;
#if defined(__x86_64__)
  if (cd_cpu_supports(CD_ISA_AVX2)) {
    peak[CD_ISA_AVX2] = peak_of(peak_avx2, 12.0 * 16 * PEAK_STEPS, nt, secs, 1, &wall);
    printf("peak avx2 fma: %.1f GFLOP/s (CPU time), %.1f (wall)\n", peak[CD_ISA_AVX2], wall);
  }
  if (cd_cpu_supports(CD_ISA_AVX512)) {
    peak[CD_ISA_AVX512] = peak_of(peak_avx512, 12.0 * 32 * PEAK_STEPS, nt, secs, 1, &wall);
    printf("peak avx512 fma: %.1f GFLOP/s (CPU time), %.1f (wall)\n", peak[CD_ISA_AVX512], wall);
  }
  peak[CD_ISA_AVX512BF16] = peak[CD_ISA_AMX] = peak[CD_ISA_AVX512];
  if (cd_cpu_supports(CD_ISA_AVX512BF16)) {
    double bf = peak_of(peak_bf16, 12.0 * 64 * PEAK_STEPS, nt, secs, 1, &wall);
    printf("peak avx512bf16 vdpbf16ps: %.1f GFLOP/s (CPU time), %.1f (wall), counting 2 products + 2 adds per lane\n", bf, wall);
  }
#endif
  printf("# tag M K N level precision GFLOP/s(wall) GFLOP/s(cpu) %%peak(cpu, of the level's fp32 FMA above)"
         " %%peak(wall) %%peak(cpu) (of the FMA peak timed in rounds alternating with the case)\n");
  fflush(stdout);
  /* ws[0]: the split products' scratch; ws[1 + t]: thread t's in shares mode */
  cd_arena *ws = calloc((size_t)nt + 1, sizeof(cd_arena));
  for (int t = 0; t <= nt; t++)
    if (!ws || cd_arena_init(&ws[t], (size_t)(t ? 16 : 64) << 20, NULL)) return 1;
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    if (filter && !strstr(shapes[s].tag, filter)) continue;
    int M = shapes[s].M, K = shapes[s].K, N = shapes[s].N, shares = shapes[s].shares, outs = shares ? nt : 1;
    float *x = malloc(sizeof(float) * M * K), *wf = malloc(sizeof(float) * N * K);
    float *b = malloc(sizeof(float) * N), *o = malloc(sizeof(float) * M * N * outs);
    if (!x || !wf || !b || !o) return 1;
    for (size_t i = 0; i < (size_t)M * K; i++) x[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
    for (size_t i = 0; i < (size_t)N * K; i++) wf[i] = (float)((i * 104729) % 1000) * 1e-4f - 0.05f;
    for (int i = 0; i < N; i++) b[i] = 0.01f * i;
    for (int l = 0; l < CD_ISA_COUNT; l++) {
      const cd_kernels *kt = cd_kernels_for((cd_isa)l);
      if (!kt || (l == CD_ISA_REF && cd_cpu_native_isa() != CD_ISA_REF)) continue; /* portable C: not a contender */
      for (int p = 0; p < CD_PREC_COUNT; p++) {
        if (kt->from[CD_OP_GEMM_FP32 + p] != (cd_isa)l) continue;
        cd_weight w = {N, K, CD_F32, wf, NULL, NULL, 0, NULL, NULL};
        if (cd_weight_pack(&w, kt->gemm[p], NULL)) return 1;
        double pw, pc;
        timing t = race_gemm(&w, x, o, b, M, secs, nt, shares, ws, (cd_isa)l, &pw, &pc);
        double fl = 2.0 * M * K * N * outs * 1e-9, gw = fl / t.wall, gc = fl / t.cpu;
        printf("%s %d %d %d %s %s %.1f %.1f %.0f %.0f %.0f\n", shapes[s].tag, M, K, N, cd_isa_name((cd_isa)l),
               cd_precision_name((cd_precision)p), gw, gc, peak[l] > 0 ? 100.0 * gc / peak[l] : 0.0,
               pw > 0 ? 100.0 * gw / pw : 0.0, pc > 0 ? 100.0 * gc / pc : 0.0);
        fflush(stdout);
        cd_weight_free(&w);
      }
    }
    free(x), free(wf), free(b), free(o);
  }
  for (int t = 0; t <= nt; t++) cd_arena_free(&ws[t]);
  free(ws);
  return 0;
}
