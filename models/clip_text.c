/* Text tower (upstream CLIP.encode_text):
 *   x = tok_emb[tokens] + pos_emb; blocks(x) with a causal mask;
 *   f = ln_final(x[eot]) @ text_projection,  eot = first position of the largest id.
 * Under the causal mask nothing after EOT can reach the EOT feature, so each text runs only
 * its first eot+1 positions: a 10-token prompt costs 11 positions, not 77. */
#include <stdlib.h>
#include <string.h>

#include "models/clip.h"
#include "ops/ops.h"

static int check_tokens(const cd_text *t, const int32_t *tok, int n, cd_error *e) {
  for (int i = 0; i < t->context; i++)
    if (tok[i] < 0 || tok[i] >= t->vocab_size)
      return cd_fail(e, "text %d: token id %d at position %d is outside the vocabulary (0..%d)", n,
                     tok[i], i, t->vocab_size - 1);
  return 0;
}

int cd_clip_encode_text(const cd_clip *m, const int32_t *tokens, int N, float *features, cd_error *e) {
  const cd_text *t = &m->text;
  int C = t->tf.width, L = t->context, E = m->embed_dim;
  for (int n = 0; n < N; n++)
    if (check_tokens(t, tokens + (size_t)n * L, n, e)) return -1;
  size_t scratch_n = cd_block_scratch_floats(1, L, &t->tf);
  float *x = cd_malloc(sizeof(float) * ((size_t)L * C + scratch_n + 2 * (size_t)C), e);
  if (!x) return -1;
  float *scratch = x + (size_t)L * C, *ln = scratch + scratch_n;

  for (int n = 0; n < N; n++) {
    const int32_t *tok = tokens + (size_t)n * L;
    int T = cd_text_eot_index(tok, L) + 1;
    for (int p = 0; p < T; p++) {
      const float *te = t->tok_emb + (size_t)tok[p] * C, *pe = t->pos_emb + (size_t)p * C;
      for (int c = 0; c < C; c++) x[(size_t)p * C + c] = te[c] + pe[c];
    }
    for (int l = 0; l < t->tf.layers; l++) cd_block_forward(&t->tf, &t->tf.blocks[l], x, 1, T, 1, scratch);
    cd_layernorm_forward(ln, NULL, NULL, x + (size_t)(T - 1) * C, t->ln_final_w, t->ln_final_b, 1, C, t->tf.eps);
    cd_matmul_forward(features + (size_t)n * E, ln, t->proj, NULL, 1, C, E);
  }
  free(x);
  return 0;
}
