/* Image tower (upstream VisionTransformer):
 *   patches = conv1(pixels)            stride = kernel = P, no bias
 *   x = [class_emb; patches] + pos_emb
 *   x = ln_pre(x); blocks(x); f = ln_post(x[:, 0]) @ proj
 * Images are processed in chunks so activation memory stays bounded. */
#include <stdlib.h>
#include <string.h>

#include "models/clip/clip.h"
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

/* x [B, T, C] <- class token / patch embeddings + positional embeddings. */
static void embed_patches(const cd_vision *v, const float *pixels, int B, float *cols,
                          float *patch_out, float *x) {
  int C = v->tf.width, P = v->patch_size, G = v->grid, T = v->n_tokens, S = v->image_size;
  size_t img_floats = (size_t)3 * S * S, npatch = (size_t)G * G;
  for (int b = 0; b < B; b++) patchify(pixels + b * img_floats, S, P, G, cols + b * npatch * 3 * P * P);
  cd_matmul_forward(patch_out, cols, v->patch_w, NULL, (int)(B * npatch), 3 * P * P, C);
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

/* Chunk size: bounded activation memory (~256 MB of scratch) whatever the model size. */
static int vision_chunk(const cd_vision *v, int N) {
  size_t per_image = cd_block_scratch_floats(1, v->n_tokens, &v->tf) +
                     (size_t)v->n_tokens * v->tf.width * 3 + (size_t)3 * v->image_size * v->image_size;
  size_t budget = (size_t)64 << 20; /* floats */
  int chunk = (int)(budget / (per_image ? per_image : 1));
  if (chunk < 1) chunk = 1;
  if (chunk > 64) chunk = 64;
  return chunk < N ? chunk : N;
}

int cd_clip_encode_image(const cd_clip *m, const float *pixels, int N, float *features, cd_error *e) {
  const cd_vision *v = &m->vision;
  if (N <= 0) return 0;
  int C = v->tf.width, T = v->n_tokens, P = v->patch_size, E = m->embed_dim;
  int chunk = vision_chunk(v, N);
  size_t x_n = (size_t)chunk * T * C, cols_n = (size_t)chunk * (T - 1) * 3 * P * P;
  size_t patch_n = (size_t)chunk * (T - 1) * C, scratch_n = cd_block_scratch_floats(chunk, T, &v->tf);
  float *x = cd_malloc(sizeof(float) * (x_n + cols_n + patch_n + scratch_n + (size_t)chunk * 2 * C), e);
  if (!x) return -1;
  float *cols = x + x_n, *patch_out = cols + cols_n, *scratch = patch_out + patch_n;
  float *cls = scratch + scratch_n, *cls_ln = cls + (size_t)chunk * C;
  size_t img_floats = (size_t)3 * v->image_size * v->image_size;

  for (int start = 0; start < N; start += chunk) {
    int B = N - start < chunk ? N - start : chunk;
    embed_patches(v, pixels + (size_t)start * img_floats, B, cols, patch_out, x);
    cd_layernorm_forward(x, NULL, NULL, x, v->ln_pre_w, v->ln_pre_b, B * T, C, v->tf.eps);
    for (int l = 0; l < v->tf.layers; l++) cd_block_forward(&v->tf, &v->tf.blocks[l], x, B, T, 0, scratch);
    for (int b = 0; b < B; b++) memcpy(cls + (size_t)b * C, x + (size_t)b * T * C, sizeof(float) * C);
    cd_layernorm_forward(cls_ln, NULL, NULL, cls, v->ln_post_w, v->ln_post_b, B, C, v->tf.eps);
    cd_matmul_forward(features + (size_t)start * E, cls_ln, v->proj, NULL, B, C, E);
  }
  free(x);
  return 0;
}
