#include "tests/tiny_clip.h"

#include <stdlib.h>
#include <string.h>

#include "tests/testutil.h"

/* Next n floats of the arena: scale * U(-1, 1) + offset. */
static float *take(float **p, size_t n, uint64_t seed, float scale, float offset) {
  float *r = *p;
  cd_test_fill(r, n, seed, scale);
  for (size_t i = 0; i < n; i++) r[i] += offset;
  *p += n;
  return r;
}

/* A plain float32 Linear weight [rows, cols] over the next floats of the arena. */
static cd_weight take_weight(float **p, int rows, int cols, uint64_t seed, float scale) {
  return (cd_weight){rows, cols, CD_F32, take(p, (size_t)rows * cols, seed, scale, 0), NULL, NULL, 0, NULL, NULL};
}

static void fill_block(cd_block *b, float **p, int W, int F, uint64_t s) {
  b->ln_1_w = take(p, W, s + 1, 0.3f, 1);
  b->ln_1_b = take(p, W, s + 2, 0.2f, 0);
  b->qkv_w = take_weight(p, 3 * W, W, s + 3, 0.6f);
  b->qkv_b = take(p, (size_t)3 * W, s + 4, 0.2f, 0);
  b->out_w = take_weight(p, W, W, s + 5, 0.3f);
  b->out_b = take(p, W, s + 6, 0.2f, 0);
  b->ln_2_w = take(p, W, s + 7, 0.3f, 1);
  b->ln_2_b = take(p, W, s + 8, 0.2f, 0);
  b->fc_w = take_weight(p, F, W, s + 9, 0.3f);
  b->fc_b = take(p, F, s + 10, 0.2f, 0);
  b->proj_w = take_weight(p, W, F, s + 11, 0.15f);
  b->proj_b = take(p, W, s + 12, 0.2f, 0);
}

int cd_tiny_clip_build(cd_tiny_clip *t, const cd_tiny_dims *d, uint64_t seed) {
  memset(t, 0, sizeof *t);
  if (d->layers > CD_TINY_MAX_LAYERS) return -1;
  size_t W = (size_t)d->width, F = (size_t)d->mlp;
  size_t per = 4 * W + 3 * W * W + 3 * W + W * W + W + F * W + F + W * F + W;
  size_t n = (size_t)d->vocab * W + (size_t)d->context * W + 2 * W + (size_t)d->embed * W + (size_t)d->layers * per;
  if (!(t->buf = malloc(sizeof(float) * n))) return -1;
  float *p = t->buf;
  cd_text *tx = &t->m.text;
  tx->vocab_size = d->vocab;
  tx->context = d->context;
  tx->tok_emb = take(&p, (size_t)d->vocab * W, seed + 1, 0.5f, 0);
  tx->pos_emb = take(&p, (size_t)d->context * W, seed + 2, 0.3f, 0);
  tx->ln_final_w = take(&p, W, seed + 3, 0.3f, 1);
  tx->ln_final_b = take(&p, W, seed + 4, 0.2f, 0);
  tx->proj = take_weight(&p, d->embed, d->width, seed + 5, 0.4f);
  tx->tf = (cd_transformer){d->width, d->layers, d->heads, d->mlp, d->act, 1e-5f, t->blocks};
  for (int l = 0; l < d->layers; l++) fill_block(&t->blocks[l], &p, d->width, d->mlp, seed + 100 * (uint64_t)(l + 1));
  t->m.embed_dim = d->embed;
  t->m.towers = CD_TOWER_TEXT;
  return 0;
}

void cd_tiny_clip_free(cd_tiny_clip *t) {
  free(t->buf);
  t->buf = NULL;
}
