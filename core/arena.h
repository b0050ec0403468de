/* A scratch arena: one block of memory allocated up front and handed out by bumping a
 * pointer, so a forward pass allocates nothing op by op (no page faults, no allocator
 * contention between threads). Allocation is not thread-safe: drivers take their scratch
 * before entering a parallel region. Freed memory is reclaimed by resetting to a mark. */
#ifndef CD_ARENA_H
#define CD_ARENA_H

#include <stddef.h>

#include "core/error.h"

typedef struct {
  unsigned char *base;
  size_t cap, top, peak; /* bytes; peak = the most ever in use (to size the next arena) */
} cd_arena;

/* Big long-lived blocks (packed weights, arenas): aligned to 2 MB and marked for transparent
 * huge pages when at least that large, so they take 512x fewer page faults to fill and
 * fewer TLB misses to stream. Free with free(). NULL when out of memory. */
void *cd_alloc_big(size_t n);

/* Reserves bytes (0 allowed: an empty arena that every allocation overflows). */
int cd_arena_init(cd_arena *a, size_t bytes, cd_error *e);
void cd_arena_free(cd_arena *a);
/* 64-byte aligned block of n bytes, or NULL when a is NULL or has no room. */
void *cd_arena_alloc(cd_arena *a, size_t n);
size_t cd_arena_mark(const cd_arena *a);
void cd_arena_reset(cd_arena *a, size_t mark);

/* Scratch that comes from the arena when it fits and from the heap otherwise: callers that
 * cannot know whether their caller gave them an arena (or a big enough one) stay correct. */
typedef struct {
  void *p;
  int heap;
  cd_arena *arena;
  size_t mark;
} cd_scratch;
/* 64-byte aligned n bytes (NULL only when the heap is exhausted too). */
void *cd_scratch_get(cd_scratch *s, cd_arena *a, size_t n);
/* The same for callers with no way to report failure (a forward pass whose arena was sized
 * up front): when even the heap has no room, prints what was asked and aborts. */
void *cd_scratch_need(cd_scratch *s, cd_arena *a, size_t n);
/* Gives the block back (to the heap, or by resetting the arena to where it was). */
void cd_scratch_put(cd_scratch *s);

#endif
