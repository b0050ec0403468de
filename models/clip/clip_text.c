/* Text tower (upstream CLIP.encode_text):
 *   x = tok_emb[tokens] + pos_emb; blocks(x) with a causal mask;
 *   f = ln_final(x[eot]) @ text_projection,  eot = first position of the largest id.
 * Under the causal mask nothing after EOT can reach the EOT feature, so each text runs only
 * its first eot+1 positions: a 10-token prompt costs 11 positions, not 77. Texts of equal
 * length are batched so the GEMMs see many rows at once. */
#include <stdlib.h>
#include <string.h>

#include "models/clip/clip.h"
#include "ops/gemm/linear.h"
#include "ops/ops.h"

#define TEXT_BATCH 64

static int check_tokens(const cd_text *t, const int32_t *tok, int n, cd_error *e) {
  for (int i = 0; i < t->context; i++)
    if (tok[i] < 0 || tok[i] >= t->vocab_size)
      return cd_fail(e, "text %d: token id %d at position %d is outside the vocabulary (0..%d)", n,
                     tok[i], i, t->vocab_size - 1);
  return 0;
}

/* Encodes B texts that all have length T (EOT at T-1) into features rows idx[0..B). */
static void encode_group(const cd_clip *m, const int32_t *tokens, const int *idx, int B, int T,
                         float *x, cd_arena *ws, float *eot_rows, float *feat_rows, float *features) {
  const cd_text *t = &m->text;
  int C = t->tf.width, L = t->context, E = m->embed_dim;
  for (int b = 0; b < B; b++) {
    const int32_t *tok = tokens + (size_t)idx[b] * L;
    for (int p = 0; p < T; p++) {
      const float *te = t->tok_emb + (size_t)tok[p] * C, *pe = t->pos_emb + (size_t)p * C;
      float *xr = x + ((size_t)b * T + p) * C;
      for (int c = 0; c < C; c++) xr[c] = te[c] + pe[c];
    }
  }
  for (int l = 0; l < t->tf.layers; l++) cd_block_forward(&t->tf, &t->tf.blocks[l], x, B, T, 1, ws);
  for (int b = 0; b < B; b++)
    memcpy(eot_rows + (size_t)b * C, x + ((size_t)b * T + T - 1) * C, sizeof(float) * C);
  cd_layernorm_forward(eot_rows, NULL, NULL, eot_rows, t->ln_final_w, t->ln_final_b, B, C, t->tf.eps);
  cd_linear_forward(feat_rows, eot_rows, &t->proj, NULL, B, CD_ACT_NONE, NULL, ws);
  for (int b = 0; b < B; b++) memcpy(features + (size_t)idx[b] * E, feat_rows + (size_t)b * E, sizeof(float) * E);
}

int cd_clip_encode_text(const cd_clip *m, const int32_t *tokens, int N, float *features, cd_error *e) {
  const cd_text *t = &m->text;
  int C = t->tf.width, L = t->context, E = m->embed_dim;
  if (!(m->towers & CD_TOWER_TEXT)) return cd_fail(e, "%s: loaded without its text tower", m->path);
  if (N <= 0) return 0;
  for (int n = 0; n < N; n++)
    if (check_tokens(t, tokens + (size_t)n * L, n, e)) return -1;
  int *len = cd_malloc(sizeof(int) * (size_t)N * 2, e);
  if (!len) return -1;
  int *idx = len + N;
  int B = N < TEXT_BATCH ? N : TEXT_BATCH;
  cd_arena ws;
  if (cd_arena_init(&ws, cd_block_scratch_bytes(B, L, &t->tf) + 4096, e)) return free(len), -1;
  float *x = cd_malloc(sizeof(float) * ((size_t)B * L * C + (size_t)B * (C + E)), e);
  if (!x) return free(len), cd_arena_free(&ws), -1;
  float *eot_rows = x + (size_t)B * L * C, *feat_rows = eot_rows + (size_t)B * C;

  for (int n = 0; n < N; n++) len[n] = cd_text_eot_index(tokens + (size_t)n * L, L) + 1;
  /* Group by length: one pass per distinct length (at most L passes). */
  for (int T = 1; T <= L; T++) {
    int count = 0;
    for (int n = 0; n < N; n++) {
      if (len[n] != T) continue;
      idx[count++] = n;
      if (count == B) {
        encode_group(m, tokens, idx, count, T, x, &ws, eot_rows, feat_rows, features);
        count = 0;
      }
    }
    if (count) encode_group(m, tokens, idx, count, T, x, &ws, eot_rows, feat_rows, features);
  }
  free(x);
  free(len);
  cd_arena_free(&ws);
  return 0;
}
