/* Image tower (upstream VisionTransformer):
 *   patches = conv1(pixels)            stride = kernel = P, no bias
 *   x = [class_emb; patches] + pos_emb
 *   x = ln_pre(x); blocks(x); f = ln_post(x[:, 0]) @ proj
 * Images are processed in chunks so activation memory stays bounded; every buffer comes from
 * one arena (the caller's, or one made per call). */
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "models/clip/clip.h"
#include "ops/gemm/linear.h"
#include "ops/ops.h"

/* im2col for one image: out [grid*grid, 3*P*P], each row in conv weight order (c, ky, kx). */
static void patchify(const float *img, int S, int P, int grid, float *out) {
  size_t row_len = (size_t)3 * P * P;
  for (int gy = 0; gy < grid; gy++)
    for (int gx = 0; gx < grid; gx++) {
      float *dst = out + ((size_t)gy * grid + gx) * row_len;
      for (int c = 0; c < 3; c++)
        for (int ky = 0; ky < P; ky++) {
          const float *src = img + ((size_t)c * S + (size_t)gy * P + ky) * S + (size_t)gx * P;
          memcpy(dst, src, sizeof(float) * (size_t)P);
          dst += P;
        }
    }
}

typedef struct {
  const float *pixels;
  float *cols;
  int S, P, G;
  size_t img_floats, cols_per_image;
} patch_job;

static void patchify_item(void *ctx, int b, int w) {
  const patch_job *j = ctx;
  (void)w;
  patchify(j->pixels + (size_t)b * j->img_floats, j->S, j->P, j->G, j->cols + (size_t)b * j->cols_per_image);
}

/* x [B, T, C] <- class token / patch embeddings + positional embeddings. */
static void embed_patches(const cd_vision *v, const float *pixels, int B, float *cols,
                          float *patch_out, float *x, cd_arena *ws) {
  int C = v->tf.width, P = v->patch_size, G = v->grid, T = v->n_tokens, S = v->image_size;
  size_t img_floats = (size_t)3 * S * S, npatch = (size_t)G * G;
  patch_job pj = {pixels, cols, S, P, G, img_floats, npatch * 3 * P * P};
  cd_pool_run(B, 0, patchify_item, &pj); /* the kernels' pool: no second thread team spinning */
  cd_linear_forward(patch_out, cols, &v->patch_w, NULL, (int)(B * npatch), CD_ACT_NONE, NULL, ws);
  for (int b = 0; b < B; b++) {
    float *xb = x + (size_t)b * T * C;
    for (int c = 0; c < C; c++) xb[c] = v->class_emb[c] + v->pos_emb[c];
    for (size_t p = 0; p < npatch; p++) {
      const float *src = patch_out + ((size_t)b * npatch + p) * C;
      const float *pos = v->pos_emb + (p + 1) * C;
      float *dst = xb + (p + 1) * C;
      for (int c = 0; c < C; c++) dst[c] = src[c] + pos[c];
    }
  }
}

/* Floats of the tower's own buffers for B images: x, im2col columns, patch embeddings, class
 * rows before and after ln_post. */
static size_t tower_floats(const cd_vision *v, int B) {
  size_t T = (size_t)v->n_tokens, C = (size_t)v->tf.width, P = (size_t)v->patch_size;
  return (size_t)B * (T * C + (T - 1) * 3 * P * P + (T - 1) * C + 2 * C) + 64;
}

/* Arena bytes for chunks of B images: the tower's buffers, then the largest of what a block
 * and the patch / projection GEMMs take on top. */
static size_t arena_bytes(const cd_vision *v, int B) {
  size_t T = (size_t)v->n_tokens, P = (size_t)v->patch_size, rest = cd_block_scratch_bytes(B, (int)T, &v->tf);
  if (v->patch_w.kernel) {
    size_t g = cd_gemm_weight_scratch(v->patch_w.kernel, B * (int)(T - 1), (int)(3 * P * P));
    rest = g > rest ? g : rest;
  }
  return sizeof(float) * tower_floats(v, B) + rest;
}

/* Images per forward pass: about CHUNK_ROWS token rows (8 images of ViT-B/32, 2 of B/16, 1
 * of L/14), so the activations of a pass stay in the caches while every weight panel is
 * still reused by hundreds of rows; bounded by ~256 MB of scratch whatever the model. */
#define CHUNK_ROWS 400
static int vision_chunk(const cd_vision *v, int N) {
  size_t per_image = arena_bytes(v, 1), budget = (size_t)256 << 20;
  int chunk = CHUNK_ROWS / v->n_tokens, cap = (int)(budget / (per_image ? per_image : 1));
  if (chunk > cap) chunk = cap;
  if (chunk < 1) chunk = 1;
  return chunk < N ? chunk : N;
}

size_t cd_clip_image_scratch_bytes(const cd_clip *m, int N) {
  return arena_bytes(&m->vision, vision_chunk(&m->vision, N > 0 ? N : 1));
}

int cd_clip_encode_image_ws(const cd_clip *m, const float *pixels, int N, float *features, cd_arena *ws,
                            cd_error *e) {
  const cd_vision *v = &m->vision;
  if (!(m->towers & CD_TOWER_VISION)) return cd_fail(e, "%s: loaded without its image tower", m->path);
  if (N <= 0) return 0;
  int C = v->tf.width, T = v->n_tokens, P = v->patch_size, E = m->embed_dim;
  int chunk = vision_chunk(v, N);
  cd_arena own = {0};
  if (!ws || ws->cap - ws->top < arena_bytes(v, chunk)) {
    if (cd_arena_init(&own, arena_bytes(v, chunk), e)) return -1;
    ws = &own;
  }
  size_t mark = cd_arena_mark(ws);
  float *x = cd_arena_alloc(ws, sizeof(float) * tower_floats(v, chunk));
  float *cols = x + (size_t)chunk * T * C, *patch_out = cols + (size_t)chunk * (T - 1) * 3 * P * P;
  float *cls = patch_out + (size_t)chunk * (T - 1) * C, *cls_ln = cls + (size_t)chunk * C;
  size_t img_floats = (size_t)3 * v->image_size * v->image_size;

  for (int start = 0; start < N; start += chunk) {
    int B = N - start < chunk ? N - start : chunk;
    embed_patches(v, pixels + (size_t)start * img_floats, B, cols, patch_out, x, ws);
    cd_layernorm_forward(x, NULL, NULL, x, v->ln_pre_w, v->ln_pre_b, B * T, C, v->tf.eps);
    for (int l = 0; l < v->tf.layers; l++) cd_block_forward(&v->tf, &v->tf.blocks[l], x, B, T, 0, ws);
    for (int b = 0; b < B; b++) memcpy(cls + (size_t)b * C, x + (size_t)b * T * C, sizeof(float) * C);
    cd_layernorm_forward(cls_ln, NULL, NULL, cls, v->ln_post_w, v->ln_post_b, B, C, v->tf.eps);
    cd_linear_forward(features + (size_t)start * E, cls_ln, &v->proj, NULL, B, CD_ACT_NONE, NULL, ws);
  }
  cd_arena_reset(ws, mark);
  cd_arena_free(&own);
  return 0;
}

int cd_clip_encode_image(const cd_clip *m, const float *pixels, int N, float *features, cd_error *e) {
  return cd_clip_encode_image_ws(m, pixels, N, features, NULL, e);
}
