/* Packing of typed weights (see ops/gemm/weight.h). */
#include "ops/gemm/weight.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/pool.h"
#include "ops/dispatch.h"

static size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

static size_t panel_bytes(int cols, const cd_gemm_kernel *k) {
  return round_up((size_t)cols, (size_t)k->kstep) * (size_t)k->nr * k->b_bytes;
}

size_t cd_weight_packed_bytes(int rows, int cols, const cd_gemm_kernel *k) {
  size_t np = ((size_t)rows + (size_t)k->nr - 1) / (size_t)k->nr;
  return np * panel_bytes(cols, k);
}

typedef struct {
  const cd_weight *w;
  const cd_gemm_kernel *k;
  unsigned char *dst;
  size_t pb, esz;
} pack_job;

static void pack_panel(void *ctx, int jp, int worker) {
  const pack_job *j = ctx;
  const cd_weight *w = j->w;
  int j0 = jp * j->k->nr, nr = w->rows - j0 < j->k->nr ? w->rows - j0 : j->k->nr;
  (void)worker;
  j->k->pack_b((const unsigned char *)w->data + (size_t)j0 * w->cols * j->esz, w->dtype, (size_t)w->cols, nr,
               w->cols, j->dst + (size_t)jp * j->pb);
}

int cd_weight_pack(cd_weight *w, const cd_gemm_kernel *k, cd_error *e) {
  if (!w->data) return cd_fail(e, "weight [%d, %d]: no source data to pack", w->rows, w->cols);
  size_t bytes = cd_weight_packed_bytes(w->rows, w->cols, k);
  unsigned char *dst = cd_alloc_big(bytes);
  if (!dst) return cd_fail(e, "weight [%d, %d]: out of memory packing %zu MB", w->rows, w->cols, bytes >> 20);
  pack_job j = {w, k, dst, panel_bytes(w->cols, k), cd_dtype_size(w->dtype)};
  int np = (w->rows + k->nr - 1) / k->nr;
  cd_pool_run(np, (size_t)w->rows * w->cols > 65536 ? 0 : 1, pack_panel, &j);
  free(w->packed);
  w->packed = dst;
  w->packed_bytes = bytes;
  w->kernel = k;
  return 0;
}

void cd_weight_forget_source(cd_weight *w) { w->data = NULL; }

const float *cd_weight_f32(const cd_weight *w) {
  return w->data && w->dtype == CD_F32 ? w->data : NULL;
}

const uint16_t *cd_weight_bf16(const cd_weight *w) {
  return w->data && w->dtype == CD_BF16 && (uintptr_t)w->data % sizeof(uint16_t) == 0 ? w->data : NULL;
}

int cd_weight_tile_bf16(cd_weight *w, const cd_kernels *kt, cd_error *e) {
  const uint16_t *W = cd_weight_bf16(w);
  if (!W || !kt->skinny_tile_weight_bf16) return 0;
  size_t bytes = kt->skinny_tile_weight_bytes(w->cols, w->rows);
  uint16_t *t = cd_alloc_big(bytes);
  if (!t) return cd_fail(e, "weight [%d, %d]: out of memory for its %zu MB of bf16 tiles", w->rows, w->cols, bytes >> 20);
  kt->skinny_tile_weight_bf16(t, W, w->cols, w->rows);
  free(w->tiles);
  w->tiles = t;
  return 0;
}

/* Band b of the transpose: its rows [32 b, 32 b + 32) (the source's columns), 32 x 32 tiles
 * at a time so that both sides of a tile stay in L1. */
typedef struct {
  const unsigned char *src;
  unsigned char *dst;
  int rows, cols;
  size_t esz;
} transpose_job;

enum { TR_TILE = 32 };

static void transpose_band(void *ctx, int band, int worker) {
  const transpose_job *j = ctx;
  (void)worker;
  int c0 = band * TR_TILE, c1 = c0 + TR_TILE < j->cols ? c0 + TR_TILE : j->cols;
  for (int r0 = 0; r0 < j->rows; r0 += TR_TILE) {
    int r1 = r0 + TR_TILE < j->rows ? r0 + TR_TILE : j->rows;
    for (int c = c0; c < c1; c++)
      for (int r = r0; r < r1; r++) {
        size_t to = (size_t)c * j->rows + r, from = (size_t)r * j->cols + c;
        if (j->esz == 4) ((uint32_t *)j->dst)[to] = ((const uint32_t *)j->src)[from];
        else ((uint16_t *)j->dst)[to] = ((const uint16_t *)j->src)[from];
      }
  }
}

int cd_weight_transpose_rows(cd_weight *w, cd_error *e) {
  const void *W = cd_weight_f32(w) ? (const void *)cd_weight_f32(w) : (const void *)cd_weight_bf16(w);
  if (!W || w->tiles) return 0;
  size_t esz = cd_dtype_size(w->dtype), bytes = esz * (size_t)w->rows * w->cols;
  unsigned char *t = cd_alloc_big(bytes);
  if (!t)
    return cd_fail(e, "weight [%d, %d]: out of memory for its %zu MB of transposed rows", w->rows, w->cols, bytes >> 20);
  transpose_job j = {W, t, w->rows, w->cols, esz};
  cd_pool_run((w->cols + TR_TILE - 1) / TR_TILE, (size_t)w->rows * w->cols > 65536 ? 0 : 1, transpose_band, &j);
  free(w->rows_t);
  w->rows_t = t;
  return 0;
}

void cd_weight_free(cd_weight *w) {
  free(w->rows_t);
  free(w->tiles);
  free(w->packed);
  memset(w, 0, sizeof *w);
}
