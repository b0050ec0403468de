/* The pre-LN residual attention block shared by both towers (upstream ResidualAttentionBlock):
 *   x = x + out_proj(attn(ln_1(x)))
 *   x = x + c_proj(act(c_fc(ln_2(x))))
 * plus small helpers used by both towers. */
#include <math.h>
#include <string.h>

#include "models/clip/clip.h"
#include "ops/ops.h"

/* Scratch layout for B sequences of T tokens: ln [BT,C] qkv [BT,3C] att_out [BT,C]
 * proj [BT,C] hidden [BT,F] probs [B,NH,T,T]. */
size_t cd_block_scratch_floats(int B, int T, const cd_transformer *tf) {
  size_t BT = (size_t)B * T, C = (size_t)tf->width, F = (size_t)tf->mlp_dim;
  return BT * (C + 3 * C + C + C + F) + (size_t)B * tf->heads * T * T;
}

void cd_block_forward(const cd_transformer *tf, const cd_block *blk, float *x, int B, int T,
                      int causal, float *scratch) {
  int C = tf->width, F = tf->mlp_dim, M = B * T;
  size_t BT = (size_t)M;
  float *ln = scratch;
  float *qkv = ln + BT * C;
  float *att_out = qkv + BT * 3 * C;
  float *proj = att_out + BT * C;
  float *hidden = proj + BT * C;
  float *probs = hidden + BT * F;

  cd_layernorm_forward(ln, NULL, NULL, x, blk->ln_1_w, blk->ln_1_b, M, C, tf->eps);
  cd_matmul_forward(qkv, ln, blk->qkv_w, blk->qkv_b, M, C, 3 * C);
  cd_attention_forward(att_out, probs, qkv, B, T, C, tf->heads, causal);
  cd_matmul_forward(proj, att_out, blk->out_w, blk->out_b, M, C, C);
  cd_add_forward(x, x, proj, BT * C);

  cd_layernorm_forward(ln, NULL, NULL, x, blk->ln_2_w, blk->ln_2_b, M, C, tf->eps);
  cd_matmul_forward(hidden, ln, blk->fc_w, blk->fc_b, M, C, F);
  if (tf->act == CD_ACT_GELU) cd_gelu_forward(hidden, hidden, BT * F);
  else cd_quickgelu_forward(hidden, hidden, BT * F);
  cd_matmul_forward(proj, hidden, blk->proj_w, blk->proj_b, M, F, C);
  cd_add_forward(x, x, proj, BT * C);
}

int cd_text_eot_index(const int32_t *tokens, int context) {
  int best = 0;
  for (int t = 1; t < context; t++)
    if (tokens[t] > tokens[best]) best = t; /* strict '>' keeps the first maximum, like argmax */
  return best;
}

void cd_l2_normalize_rows(float *x, int N, int D) {
  for (int i = 0; i < N; i++) {
    float *r = x + (size_t)i * D;
    double ss = 0;
    for (int d = 0; d < D; d++) ss += (double)r[d] * r[d];
    float inv = ss > 0 ? (float)(1.0 / sqrt(ss)) : 0.0f;
    for (int d = 0; d < D; d++) r[d] *= inv;
  }
}
