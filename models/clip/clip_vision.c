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

/* How the images of one call are shared among the threads. With at least one image per
 * thread, each thread encodes `per` images alone, on its own arena, with every op running
 * inline: no fork/join per op and no tile split across cores. That is measured 7-10% faster at
 * batch 32 of ViT-B/32 on 2 cores than splitting every op, about as fast as two processes. The
 * N - threads * per images left over (and a single image) are encoded with every op split
 * across the threads. Each image's features are the same bits either way: no op mixes
 * images, and no op's result for a row depends on how many rows it was given. */
typedef struct {
  int threads, per;       /* data parallel: `threads` shares of `per` images (per 0: none) */
  int chunk_par, chunk_rest; /* images per pass: within a share, and of the rest */
} image_plan;

enum { MAX_SHARES = 64 };

static image_plan plan_images(const cd_vision *v, int N) {
  image_plan p = {cd_threads_get(), 0, 0, 0};
  if (p.threads > MAX_SHARES) p.threads = MAX_SHARES;
  if (p.threads > 1) p.per = N / p.threads;
  if (p.per > 0) p.chunk_par = vision_chunk(v, p.per);
  int rest = N - p.threads * p.per;
  if (rest > 0) p.chunk_rest = vision_chunk(v, rest);
  return p;
}

/* The data-parallel part takes threads arenas side by side; the rest runs after it. */
static size_t plan_bytes(const cd_vision *v, image_plan p) {
  size_t par = p.per > 0 ? (size_t)p.threads * (arena_bytes(v, p.chunk_par) + 64) : 0;
  size_t rest = p.chunk_rest > 0 ? arena_bytes(v, p.chunk_rest) : 0;
  return par > rest ? par : rest;
}

size_t cd_clip_image_scratch_bytes(const cd_clip *m, int N) {
  return plan_bytes(&m->vision, plan_images(&m->vision, N > 0 ? N : 1));
}

/* Images [first, first + n) of pixels into the same rows of features, in passes of `chunk`
 * on ws (which has arena_bytes(v, chunk) free); the ops split across threads unless this runs
 * inside a pool item. */
static void encode_passes(const cd_clip *m, const float *pixels, float *features, int first, int n, int chunk,
                          cd_arena *ws) {
  const cd_vision *v = &m->vision;
  int C = v->tf.width, T = v->n_tokens, P = v->patch_size, E = m->embed_dim;
  size_t mark = cd_arena_mark(ws);
  float *x = cd_arena_alloc(ws, sizeof(float) * tower_floats(v, chunk));
  float *cols = x + (size_t)chunk * T * C, *patch_out = cols + (size_t)chunk * (T - 1) * 3 * P * P;
  float *cls = patch_out + (size_t)chunk * (T - 1) * C, *cls_ln = cls + (size_t)chunk * C;
  size_t img_floats = (size_t)3 * v->image_size * v->image_size;

  for (int start = first; start < first + n; start += chunk) {
    int B = first + n - start < chunk ? first + n - start : chunk;
    embed_patches(v, pixels + (size_t)start * img_floats, B, cols, patch_out, x, ws);
    cd_layernorm_forward(x, NULL, NULL, x, v->ln_pre_w, v->ln_pre_b, B * T, C, v->tf.eps);
    for (int l = 0; l < v->tf.layers; l++) cd_block_forward(&v->tf, &v->tf.blocks[l], x, B, T, 0, ws);
    for (int b = 0; b < B; b++) memcpy(cls + (size_t)b * C, x + (size_t)b * T * C, sizeof(float) * C);
    cd_layernorm_forward(cls_ln, NULL, NULL, cls, v->ln_post_w, v->ln_post_b, B, C, v->tf.eps);
    cd_linear_forward(features + (size_t)start * E, cls_ln, &v->proj, NULL, B, CD_ACT_NONE, NULL, ws);
  }
  cd_arena_reset(ws, mark);
}

typedef struct {
  const cd_clip *m;
  const float *pixels;
  float *features;
  image_plan p;
  cd_arena *arenas; /* one per share */
} share_job;

static void share_item(void *ctx, int t, int w) {
  const share_job *j = ctx;
  (void)w;
  encode_passes(j->m, j->pixels, j->features, t * j->p.per, j->p.per, j->p.chunk_par, &j->arenas[t]);
}

int cd_clip_encode_image_ws(const cd_clip *m, const float *pixels, int N, float *features, cd_arena *ws,
                            cd_error *e) {
  const cd_vision *v = &m->vision;
  if (!(m->towers & CD_TOWER_VISION)) return cd_fail(e, "%s: loaded without its image tower", m->path);
  if (N <= 0) return 0;
  image_plan p = plan_images(v, N);
  cd_arena own = {0};
  if (!ws || ws->cap - ws->top < plan_bytes(v, p)) {
    if (cd_arena_init(&own, plan_bytes(v, p), e)) return -1;
    ws = &own;
  }
  size_t mark = cd_arena_mark(ws);
  if (p.per > 0) {
    cd_arena arenas[MAX_SHARES];
    size_t bytes = arena_bytes(v, p.chunk_par);
    for (int t = 0; t < p.threads; t++) arenas[t] = (cd_arena){cd_arena_alloc(ws, bytes), bytes, 0, 0};
    share_job j = {m, pixels, features, p, arenas};
    cd_pool_run(p.threads, p.threads, share_item, &j);
    cd_arena_reset(ws, mark); /* the shares' arenas are free again for the rest */
  }
  int done = p.threads * p.per;
  if (done < N) encode_passes(m, pixels, features, done, N - done, p.chunk_rest, ws);
  cd_arena_reset(ws, mark);
  cd_arena_free(&own);
  return 0;
}

int cd_clip_encode_image(const cd_clip *m, const float *pixels, int N, float *features, cd_error *e) {
  return cd_clip_encode_image_ws(m, pixels, N, features, NULL, e);
}
