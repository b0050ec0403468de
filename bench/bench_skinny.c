/* The skinny products of prompt tuning (ops/gemm/skinny.h), two ISA levels side by side.
 *
 *   bench_skinny [threads] [rounds] [level-a] [level-b] [case-substring]
 *
 * For one run's prompts (M = 24 rows: 25 with the SOT row, which only the first forward and the
 * last block's qkv compute; the weights streamed from memory) and a dozen runs
 * stacked in lockstep (M = 300, the weights reused by many rows), ViT-B/32's text-tower widths
 * (K x N = 512 x 2048, 2048 x 512, 512 x 512) and the demo's toy CLIP's (96, 288, 384 wide:
 * 33 rows and 6 rows, its 15 runs in lockstep), float32 and bfloat16 weights, the forward
 * out = X · W^T + b and the input gradient dX += dY · W, each timed on level a and level b
 * (default avx2 and avx512) in alternating rounds so that both see the same share of a shared
 * machine. Each round times a batch of calls long enough to read (about 20 ms) by process CPU
 * time per thread. So that a ViT-B/32 product finds its weight in memory, not in the cache, as
 * in a tower's pass, its weights are copies in turn, as many as make twice the last-level
 * cache (at least 8, at most 1.5 GB of them: a large shared L3, such as a virtual machine's
 * 480 MB, would hold a few copies of a 4 MB weight, and the 25-row forward then ran 38-53%
 * faster than from memory); a line on stderr says how many per weight and whether they
 * outgrow the cache. The toy CLIP's weights (its whole tower under 1 MB) are 8 copies, in the
 * cache as in its tower. bfloat16 weights come with their AMX tiles packed once (as a bf16
 * tower's at load) where either level has them. BENCH_SKINNY_COPIES=n sets the copies of every
 * weight instead (1: the kernels' ceiling with the weight in the cache). One line per case:
 *   <dir> <prec> M K N <GFLOP/s a> <GFLOP/s b> <b/a: best rounds> <b/a: median of the rounds'>
 * (GFLOP/s from the best round's CPU time, 2·M·K·N per product). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cpu.h"
#include "core/dtype.h"
#include "core/pool.h"
#include "core/progress.h"
#include "ops/dispatch.h"
#include "ops/gemm/skinny.h"
#include "tools/cli/args.h"

enum { MIN_COPIES = 8, MAX_COPIES = 2048, CACHED_WEIGHT_BYTES = 1 << 20 };
#define MAX_COPY_BYTES ((size_t)3 << 29) /* 1.5 GB */

typedef struct {
  int M, K, N, bf16, backward;
  float *X, *b, *dY, *out, *dX;
  int copies, next; /* next: the copy the next call takes, so that every call streams a weight
                     * the last `copies - 1` calls did not (each round going on from the last) */
  float *W[MAX_COPIES];     /* float32 cases */
  uint16_t *Wh[MAX_COPIES]; /* bfloat16 cases */
  uint16_t *Wt[MAX_COPIES]; /* the AMX tiles of Wh, packed once as a bf16 tower's at load (or NULL) */
} bench_case;

static void call(const cd_kernels *kt, const bench_case *c, int copy) {
  if (c->backward) {
    if (c->bf16) cd_skinny_linear_backward_bf16_tiled(kt, c->dX, c->dY, c->Wh[copy], c->Wt[copy], c->M, c->K, c->N);
    else cd_skinny_linear_backward(kt, c->dX, c->dY, c->W[copy], c->M, c->K, c->N);
  } else {
    if (c->bf16) cd_skinny_linear_forward_bf16_tiled(kt, c->out, c->X, c->Wh[copy], c->Wt[copy], c->b, c->M, c->K, c->N);
    else cd_skinny_linear_forward(kt, c->out, c->X, c->W[copy], c->b, c->M, c->K, c->N);
  }
}

/* CPU seconds per call (per thread) of `reps` calls. */
static double time_calls(const cd_kernels *kt, bench_case *c, int reps, int nt) {
  double c0 = cd_cpu_time_now();
  for (int r = 0; r < reps; r++, c->next = (c->next + 1) % c->copies) call(kt, c, c->next);
  return (cd_cpu_time_now() - c0) / reps / nt;
}

/* dst[i] = src[(i + k) % n] for n elements of esz bytes (k < n). */
static void rotated_copy(void *dst, const void *src, size_t n, size_t k, size_t esz) {
  memcpy(dst, (const char *)src + k * esz, (n - k) * esz);
  memcpy((char *)dst + (n - k) * esz, src, k * esz);
}

/* The size of the highest cache level the kernel lists for cpu 0 (sysfs, "32768K"), 0 if none:
 * glibc's sysconf derives L3 from CPUID leaves that a virtual machine may fill in with the
 * host's (an AMD EPYC guest with a 32 MB L3 read 320 MB there). */
static size_t sysfs_llc_bytes(void) {
  size_t best = 0;
  int best_level = 0;
  for (int i = 0; i < 8; i++) {
    char path[96], buf[32];
    int level = 0;
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
    FILE *f = fopen(path, "r");
    if (!f) break;
    if (fscanf(f, "%d", &level) != 1) level = 0;
    fclose(f);
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
    if (!(f = fopen(path, "r"))) continue;
    char *ok = fgets(buf, sizeof buf, f);
    fclose(f);
    char *end = NULL;
    unsigned long long v = ok ? strtoull(buf, &end, 10) : 0;
    if (end && (*end == 'K' || *end == 'k')) v <<= 10;
    else if (end && *end == 'M') v <<= 20;
    if (level > best_level && v > 0) best_level = level, best = (size_t)v;
  }
  return best;
}

/* The last-level cache's bytes (0: unknown): sysfs, else sysconf. */
static size_t llc_bytes(void) {
  size_t s = sysfs_llc_bytes();
  if (s) return s;
  long b = 0;
#ifdef _SC_LEVEL3_CACHE_SIZE
  b = sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (b <= 0) b = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
  return b > 0 ? (size_t)b : 0;
}

/* Copies of an N x K weight of `bytes` (with its tiles) that make twice the last-level cache;
 * the toy CLIP's weights (under 1 MB as float32: its whole tower stays in a core's cache) the
 * minimum. */
static int toy_weight(int N, int K) { return sizeof(float) * (size_t)N * K < CACHED_WEIGHT_BYTES; }
static int weight_copies(int N, int K, size_t bytes) {
  if (toy_weight(N, K)) return MIN_COPIES;
  size_t want = 2 * llc_bytes(), n = (want + bytes - 1) / bytes;
  if (n * bytes > MAX_COPY_BYTES) n = MAX_COPY_BYTES / bytes;
  if (n > MAX_COPIES) n = MAX_COPIES;
  return n < MIN_COPIES ? MIN_COPIES : (int)n;
}

static void print_copies(const bench_case *c, size_t bytes) {
  size_t llc = llc_bytes(), total = (size_t)c->copies * bytes;
  if (toy_weight(c->N, c->K)) {
    fprintf(stderr, "bench_skinny: weight %d x %d: %d copies (%.1f MB), in the cache as in the toy CLIP's tower\n", c->N, c->K,
            c->copies, total / 1e6);
    return;
  }
  fprintf(stderr, "bench_skinny: weight %d x %d from memory: %d copies (%.0f MB) against a "
          "last-level cache of %.0f MB%s\n", c->N, c->K, c->copies, total / 1e6, llc / 1e6,
          llc == 0 ? " (size unknown)" : total >= 2 * llc ? "" : ": NOT all past the cache, the products partly run from it");
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  int threads = 1, rounds = 9;
  if ((argc > 1 && cd_arg_int("threads", argv[1], 1, CD_POOL_MAX_THREADS, &threads)) ||
      (argc > 2 && cd_arg_int("rounds", argv[2], 1, 1000, &rounds)))
    return 1;
  const char *na = argc > 3 ? argv[3] : "avx2", *nb = argc > 4 ? argv[4] : "avx512", *filter = argc > 5 ? argv[5] : NULL;
  const cd_kernels *ka = NULL, *kb = NULL;
  for (int l = 0; l < CD_ISA_COUNT; l++) {
    if (!strcmp(cd_isa_name((cd_isa)l), na)) ka = cd_kernels_for((cd_isa)l);
    if (!strcmp(cd_isa_name((cd_isa)l), nb)) kb = cd_kernels_for((cd_isa)l);
  }
  if (!ka || !kb) {
    fprintf(stderr, "bench_skinny: this CPU or build cannot run level %s\n", !ka ? na : nb);
    return 1;
  }
  cd_threads_set(threads);
  const char *co = getenv("BENCH_SKINNY_COPIES");
  int copies_override = co ? atoi(co) : 0;
  int nt = cd_threads_get();
  fprintf(stderr, "bench_skinny: %s (skinny %s) vs %s (skinny %s), %d thread(s), %d alternating rounds\n", na,
          cd_kernels_describe(ka, CD_OP_SKINNY), nb, cd_kernels_describe(kb, CD_OP_SKINNY), nt, rounds);
  printf("# dir prec M K N GFLOP/s(%s) GFLOP/s(%s) %s/%s(best rounds) %s/%s(median of paired rounds)\n", na, nb,
         nb, na, nb, na);
  static const int shapes[][3] = {{24, 512, 2048}, {24, 2048, 512}, {24, 512, 512},
                                  /* one run at run's default prompt: 12 rows after the SOT */
                                  {12, 512, 1536}, {12, 512, 2048}, {12, 2048, 512}, {12, 512, 512},
                                  {300, 512, 2048}, {300, 2048, 512}, {300, 512, 512},
                                  /* 12 runs in lockstep at the default n_ctx: 13 rows each */
                                  {156, 512, 1536}, {156, 512, 2048}, {156, 2048, 512}, {156, 512, 512},
                                  /* the demo's toy text tower, 15 runs in lockstep */
                                  {33, 96, 288},    {33, 96, 384},    {33, 384, 96},  {6, 96, 96}};
  int last_shape = -1, last_bf16 = -1;
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
    for (int bf16 = 0; bf16 < 2; bf16++)
      for (int backward = 0; backward < 2; backward++) {
        char tag[64];
        snprintf(tag, sizeof tag, "%s %s %d %d %d", backward ? "backward" : "forward", bf16 ? "bf16" : "fp32",
                 shapes[s][0], shapes[s][1], shapes[s][2]);
        if (filter && !strstr(tag, filter)) continue;
        bench_case c = {.M = shapes[s][0], .K = shapes[s][1], .N = shapes[s][2], .bf16 = bf16, .backward = backward};
        size_t mk = (size_t)c.M * c.K, mn = (size_t)c.M * c.N, nk = (size_t)c.N * c.K;
        c.X = malloc(sizeof(float) * mk), c.dX = malloc(sizeof(float) * mk), c.b = malloc(sizeof(float) * c.N);
        c.dY = malloc(sizeof(float) * mn), c.out = malloc(sizeof(float) * mn);
        if (!c.X || !c.dX || !c.b || !c.dY || !c.out) return 1;
        for (size_t i = 0; i < mk; i++) c.X[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f, c.dX[i] = 0;
        for (size_t i = 0; i < mn; i++) c.dY[i] = (float)((i * 104729) % 1000) * 1e-3f - 0.5f;
        for (int i = 0; i < c.N; i++) c.b[i] = 0.01f * i;
        const cd_kernels *kt = ka->skinny_tile_weight_bf16 ? ka : kb;
        size_t tiles = bf16 && kt->skinny_tile_weight_bf16 ? (kt->skinny_tile_weight_bytes(c.K, c.N) + 63) & ~(size_t)63 : 0;
        size_t copy_bytes = (bf16 ? sizeof(uint16_t) : sizeof(float)) * nk + tiles;
        c.copies = copies_override > 0 ? copies_override : weight_copies(c.N, c.K, copy_bytes);
        /* copy k is copy 0's values shifted by k (bfloat16: rounded once, then shifted) */
        float *w0 = malloc(sizeof(float) * nk);
        uint16_t *h0 = bf16 ? malloc(sizeof(uint16_t) * nk) : NULL;
        if (!w0 || (bf16 && !h0)) return 1;
        for (size_t i = 0; i < nk; i++) w0[i] = (float)((i * 104729) % 1000) * 1e-4f - 0.05f;
        for (size_t i = 0; bf16 && i < nk; i++) h0[i] = cd_f32_to_bf16(w0[i]);
        for (int k = 0; k < c.copies; k++) {
          c.W[k] = NULL, c.Wh[k] = NULL, c.Wt[k] = NULL;
          if (!bf16) {
            if (!(c.W[k] = malloc(sizeof(float) * nk))) return 1;
            rotated_copy(c.W[k], w0, nk, (size_t)k % nk, sizeof(float));
            continue;
          }
          if (!(c.Wh[k] = malloc(sizeof(uint16_t) * nk))) return 1;
          rotated_copy(c.Wh[k], h0, nk, (size_t)k % nk, sizeof(uint16_t));
          if (tiles) {
            if (!(c.Wt[k] = aligned_alloc(64, tiles))) return 1;
            kt->skinny_tile_weight_bf16(c.Wt[k], c.Wh[k], c.K, c.N);
          }
        }
        free(w0), free(h0);
        if ((int)s != last_shape || bf16 != last_bf16) print_copies(&c, copy_bytes);
        last_shape = (int)s, last_bf16 = bf16;
        /* calls per round: about 20 ms at the first level's rate */
        double t1 = time_calls(ka, &c, c.copies, nt);
        int reps = (int)(0.02 / (t1 > 1e-7 ? t1 : 1e-7)) + 1;
        double best_a = 1e30, best_b = 1e30, *ratio = malloc(sizeof(double) * rounds);
        if (!ratio) return 1;
        for (int r = 0; r < rounds; r++) {
          double ta = time_calls(ka, &c, reps, nt), tb = time_calls(kb, &c, reps, nt);
          if (ta < best_a) best_a = ta;
          if (tb < best_b) best_b = tb;
          ratio[r] = ta / tb;
        }
        qsort(ratio, rounds, sizeof *ratio, cmp_double);
        double fl = 2.0 * c.M * c.K * c.N * 1e-9;
        printf("%s %.1f %.1f %.2f %.2f\n", tag, fl / best_a, fl / best_b, best_a / best_b, ratio[rounds / 2]);
        fflush(stdout);
        free(ratio), free(c.X), free(c.dX), free(c.b), free(c.dY), free(c.out);
        for (int k = 0; k < c.copies; k++) free(c.W[k]), free(c.Wh[k]), free(c.Wt[k]);
      }
  return 0;
}
