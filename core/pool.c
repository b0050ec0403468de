/* The kernels' thread pool (see core/pool.h).
 *
 * One job slot: the job's items are claimed by compare-and-swap on a word holding the job's
 * generation and the next item, so a worker that wakes after its job is over (or reads the
 * slot while the next job is being written) can never claim anything it should not: its CAS
 * carries a stale generation and fails. The caller waits only for the items to be done, never
 * for the workers to check in. Runs from different user threads are serialised. */
#include "core/pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include "core/cpu.h"
#include "core/progress.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ volatile("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

enum { MAX_THREADS = CD_POOL_MAX_THREADS };
/* How long an idle worker polls for the next run before it sleeps: the runs of a forward pass
 * follow each other within microseconds, and waking a sleeper costs tens of microseconds (more
 * under virtualisation), which at batch 1 is a good part of a run. A millisecond of polling
 * covers a forward; between batches (decoding, writing) the workers sleep. */
#define SPIN_SECONDS 1e-3

static struct {
  /* the job (atomics only so that a late worker's stale read is well defined) */
  _Atomic(cd_pool_fn) fn;
  _Atomic(void *) ctx;
  _Atomic int n, threads;
  _Atomic uint64_t claim; /* generation << 32 | next item */
  _Atomic int done;
  _Atomic uint32_t gen;
  /* sleeping */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  _Atomic int sleepers;
  /* workers started, and one run at a time */
  int workers;
  pthread_mutex_t run_mu;
} P = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .run_mu = PTHREAD_MUTEX_INITIALIZER};

static _Thread_local int t_in_pool; /* nested runs go inline */

/* Claims and runs items of generation g until none are left. */
static void work(uint32_t g, int w) {
  for (;;) {
    uint64_t c = atomic_load(&P.claim);
    if ((uint32_t)(c >> 32) != g || (int)(uint32_t)c >= P.n) return;
    if (!atomic_compare_exchange_weak(&P.claim, &c, c + 1)) continue;
    /* claimed: the job cannot finish (nor its slot be rewritten) before this item is done */
    cd_pool_fn fn = atomic_load(&P.fn);
    fn(atomic_load(&P.ctx), (int)(uint32_t)c, w);
    atomic_fetch_add(&P.done, 1);
  }
}

static uint32_t wait_for_new_gen(uint32_t seen) {
  double until = cd_time_now() + SPIN_SECONDS;
  for (int s = 1;; s++) {
    uint32_t g = atomic_load(&P.gen);
    if (g != seen) return g;
    CPU_RELAX();
    if (s % 64 == 0 && cd_time_now() > until) break;
  }
  pthread_mutex_lock(&P.mu);
  atomic_fetch_add(&P.sleepers, 1);
  while (atomic_load(&P.gen) == seen) pthread_cond_wait(&P.cv, &P.mu);
  atomic_fetch_sub(&P.sleepers, 1);
  pthread_mutex_unlock(&P.mu);
  return atomic_load(&P.gen);
}

static void *worker_main(void *arg) {
  int w = (int)(intptr_t)arg;
  t_in_pool = 1;
  uint32_t seen = atomic_load(&P.gen);
  for (;;) {
    seen = wait_for_new_gen(seen);
    if (w < P.threads) work(seen, w); /* a stale read of threads only skips or fails a claim */
  }
  return NULL;
}

/* A forked child has only the thread that called fork(): it starts its own workers when it
 * first needs them, with fresh locks (one may have been held by a worker at the fork). */
static void after_fork_in_child(void) {
  P.workers = 0;
  atomic_store(&P.sleepers, 0);
  pthread_mutex_init(&P.mu, NULL);
  pthread_cond_init(&P.cv, NULL);
  pthread_mutex_init(&P.run_mu, NULL);
  t_in_pool = 0;
}

static void register_fork_handler(void) { pthread_atfork(NULL, NULL, after_fork_in_child); }

/* Starts workers 1..need-1 that do not exist yet (run_mu held). */
static void grow(int need) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, register_fork_handler);
  while (P.workers + 1 < need && P.workers + 1 < MAX_THREADS) {
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    int ok = pthread_create(&t, &a, worker_main, (void *)(intptr_t)(P.workers + 1)) == 0;
    pthread_attr_destroy(&a);
    if (!ok) break; /* fewer threads than asked: the caller does the rest */
    P.workers++;
  }
}

int cd_threads_check(int n, cd_error *e) {
  if (n < 1) return cd_fail(e, "--threads %d: at least 1 thread", n);
  if (n > MAX_THREADS)
    return cd_fail(e, "--threads %d: at most %d; the kernels' thread pool runs at most %d threads, so more would "
                   "be silently capped (this machine has %ld CPUs online)", n, MAX_THREADS, MAX_THREADS,
                   sysconf(_SC_NPROCESSORS_ONLN));
  return 0;
}

void cd_pool_run(int n, int threads, cd_pool_fn fn, void *ctx) {
  if (n <= 0) return;
  if (threads <= 0) threads = cd_threads_get();
  if (threads > n) threads = n;
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  if (threads <= 1 || t_in_pool) {
    for (int i = 0; i < n; i++) fn(ctx, i, 0);
    return;
  }
  pthread_mutex_lock(&P.run_mu);
  grow(threads);
  uint32_t g = atomic_load(&P.gen) + 1;
  /* The claim word first: a worker still in the last job may read the new n below with that
   * job's claim word in hand (its last item taken), and its claim would then pass the bound
   * and run an item of the new job a second time (with the new fn). Once the word carries the
   * new generation, such a claim fails; nobody claims in generation g before it is published. */
  atomic_store(&P.claim, (uint64_t)g << 32);
  atomic_store(&P.fn, fn);
  atomic_store(&P.ctx, ctx);
  atomic_store(&P.n, n);
  atomic_store(&P.threads, threads);
  atomic_store(&P.done, 0);
  atomic_store(&P.gen, g); /* publishes the job (sequentially consistent) */
  if (atomic_load(&P.sleepers) > 0) {
    pthread_mutex_lock(&P.mu);
    pthread_cond_broadcast(&P.cv);
    pthread_mutex_unlock(&P.mu);
  }
  t_in_pool = 1;
  work(g, 0);
  t_in_pool = 0;
  /* Items still running on workers: wait for them (yielding, in case one shares our core). */
  double until = cd_time_now() + SPIN_SECONDS;
  for (int s = 1; atomic_load(&P.done) < n; s++) {
    if (s % 64 || cd_time_now() < until) CPU_RELAX();
    else sched_yield();
  }
  pthread_mutex_unlock(&P.run_mu);
}

int cd_pool_in_item(void) { return t_in_pool; }

typedef struct {
  cd_range_fn fn;
  void *ctx;
  size_t n, grain;
} range_job;

static void range_item(void *ctx, int item, int worker) {
  const range_job *r = ctx;
  size_t begin = (size_t)item * r->grain, end = r->n - begin < r->grain ? r->n : begin + r->grain;
  r->fn(r->ctx, begin, end, worker);
}

void cd_pool_range(size_t n, size_t grain, int threads, cd_range_fn fn, void *ctx) {
  if (grain < 1) grain = 1;
  range_job r = {fn, ctx, n, grain};
  cd_pool_run((int)((n + grain - 1) / grain), threads, range_item, &r);
}
