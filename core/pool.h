/* The library's one parallel loop: fork-join over numbered items where the calling thread
 * works too and a run is over as soon as every item is done. Every parallel loop of core,
 * ops, data and models is a cd_pool_run: forward and backward kernels, image decoding,
 * hashing, rendering. The idiom: put the loop's shared inputs in a job struct, make the
 * loop body an item function of (job, item, worker), and define items by the data (rows,
 * chunks of a fixed size, files) so that what an item computes never depends on the thread
 * count.
 *
 * Why not an OpenMP parallel loop: its closing barrier waits for every thread of the team,
 * including one the OS has not scheduled yet, so on a machine with more runnable threads
 * than cores (a shared server, a CI runner) each parallel region can cost a time slice and a
 * forward pass of a few hundred regions slows down tenfold. Here a worker that wakes late
 * finds the items taken and simply goes back to sleep; only an item it actually took is waited
 * for. Idle workers spin briefly (the next run usually follows within microseconds), then
 * sleep.
 *
 * Which thread runs an item never changes what the item computes, so results do not depend
 * on the thread count as long as items are defined by the data, not by the threads. The pool
 * is process-wide and sized by cd_threads_get (core/cpu.h: --threads, OMP_NUM_THREADS, or
 * the processors available). */
#ifndef CD_POOL_H
#define CD_POOL_H

#include <stddef.h>

#include "core/error.h"

/* The most participants a run can have; more threads would be silently capped. */
enum { CD_POOL_MAX_THREADS = 256 };

/* A thread count a user asked for (--threads): fails with the bound and its reason outside
 * [1, CD_POOL_MAX_THREADS]. */
int cd_threads_check(int n, cd_error *e);

/* fn(ctx, item, worker): worker in [0, threads) indexes per-thread scratch. */
typedef void (*cd_pool_fn)(void *ctx, int item, int worker);

/* Runs fn on items [0, n) with up to `threads` participants (<= 0: cd_threads_get()); the
 * calling thread is participant 0. Runs inline (one participant) when called from inside a
 * pool item or when threads or n is 1. */
void cd_pool_run(int n, int threads, cd_pool_fn fn, void *ctx);

/* The same loop over a range [0, n) cut into pieces of `grain` (the last one shorter): each
 * piece is one item, fn(ctx, begin, end, worker). For loops over rows, columns or elements. */
typedef void (*cd_range_fn)(void *ctx, size_t begin, size_t end, int worker);
void cd_pool_range(size_t n, size_t grain, int threads, cd_range_fn fn, void *ctx);

/* 1 while the calling thread runs a pool item (a nested cd_pool_run would run inline): lets a
 * kernel size its per-thread scratch for one thread. */
int cd_pool_in_item(void);

#endif
