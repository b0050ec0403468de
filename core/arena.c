/* Bump allocator over one aligned block (see core/arena.h). */
#include "core/arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define ALIGN 64

static size_t round_up(size_t n) { return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1); }

void *cd_alloc_big(size_t n) {
  const size_t huge = (size_t)2 << 20;
  if (n < huge) return aligned_alloc(ALIGN, round_up(n ? n : 1));
  n = (n + huge - 1) / huge * huge;
  void *p = aligned_alloc(huge, n);
#ifdef MADV_HUGEPAGE
  if (p) madvise(p, n, MADV_HUGEPAGE); /* advisory: without THP these stay normal pages */
#endif
  return p;
}

int cd_arena_init(cd_arena *a, size_t bytes, cd_error *e) {
  memset(a, 0, sizeof *a);
  if (bytes == 0) return 0;
  bytes = round_up(bytes);
  a->base = cd_alloc_big(bytes);
  if (!a->base) return cd_fail(e, "scratch arena: out of memory (%zu MB)", bytes >> 20);
  a->cap = bytes;
  return 0;
}

void cd_arena_free(cd_arena *a) {
  free(a->base);
  memset(a, 0, sizeof *a);
}

void *cd_arena_alloc(cd_arena *a, size_t n) {
  if (!a) return NULL;
  n = round_up(n ? n : 1);
  if (n > a->cap - a->top) return NULL;
  void *p = a->base + a->top;
  a->top += n;
  if (a->top > a->peak) a->peak = a->top;
  return p;
}

size_t cd_arena_mark(const cd_arena *a) { return a ? a->top : 0; }

void cd_arena_reset(cd_arena *a, size_t mark) {
  if (a && mark <= a->top) a->top = mark;
}

void *cd_scratch_get(cd_scratch *s, cd_arena *a, size_t n) {
  s->heap = 0;
  s->arena = a;
  s->mark = cd_arena_mark(a);
  s->p = cd_arena_alloc(a, n);
  if (!s->p) {
    s->p = aligned_alloc(ALIGN, round_up(n ? n : 1));
    s->heap = 1;
  }
  return s->p;
}

void *cd_scratch_need(cd_scratch *s, cd_arena *a, size_t n) {
  void *p = cd_scratch_get(s, a, n);
  if (!p) {
    fprintf(stderr, "clipdebias: out of memory (scratch of %zu MB)\n", n >> 20);
    abort();
  }
  return p;
}

void cd_scratch_put(cd_scratch *s) {
  if (!s->p) return;
  if (s->heap) free(s->p);
  else cd_arena_reset(s->arena, s->mark);
  s->p = NULL;
  s->heap = 0;
}
