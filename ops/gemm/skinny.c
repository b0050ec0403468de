/* Drivers and portable kernels of the skinny products (see ops/gemm/skinny.h). */
#include "ops/gemm/skinny.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/pool.h"

void cd_skinny_linear_forward_ref(float *out, const float *X, const float *W, const float *bias,
                                  int M, int K, int N) {
  cd_skinny_forward_portable(out, X, (size_t)K, W, bias, M, K, N, 0, N);
}

void cd_skinny_linear_backward_ref(float *dX, const float *dY, const float *W, int M, int K,
                                   int N) {
  cd_skinny_backward_portable(dX, dY, W, M, K, N, 0, K, NULL);
}

/* Weight rows per kernel call of the forward: a multiple of the AVX2 kernel's 3-row tile; each
 * call prefetches the rows after its own (the AVX-512 kernel: the next call's). Longer calls
 * (about 384 KB of weight: 128 rows at 512 wide) let the AVX-512 kernel pack its input pairs
 * for more weight rows, +7-13% at 25 rows with the weights in the cache, but with them in
 * memory, as in a tower's pass, they gained nothing and lost 9-10% at 512 x 512: a call
 * that follows none of the same thread's has nothing prefetched for it, and with 4 calls
 * instead of 22 that is a quarter of a 512-row product. */
enum { ROWS = 24 };
/* Many input rows (lockstep): each weight row serves them all, the arithmetic outweighs the
 * streaming, and longer calls let a kernel's per-call work on the inputs (the AVX-512
 * kernel packs them in pairs) serve more weight rows: +10% at 300 rows there with 64 rows,
 * another +5% at 2048 wide with 128 (its chunk), the AVX2 kernel unchanged. 128 splits
 * ViT-B/32's 512-row products into 4 equal calls. */
enum { ROWS_MANY = 128 };
enum { MANY = 64 }; /* input rows from which a product counts as many (lockstep) */
/* Work items per thread: each a run of consecutive column strips (backward) or weight-row
 * calls (forward), so that each call's prefetch serves the same thread's next call. More
 * than one, so that a thread the machine deschedules holds up only part of a product while
 * the other takes the rest: 4 with many rows; 2 in the forward with few (one run per
 * thread measured the same on 2 threads at 25 rows, within the noise); the few-row strip
 * backward keeps one long run per thread (see backward_item). */
enum { ITEMS_PER_THREAD = 4, FEW_ITEMS_PER_THREAD = 2 };

typedef struct {
  const cd_kernels *kt;
  float *out;
  const float *X, *W, *bias, *dY;
  const uint16_t *Wh;      /* bfloat16 weight rows instead of W (NULL: W) */
  const uint16_t *split;   /* X or dY split into packed bf16 hi + lo tiles (AMX; else NULL) */
  size_t ldx;
  int M, K, N, nj, nitems;
  const uint16_t *Wt; /* the weight's AMX tiles packed at load (else NULL: packed per product) */
  size_t pairs_bytes;  /* > 0: each thread packs X in pairs once for its items (kt->skinny_pack_pairs) */
  unsigned char packed[CD_POOL_MAX_THREADS]; /* by worker: its pairs are packed for this product */
  int piece; /* the forward's weight rows per kernel call */
} skinny_job;

static void *thread_scratch(int slot, size_t bytes);

/* The worker's own copy of X in pairs (its scratch slot 1, packed on its first item of the
 * product), or NULL without the memory (its kernel then packs per item, the same bits). Each
 * thread packs the whole X for itself rather than the calling thread once for all: at 2
 * threads the shared copy was packed while the other thread waited, then read from the
 * packing core's cache by every item of the other (the inputs, written by the last product's
 * two threads, are read across cores once either way). */
static const float *worker_pairs(skinny_job *j, int worker) {
  float *p = thread_scratch(1, j->pairs_bytes);
  if (p && !j->packed[worker]) {
    j->kt->skinny_pack_pairs(p, j->X, j->ldx, j->M, j->K);
    j->packed[worker] = 1;
  }
  return p;
}

/* Weight rows [n0, n1) of the forward: one kernel call. */
static void forward_rows(skinny_job *j, int n0, int n1, int worker) {
  const float *pairs = j->pairs_bytes ? worker_pairs(j, worker) : NULL;
  if (pairs && j->Wh)
    j->kt->skinny_forward_pairs_bf16(j->out, pairs, j->X, j->ldx, j->Wh, j->bias, j->M, j->K, j->N, n0, n1);
  else if (pairs)
    j->kt->skinny_forward_pairs(j->out, pairs, j->X, j->ldx, j->W, j->bias, j->M, j->K, j->N, n0, n1);
  else if (j->Wh) j->kt->skinny_forward_bf16(j->out, j->X, j->ldx, j->Wh, j->bias, j->M, j->K, j->N, n0, n1);
  else j->kt->skinny_forward(j->out, j->X, j->ldx, j->W, j->bias, j->M, j->K, j->N, n0, n1);
}

/* Item i of the forward: the i-th of nitems equal runs of piece-row calls, in order. Runs,
 * not the calls themselves, are the items because each call prefetches the rows after its
 * own: with calls as items, taken in turn by 2 threads, nearly every prefetch brought the
 * other thread's next rows into the wrong core's cache (2 threads, 25 rows: a ViT-B/32 step
 * 1.05-1.09x faster as runs, medians of 12 paired rounds on a Zen 4). Which call computes an
 * output never changes its bits. */
static void forward_run(void *ctx, int i, int worker) {
  skinny_job *j = ctx;
  int p0 = (int)((long)j->nj * i / j->nitems), p1 = (int)((long)j->nj * (i + 1) / j->nitems);
  for (int p = p0; p < p1; p++) {
    int n0 = p * j->piece, n1 = n0 + j->piece < j->N ? n0 + j->piece : j->N;
    forward_rows(j, n0, n1, worker);
  }
}

/* AMX: the activations split into bf16 hi + lo tiles once per product (by row blocks of
 * 16 over the threads), for all threads' kernels to read. */
typedef struct {
  const cd_kernels *kt;
  uint16_t *dst;
  const float *X;
  int M, K;
} split_job;

static void split_blocks(void *ctx, size_t b0, size_t b1, int worker) {
  const split_job *s = ctx;
  (void)worker;
  s->kt->skinny_pack_bf16(s->dst, s->X, (size_t)s->K, s->M, s->K, (int)b0, (int)b1);
}

/* The split tiles go to the calling thread's scratch (slot 1, kept between products). */
static uint16_t *split_rows(const cd_kernels *kt, const float *X, int M, int K, int threads) {
  uint16_t *dst = thread_scratch(1, CD_SKINNY_AMX_BYTES(M, K));
  if (!dst) {
    fprintf(stderr, "clipdebias: out of memory (bf16 activation tiles, %d x %d)\n", M, K);
    abort();
  }
  split_job s = {kt, dst, X, M, K};
  cd_pool_range((size_t)(M + 15) / 16, 1, threads, split_blocks, &s);
  return dst;
}

/* AMX forward item i: the i-th of nitems equal runs of 32-row tile pairs (the kernel packs
 * them a block at a time and prefetches its next block while computing this one, so each
 * thread's run streams from memory without a gap). Every output element is computed whole
 * by one tile pass, so the split never changes the bits. */
static void forward_pairs(void *ctx, int i, int worker) {
  const skinny_job *j = ctx;
  (void)worker;
  int n0 = (int)((long)j->nj * i / j->nitems) * 32, n1 = (int)((long)j->nj * (i + 1) / j->nitems) * 32;
  if (n1 > j->N) n1 = j->N;
  if (n1 > n0) j->kt->skinny_forward_bf16_packed(j->out, j->split, j->Wh, j->Wt, j->bias, j->M, j->K, j->N, n0, n1);
}

/* The participants of an M x K x N product: one under 2e5 multiply-adds (a fork and join
 * would cost more than it saves) or inside a pool item (a nested run is inline), else every
 * thread. */
static int product_threads(int M, int K, int N) {
  return (double)M * N * K > 2e5 && !cd_pool_in_item() ? cd_threads_get() : 1;
}

static void linear_forward(const cd_kernels *kt, float *out, const float *X, const float *W,
                           const uint16_t *Wh, const uint16_t *Wt, const float *bias, int M, int K, int N) {
  if (M <= 0 || N <= 0) return;
  int nt = product_threads(M, K, N);
  if (Wh && kt->skinny_forward_bf16_packed) {
    uint16_t *split = split_rows(kt, X, M, K, nt);
    int nj = (N + 31) / 32;
    skinny_job j = {kt, out, X, NULL, bias, NULL, Wh, split, (size_t)K, M, K, N, nj, nt < nj ? nt : nj, Wt, 0, {0}, 0};
    cd_pool_run(j.nitems, j.nitems, forward_pairs, &j);
    return;
  }
  /* A kernel that takes the inputs packed once for all items gets them packed once per
   * thread (worker_pairs; few rows only: packing 300 rows at 2048 wide, 2.5 MB, would leave
   * the cache before the items read it). */
  size_t pairs_bytes = 0;
  if (M < MANY && (Wh ? kt->skinny_forward_pairs_bf16 != NULL : kt->skinny_forward_pairs != NULL))
    pairs_bytes = sizeof(float) * kt->skinny_pairs_floats(M, K);
  /* Rows a multiple of 4 KB apart share L1 sets, and a tile streams 7 rows at once: give the
   * inputs a padded copy (small next to the weight) so they spread over the sets (the packed
   * pairs are spread already). */
  size_t ldx = (size_t)K;
  float *pad = NULL;
  if (!pairs_bytes && K >= 1024 && K % 1024 == 0 && (pad = malloc(sizeof(float) * (size_t)M * (K + 16)))) {
    ldx = (size_t)K + 16;
    for (int m = 0; m < M; m++) memcpy(pad + m * ldx, X + (size_t)m * K, sizeof(float) * K);
    X = pad;
  }
  skinny_job j = {kt, out, X, W, bias, NULL, Wh, NULL, ldx, M, K, N, 0, 0, NULL, pairs_bytes, {0}, 0};
  j.piece = M >= MANY ? ROWS_MANY : ROWS;
  j.nj = (N + j.piece - 1) / j.piece;
  int runs = (M >= MANY ? ITEMS_PER_THREAD : FEW_ITEMS_PER_THREAD) * nt;
  j.nitems = runs < j.nj ? runs : j.nj;
  cd_pool_run(j.nitems, nt, forward_run, &j);
  free(pad);
}

void cd_skinny_linear_forward(const cd_kernels *kt, float *out, const float *X, const float *W,
                              const float *bias, int M, int K, int N) {
  linear_forward(kt, out, X, W, NULL, NULL, bias, M, K, N);
}

void cd_skinny_linear_forward_bf16(const cd_kernels *kt, float *out, const float *X, const uint16_t *W,
                                   const float *bias, int M, int K, int N) {
  linear_forward(kt, out, X, NULL, W, NULL, bias, M, K, N);
}

void cd_skinny_linear_forward_bf16_tiled(const cd_kernels *kt, float *out, const float *X, const uint16_t *W,
                                         const uint16_t *Wt, const float *bias, int M, int K, int N) {
  linear_forward(kt, out, X, NULL, W, Wt, bias, M, K, N);
}

/* Each thread's scratch, kept from call to call (a fresh one per call cost a malloc and,
 * past the mmap threshold, page faults on every product); the keys free it when the thread
 * ends. Slot 0: the backward's strip (or AMX pair tiles), slot 1: the AMX split activations
 * (the calling thread's, read by all while it runs items itself) or the forward's packed
 * pairs (each thread's own). */
static _Thread_local struct {
  void *p;
  size_t n;
} t_scratch[2];
static pthread_key_t g_scratch_key[2];
static pthread_once_t g_scratch_once = PTHREAD_ONCE_INIT;
static int g_scratch_key_ok;

static void scratch_keys_make(void) {
  g_scratch_key_ok = pthread_key_create(&g_scratch_key[0], free) == 0 && pthread_key_create(&g_scratch_key[1], free) == 0;
}

/* bytes, 64-byte aligned, or NULL when out of memory. */
static void *thread_scratch(int slot, size_t bytes) {
  if (t_scratch[slot].n >= bytes) return t_scratch[slot].p;
  pthread_once(&g_scratch_once, scratch_keys_make);
  if (!g_scratch_key_ok) return NULL;
  free(t_scratch[slot].p);
  t_scratch[slot].p = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
  t_scratch[slot].n = t_scratch[slot].p ? bytes : 0;
  if (pthread_setspecific(g_scratch_key[slot], t_scratch[slot].p)) {
    free(t_scratch[slot].p);
    t_scratch[slot].p = NULL, t_scratch[slot].n = 0;
  }
  return t_scratch[slot].p;
}

/* n floats of slot 0. */
static float *strip_scratch(size_t n) { return thread_scratch(0, sizeof(float) * n); }

/* Item i of the backward: the i-th of nitems equal runs of 16-column strips of dX. Every dX
 * element sums over the weight rows in the same order whichever run holds its strip, so the
 * split (one long run per thread, which reads each weight row in long pieces) never changes
 * the bits. */
static void backward_item(void *ctx, int i, int worker) {
  const skinny_job *j = ctx;
  int jb0 = (int)((long)j->nj * i / j->nitems), jb1 = (int)((long)j->nj * (i + 1) / j->nitems);
  int j0 = jb0 * 16, j1 = jb1 * 16 < j->K ? jb1 * 16 : j->K;
  if (j1 <= j0) return;
  if (j->split) {
    uint16_t *pairs = j->Wt ? NULL : thread_scratch(0, (size_t)CD_SKINNY_AMX_NC * 2 * (size_t)(jb1 - jb0) * 16);
    if (!j->Wt && !pairs) {
      fprintf(stderr, "clipdebias: out of memory (bf16 weight pair tiles)\n");
      abort();
    }
    j->kt->skinny_backward_bf16_packed(j->out, j->split, j->Wh, j->Wt, j->M, j->K, j->N, j0, j1, pairs);
    return;
  }
  float *strip = strip_scratch((size_t)CD_SKINNY_PCHUNK_MAX * (jb1 - jb0) * 16);
  if (j->Wh && strip) j->kt->skinny_backward_bf16(j->out, j->dY, j->Wh, j->M, j->K, j->N, j0, j1, strip);
  else if (j->Wh) cd_skinny_backward_bf16_portable(j->out, j->dY, j->Wh, j->M, j->K, j->N, j0, j1, NULL);
  else if (strip) j->kt->skinny_backward(j->out, j->dY, j->W, j->M, j->K, j->N, j0, j1, strip);
  else cd_skinny_backward_portable(j->out, j->dY, j->W, j->M, j->K, j->N, j0, j1, NULL); /* needs no memory */
}

static void linear_backward(const cd_kernels *kt, float *dX, const float *dY, const float *W,
                            const uint16_t *Wh, const uint16_t *Wt, int M, int K, int N) {
  if (M <= 0 || N <= 0 || K <= 0) return;
  int nj = (K + 15) / 16;
  int nt = product_threads(M, K, N);
  uint16_t *split = Wh && kt->skinny_backward_bf16_packed ? split_rows(kt, dY, M, N, nt) : NULL;
  /* many rows (lockstep): a few runs per thread, so that a thread that starts late (the
   * machine shared) still takes its share instead of leaving the whole product to the other */
  int items = !split && M >= MANY && nt > 1 ? ITEMS_PER_THREAD * nt : nt;
  skinny_job j = {kt, dX, NULL, W, NULL, dY, Wh, split, 0, M, K, N, nj, items < nj ? items : nj, Wt, 0, {0}, 0};
  cd_pool_run(j.nitems, nt, backward_item, &j);
}

void cd_skinny_linear_backward(const cd_kernels *kt, float *dX, const float *dY, const float *W,
                               int M, int K, int N) {
  linear_backward(kt, dX, dY, W, NULL, NULL, M, K, N);
}

void cd_skinny_linear_backward_bf16(const cd_kernels *kt, float *dX, const float *dY, const uint16_t *W,
                                    int M, int K, int N) {
  linear_backward(kt, dX, dY, NULL, W, NULL, M, K, N);
}

void cd_skinny_linear_backward_bf16_tiled(const cd_kernels *kt, float *dX, const float *dY, const uint16_t *W,
                                          const uint16_t *Wt, int M, int K, int N) {
  linear_backward(kt, dX, dY, NULL, W, Wt, M, K, N);
}
