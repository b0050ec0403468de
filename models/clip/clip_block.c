/* The pre-LN residual attention block (upstream ResidualAttentionBlock), one implementation
 * for both towers at inference and for the prompt-tuning forward and backward:
 *   x = x + out_proj(attn(ln_1(x)))
 *   x = x + c_proj(act(c_fc(ln_2(x))))
 * Every Linear goes through cd_linear_forward: against packed weights the bias, the
 * activation and both residual adds are GEMM epilogues (applied to each tile while it is in
 * cache). Attention is fused per head (dense rows) or segment-causal (prompt tuning's packed
 * rows). Buffers come from the caller's arena. Plus small helpers used by both towers. */
#include <math.h>
#include <string.h>

#include "models/clip/clip.h"
#include "ops/attention/attention.h"
#include "ops/attention/attention_segments.h"
#include "ops/gemm/linear.h"
#include "ops/ops.h"

static size_t round64(size_t n) { return (n + 63) & ~(size_t)63; }
static size_t fbytes(size_t n) { return round64(n * sizeof(float)); }

/* Inference activations of M rows: ln [M,C] qkv [M,3C] att [M,C] hidden [M,F]. */
static size_t activation_bytes(size_t M, const cd_transformer *tf) {
  size_t C = (size_t)tf->width, F = (size_t)tf->mlp_dim;
  return fbytes(M * C) + fbytes(M * 3 * C) + fbytes(M * C) + fbytes(M * F);
}

/* What the GEMMs and attention take on top, at most. */
static size_t op_bytes(size_t M, int T, const cd_transformer *tf) {
  size_t C = (size_t)tf->width, F = (size_t)tf->mlp_dim, gemm = 0;
  size_t att = sizeof(float) * (size_t)cd_threads_get() * cd_attention_head_scratch(T, tf->width / tf->heads);
  if (tf->layers > 0 && tf->blocks[0].fc_w.kernel) {
    const cd_gemm_kernel *k = tf->blocks[0].fc_w.kernel;
    size_t a = cd_gemm_weight_scratch(k, (int)M, (int)C), b = cd_gemm_weight_scratch(k, (int)M, (int)F);
    gemm = a > b ? a : b;
  } else {
    gemm = fbytes(M * (C > F ? C : F)); /* plain weights: an unfused residual add's product */
  }
  return gemm > att ? gemm : att;
}

size_t cd_block_scratch_bytes(int B, int T, const cd_transformer *tf) {
  size_t M = (size_t)B * T;
  return activation_bytes(M, tf) + op_bytes(M, T, tf) + 512;
}

static int copies_of(const cd_block_rows *r) { return r->seg && r->copies > 1 ? r->copies : 1; }
static int rows_m(const cd_block_rows *r) { return r->seg ? copies_of(r) * r->seg[r->n_seg] : r->B * r->T; }

/* Attention of the rows (dense or segments); probs may be NULL for dense attention. */
static void attend(const cd_transformer *tf, const cd_block_rows *r, float *out, float *probs,
                   const float *qkv, cd_arena *ws) {
  int C = tf->width, NH = tf->heads;
  if (!r->seg) {
    cd_attention_forward_ws(out, probs, qkv, r->B, r->T, C, NH, r->causal, ws);
    return;
  }
  int R = r->seg[r->n_seg], M = rows_m(r);
  size_t A = (size_t)NH * R * cd_segments_max_keys(r->P, r->n_seg, r->seg);
  cd_scratch s = {0};
  if (!probs) probs = cd_scratch_need(&s, ws, sizeof(float) * (size_t)(M / R) * A);
  /* each copy attends within itself */
  cd_attention_forward_segments(out, probs, qkv, R, r->P, r->n_seg, r->seg, C, NH, M / R);
  cd_scratch_put(&s);
}

/* Plain float32 weights in a training forward: the row-wise kernels at any M. */
static void linear(int rowwise, float *out, const float *x, const cd_weight *w, const float *bias, int M,
                   cd_activation act, const float *resid, cd_arena *ws) {
  if (rowwise) cd_linear_forward_rowwise(out, x, w, bias, M, act, resid, ws);
  else cd_linear_forward(out, x, w, bias, M, act, resid, ws);
}

/* dst[i] = src[keep[i]] for n rows of C. */
static void gather_rows(float *dst, const float *src, const int *keep, int n, int C) {
  for (int i = 0; i < n; i++) memcpy(dst + (size_t)i * C, src + (size_t)keep[i] * C, sizeof(float) * C);
}

void cd_block_forward_rows(const cd_transformer *tf, const cd_block *blk, const float *x_in,
                           float *x_out, const cd_block_rows *rows, cd_block_saved *sv, cd_arena *ws) {
  const int C = tf->width, F = tf->mlp_dim, M = rows_m(rows), Mk = rows->keep ? rows->n_keep : M;
  cd_scratch s = {0};
  /* inference buffers; a training forward writes into sv instead */
  float *ln = cd_scratch_need(&s, ws, activation_bytes((size_t)M, tf) + 2 * fbytes((size_t)Mk * C));
  float *qkv = ln + fbytes((size_t)M * C) / 4, *atty = qkv + fbytes((size_t)M * 3 * C) / 4;
  float *hidden = atty + fbytes((size_t)M * C) / 4, *a_keep = hidden + fbytes((size_t)M * F) / 4;
  float *x_keep = a_keep + fbytes((size_t)Mk * C) / 4;
  if (sv) ln = sv->ln1, qkv = sv->qkv, atty = sv->atty;
  /* rows before r0 are in place already (training, no keep): everything from r0 */
  const size_t r0 = sv && !rows->keep ? (size_t)rows->r0 : 0, rC = r0 * C, rF = r0 * F;

  cd_layernorm_forward(ln + rC, sv ? sv->mean1 + r0 : NULL, sv ? sv->rstd1 + r0 : NULL, x_in + rC, blk->ln_1_w,
                       blk->ln_1_b, M - (int)r0, C, tf->eps);
  linear(sv != NULL, qkv + 3 * rC, ln + rC, &blk->qkv_w, blk->qkv_b, M - (int)r0, CD_ACT_NONE, NULL, ws);
  attend(tf, rows, atty, sv ? sv->att : NULL, qkv, ws);
  const float *a = atty, *xi = x_in;
  if (rows->keep) { /* only the kept rows go on */
    gather_rows(a_keep, atty, rows->keep, Mk, C);
    gather_rows(x_keep, x_in, rows->keep, Mk, C);
    a = a_keep, xi = x_keep;
  }
  /* x_mid = x + out_proj(att): in place at inference */
  float *xm = sv ? sv->xmid : x_out;
  const int G = Mk - (int)r0;
  linear(sv != NULL, xm + rC, a + rC, &blk->out_w, blk->out_b, G, CD_ACT_NONE, xi + rC, ws);

  float *ln2 = sv ? sv->ln2 : ln;
  cd_layernorm_forward(ln2 + rC, sv ? sv->mean2 + r0 : NULL, sv ? sv->rstd2 + r0 : NULL, xm + rC, blk->ln_2_w,
                       blk->ln_2_b, G, C, tf->eps);
  if (sv) { /* the backward needs the activation's derivative there: kept in place of its input */
    linear(sv != NULL, sv->fcd + rF, ln2 + rC, &blk->fc_w, blk->fc_b, G, CD_ACT_NONE, NULL, ws);
    cd_activation_forward_deriv(sv->fcg + rF, sv->fcd + rF, sv->fcd + rF, (size_t)G * F, tf->act);
    hidden = sv->fcg;
  } else {
    linear(sv != NULL, hidden, ln2, &blk->fc_w, blk->fc_b, Mk, tf->act, NULL, ws);
  }
  linear(sv != NULL, x_out + rC, hidden + rF, &blk->proj_w, blk->proj_b, G, CD_ACT_NONE, xm + rC, ws);
  cd_scratch_put(&s);
}

void cd_block_forward(const cd_transformer *tf, const cd_block *blk, float *x, int B, int T,
                      int causal, cd_arena *ws) {
  cd_block_rows rows = {B, T, causal, 0, 0, NULL, NULL, 0, 1, 0};
  cd_block_forward_rows(tf, blk, x, x, &rows, NULL, ws);
}

/* MLP branch backward over G rows: d holds d x_out on entry (the residual's share) and
 * d x_mid on return. */
static void mlp_backward(const cd_transformer *tf, const cd_block *blk, const cd_block_saved *sv, int r0,
                         int G, float *d, float *dF, float *dF2, float *dC) {
  size_t C = (size_t)tf->width, F = (size_t)tf->mlp_dim, off = (size_t)r0;
  cd_linear_backward_input(dF, d, &blk->proj_w, G);
  memset(dF2, 0, sizeof(float) * G * F);
  cd_activation_backward_deriv(dF2, dF, sv->fcd + off * F, (size_t)G * F);
  cd_linear_backward_input(dC, dF2, &blk->fc_w, G);
  cd_layernorm_backward(d, NULL, NULL, dC, sv->xmid + off * C, blk->ln_2_w, sv->mean2 + off, sv->rstd2 + off, G, (int)C);
}

void cd_block_backward(const cd_transformer *tf, const cd_block *blk, const cd_block_rows *rows,
                       const cd_block_saved *sv, const float *x_in, const float *dx_out,
                       float *dx_in, int g0, cd_arena *ws) {
  const int C = tf->width, F = tf->mlp_dim, M = rows_m(rows), Mk = rows->keep ? rows->n_keep : M;
  /* Kept rows all lead to the output; otherwise rows before g0 are skipped from the start. */
  const int r0 = rows->keep ? 0 : g0, G = Mk - r0;
  cd_scratch s = {0};
  size_t bytes = 3 * fbytes((size_t)Mk * C) + 2 * fbytes((size_t)Mk * F) + fbytes((size_t)M * C) + fbytes((size_t)M * 3 * C);
  float *d = cd_scratch_need(&s, ws, bytes);
  float *da = d + fbytes((size_t)Mk * C) / 4, *dC = da + fbytes((size_t)Mk * C) / 4;
  float *dF = dC + fbytes((size_t)Mk * C) / 4, *dF2 = dF + fbytes((size_t)Mk * F) / 4;
  float *dA = dF2 + fbytes((size_t)Mk * F) / 4, *dqkv = dA + fbytes((size_t)M * C) / 4;
  size_t rC = (size_t)r0 * C, gC = (size_t)g0 * C;

  /* MLP and out-projection on the rows that went on: d = d x_mid, da = d atty */
  memcpy(d + rC, dx_out + rC, sizeof(float) * (size_t)G * C);
  mlp_backward(tf, blk, sv, r0, G, d + rC, dF, dF2, dC);
  cd_linear_backward_input(da + rC, d + rC, &blk->out_w, G); /* rows before r0 are not read */
  /* back to all M rows: dA = d atty, dx_in = the residual's share */
  memset(dA, 0, sizeof(float) * (size_t)M * C);
  if (rows->keep) {
    memset(dx_in + gC, 0, sizeof(float) * (size_t)(M - g0) * C);
    for (int i = 0; i < Mk; i++) {
      memcpy(dA + (size_t)rows->keep[i] * C, da + (size_t)i * C, sizeof(float) * C);
      memcpy(dx_in + (size_t)rows->keep[i] * C, d + (size_t)i * C, sizeof(float) * C);
    }
  } else {
    memcpy(dA + rC, da + rC, sizeof(float) * (size_t)G * C);
    memcpy(dx_in + rC, d + rC, sizeof(float) * (size_t)G * C);
  }
  /* attention, the qkv projection and ln_1 */
  memset(dqkv, 0, sizeof(float) * (size_t)M * 3 * C);
  if (rows->seg) {
    int R = rows->seg[rows->n_seg];
    cd_attention_backward_segments(dqkv, dA, sv->qkv, sv->att, R, rows->P, rows->n_seg, rows->seg, C,
                                   tf->heads, M / R);
  } else
    cd_attention_backward(dqkv, dA, sv->qkv, sv->att, rows->B, rows->T, C, tf->heads, rows->causal);
  cd_linear_backward_input(dA + gC, dqkv + 3 * gC, &blk->qkv_w, M - g0);
  cd_layernorm_backward(dx_in + gC, NULL, NULL, dA + gC, x_in + gC, blk->ln_1_w, sv->mean1 + g0,
                        sv->rstd1 + g0, M - g0, C);
  cd_scratch_put(&s);
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
