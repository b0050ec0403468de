/* Text tower forward/backward for prompt tuning over the packed rows (see text_train.h). */
#include "models/tuning/text_train.h"

#include <stdlib.h>
#include <string.h>

#include "ops/gemm/skinny.h"
#include "ops/attention/attention_segments.h"
#include "ops/ops.h"

/* Maps prompt position `pos` of class c to a context row (>= 0) or, when it holds a fixed
 * token, to -1 - (index into the tokenized row), following CoOp's concatenation order. */
static int source_of(const cd_prompt *p, int c, int pos) {
  int n = p->n_ctx, nl = p->name_lens[c], base = p->csc ? c * n : 0;
  if (pos == 0) return -1;
  switch (p->position) {
  case CD_CLASS_MIDDLE: {
    int h = n / 2;
    if (pos <= h) return base + pos - 1;
    if (pos <= h + nl) return -1 - (1 + n + (pos - h - 1));
    if (pos <= n + nl) return base + h + (pos - h - nl - 1);
    return -1 - pos;
  }
  case CD_CLASS_FRONT:
    if (pos <= nl) return -1 - (1 + n + pos - 1);
    if (pos <= nl + n) return base + pos - nl - 1;
    return -1 - pos;
  default:
    if (pos <= n) return base + pos - 1;
    return -1 - pos;
  }
}

static int plan(cd_text_train *t, const cd_prompt *p, int vocab, int context, cd_error *e) {
  int shared = !p->csc && p->position == CD_CLASS_END;
  for (int c = 1; shared && c < p->n_cls; c++)
    if (p->tokens[(size_t)c * p->context] != p->tokens[0]) shared = 0;
  int P = shared ? 1 + p->n_ctx : 0, R = P;
  for (int c = 0; c < p->n_cls; c++) {
    if (p->eot[c] >= context)
      return cd_fail(e, "prompt for class %d: EOT at %d beyond the model's context %d", c,
                     p->eot[c], context);
    R += p->eot[c] + 1 - P;
  }
  t->P = P;
  t->R = R;
  t->n_cls = t->n_seg = p->n_cls;
  t->n_ctx_rows = p->n_ctx * (p->csc ? p->n_cls : 1);
  t->seg = cd_malloc(sizeof(int) * (size_t)(p->n_cls + 1), e);
  t->row_pos = cd_malloc(sizeof(int) * (size_t)R, e);
  t->row_tok = cd_malloc(sizeof(int32_t) * (size_t)R, e);
  t->row_ctx = cd_malloc(sizeof(int) * (size_t)R, e);
  t->eot_row = cd_malloc(sizeof(int) * (size_t)p->n_cls, e);
  if (!t->seg || !t->row_pos || !t->row_tok || !t->row_ctx || !t->eot_row) return -1;
  int r = 0;
  for (int c = 0; c < p->n_cls; c++) {
    const int32_t *tok = p->tokens + (size_t)c * p->context;
    int from = c == 0 ? 0 : P; /* the prefix rows are emitted with class 0 */
    if (c > 0 || P == 0) t->seg[c] = r;
    if (c == 0 && P > 0) t->seg[0] = P;
    for (int pos = from; pos <= p->eot[c]; pos++, r++) {
      int s = source_of(p, c, pos);
      t->row_pos[r] = pos;
      t->row_ctx[r] = s >= 0 ? s : -1;
      t->row_tok[r] = s >= 0 ? -1 : tok[-1 - s];
      if (s < 0 && (tok[-1 - s] < 0 || tok[-1 - s] >= vocab))
        return cd_fail(e, "prompt for class %d: token id %d at %d outside the vocabulary (%d)",
                       c, tok[-1 - s], -1 - s, vocab);
    }
    t->eot_row[c] = r - 1;
  }
  t->seg[p->n_cls] = R;
  t->g0 = P > 0 ? 1 : 0;
  return 0;
}

int cd_text_train_init(cd_text_train *t, const cd_clip *m, const cd_prompt *p, cd_error *e) {
  memset(t, 0, sizeof *t);
  const cd_text *tx = &m->text;
  if (p->width != tx->tf.width) {
    return cd_fail(e, "prompt width %d does not match the text tower width %d", p->width,
                   tx->tf.width);
  }
  if (plan(t, p, tx->vocab_size, tx->context, e)) {
    cd_text_train_free(t);
    return -1;
  }
  t->L = tx->tf.layers;
  t->C = tx->tf.width;
  t->F = tx->tf.mlp_dim;
  t->NH = tx->tf.heads;
  t->E = m->embed_dim;
  t->act = tx->tf.act;
  t->kt = cd_kernels_get();
  t->Tk = cd_segments_max_keys(t->P, t->n_seg, t->seg);
  size_t R = (size_t)t->R, C = (size_t)t->C, F = (size_t)t->F, L = (size_t)t->L;
  size_t N = (size_t)t->n_cls, E = (size_t)t->E, A = (size_t)t->NH * R * t->Tk;
  size_t sizes[] = {
      (L + 1) * R * C, L * R * C, L * R * C, L * R * C,     /* x xmid ln1 ln2 */
      L * R, L * R, L * R, L * R,                           /* mean/rstd */
      L * R * 3 * C, L * A, L * R * C, L * R * F, L * R * F, /* qkv att atty fch fcg */
      N * C, N * C, N, N, N * E,                            /* eot_x lnf meanf rstdf feat */
      R * C, R * C, R * 3 * C, R * F, R * F, N * C, N * C}; /* dx dC dqkv dF dF2 dcls dxe */
  float **ptrs[] = {&t->x, &t->xmid, &t->ln1, &t->ln2, &t->mean1, &t->rstd1, &t->mean2,
                    &t->rstd2, &t->qkv, &t->att, &t->atty, &t->fch, &t->fcg, &t->eot_x,
                    &t->lnf, &t->meanf, &t->rstdf, &t->features, &t->dx, &t->dC, &t->dqkv,
                    &t->dF, &t->dF2, &t->dcls, &t->dxe};
  size_t n = sizeof sizes / sizeof sizes[0], total = 0;
  for (size_t i = 0; i < n; i++) total += (sizes[i] + 15) & ~(size_t)15; /* 64-byte steps */
  if (posix_memalign((void **)&t->arena, 64, total * sizeof(float)) || !t->arena) {
    t->arena = NULL;
    cd_text_train_free(t);
    return cd_fail(e, "text tower training buffers: out of memory (%zu floats)", total);
  }
  memset(t->arena, 0, total * sizeof(float));
  float *q = t->arena;
  for (size_t i = 0; i < n; i++) {
    *ptrs[i] = q;
    q += (sizes[i] + 15) & ~(size_t)15;
  }
  return 0;
}

void cd_text_train_free(cd_text_train *t) {
  free(t->seg);
  free(t->row_pos);
  free(t->row_tok);
  free(t->row_ctx);
  free(t->eot_row);
  free(t->arena);
  memset(t, 0, sizeof *t);
}

static void activation_forward(cd_activation a, float *out, const float *in, size_t n) {
  if (a == CD_ACT_GELU) cd_gelu_forward(out, in, n);
  else cd_quickgelu_forward(out, in, n);
}

static void activation_backward(cd_activation a, float *din, const float *dout, const float *in,
                                size_t n) {
  if (a == CD_ACT_GELU) cd_gelu_backward(din, dout, in, n);
  else cd_quickgelu_backward(din, dout, in, n);
}

void cd_text_train_forward(cd_text_train *t, const cd_clip *m, const float *ctx) {
  const cd_text *tx = &m->text;
  const cd_transformer *tf = &tx->tf;
  int R = t->R, C = t->C, F = t->F;
  size_t RC = (size_t)R * C, RF = (size_t)R * F, A = (size_t)t->NH * R * t->Tk;
  for (int r = 0; r < R; r++) {
    const float *src = t->row_ctx[r] >= 0 ? ctx + (size_t)t->row_ctx[r] * C
                                          : tx->tok_emb + (size_t)t->row_tok[r] * C;
    const float *pe = tx->pos_emb + (size_t)t->row_pos[r] * C;
    float *dst = t->x + (size_t)r * C;
    for (int i = 0; i < C; i++) dst[i] = src[i] + pe[i];
  }
  int N = t->n_cls;
  for (int l = 0; l < t->L; l++) {
    const cd_block *b = &tf->blocks[l];
    float *x = t->x + l * RC, *xm = t->xmid + l * RC, *xo = t->x + (l + 1) * RC;
    float *ln1 = t->ln1 + l * RC, *ln2 = t->ln2 + l * RC, *qkv = t->qkv + l * 3 * RC;
    float *att = t->att + l * A, *atty = t->atty + l * RC;
    float *fch = t->fch + l * RF, *fcg = t->fcg + l * RF;
    cd_layernorm_forward(ln1, t->mean1 + (size_t)l * R, t->rstd1 + (size_t)l * R, x, b->ln_1_w,
                         b->ln_1_b, R, C, tf->eps);
    cd_skinny_linear_forward(t->kt, qkv, ln1, b->qkv_w, b->qkv_b, R, C, 3 * C);
    cd_attention_forward_segments(atty, att, qkv, R, t->P, t->n_seg, t->seg, C, t->NH);
    int M = R;
    const float *xin = x;
    if (l == t->L - 1) {
      /* Only the EOT rows leave the last block: its out-proj and MLP run on those rows alone
       * (rows 0..N-1 of this layer's buffers), writing straight into eot_x. */
      for (int c = 0; c < N; c++) {
        memcpy(t->dcls + (size_t)c * C, atty + (size_t)t->eot_row[c] * C, sizeof(float) * C);
        memcpy(t->dxe + (size_t)c * C, x + (size_t)t->eot_row[c] * C, sizeof(float) * C);
      }
      M = N;
      atty = t->dcls;
      xin = t->dxe;
      xo = t->eot_x;
    }
    size_t MC = (size_t)M * C;
    cd_skinny_linear_forward(t->kt, t->dC, atty, b->out_w, b->out_b, M, C, C);
    cd_add_forward(xm, xin, t->dC, MC);
    cd_layernorm_forward(ln2, t->mean2 + (size_t)l * R, t->rstd2 + (size_t)l * R, xm, b->ln_2_w,
                         b->ln_2_b, M, C, tf->eps);
    cd_skinny_linear_forward(t->kt, fch, ln2, b->fc_w, b->fc_b, M, C, F);
    activation_forward(t->act, fcg, fch, (size_t)M * F);
    cd_skinny_linear_forward(t->kt, t->dC, fcg, b->proj_w, b->proj_b, M, F, C);
    cd_add_forward(xo, xm, t->dC, MC);
  }
  if (t->L == 0)
    for (int c = 0; c < N; c++)
      memcpy(t->eot_x + (size_t)c * C, t->x + (size_t)t->eot_row[c] * C, sizeof(float) * C);
  cd_layernorm_forward(t->lnf, t->meanf, t->rstdf, t->eot_x, tx->ln_final_w, tx->ln_final_b,
                       N, C, tf->eps);
  cd_skinny_linear_forward(t->kt, t->features, t->lnf, tx->proj, NULL, N, C, t->E);
}

/* MLP branch backward over M rows starting at row r0 of this layer's buffers: d accumulates
 * the gradient of the block's mid-point xm (it holds the residual path's share on entry). */
static void mlp_backward(cd_text_train *t, const cd_block *b, int l, float *d, int r0, int M) {
  int R = t->R, C = t->C, F = t->F;
  size_t RC = (size_t)R * C, RF = (size_t)R * F, off = (size_t)r0;
  const float *xm = t->xmid + l * RC + off * C, *fch = t->fch + l * RF + off * F;
  memset(t->dF, 0, sizeof(float) * (size_t)M * F);
  cd_skinny_linear_backward(t->kt, t->dF, d, b->proj_w, M, F, C);
  memset(t->dF2, 0, sizeof(float) * (size_t)M * F);
  activation_backward(t->act, t->dF2, t->dF, fch, (size_t)M * F);
  memset(t->dC, 0, sizeof(float) * (size_t)M * C);
  cd_skinny_linear_backward(t->kt, t->dC, t->dF2, b->fc_w, M, C, F);
  cd_layernorm_backward(d, NULL, NULL, t->dC, xm, b->ln_2_w, t->mean2 + (size_t)l * R + off,
                        t->rstd2 + (size_t)l * R + off, M, C);
}

void cd_text_train_backward(cd_text_train *t, const cd_clip *m, const float *dfeatures,
                            float *dctx) {
  const cd_text *tx = &m->text;
  const cd_transformer *tf = &tx->tf;
  int R = t->R, C = t->C, N = t->n_cls;
  size_t RC = (size_t)R * C, A = (size_t)t->NH * R * t->Tk;
  /* projection and ln_final on the EOT rows, scattered into the residual gradient */
  memset(t->dC, 0, sizeof(float) * (size_t)N * C);
  cd_skinny_linear_backward(t->kt, t->dC, dfeatures, tx->proj, N, C, t->E);
  memset(t->dcls, 0, sizeof(float) * (size_t)N * C);
  cd_layernorm_backward(t->dcls, NULL, NULL, t->dC, t->eot_x, tx->ln_final_w, t->meanf,
                        t->rstdf, N, C);
  /* Rows before g0 (SOT of a shared prefix) do not depend on the context: their gradients
   * would never reach it, so the backward products skip them. */
  int g0 = t->g0, G = R - g0;
  size_t gC = (size_t)g0 * C;
  memset(t->dx, 0, sizeof(float) * RC);
  for (int l = t->L - 1; l >= 0; l--) {
    const cd_block *b = &tf->blocks[l];
    const float *x = t->x + l * RC;
    const float *qkv = t->qkv + l * 3 * RC, *att = t->att + l * A;
    memset(t->dC, 0, sizeof(float) * RC);
    if (l == t->L - 1) {
      /* last block: MLP and out-proj on the EOT rows only (see the forward) */
      memcpy(t->dxe, t->dcls, sizeof(float) * (size_t)N * C);
      mlp_backward(t, b, l, t->dxe, 0, N);
      memset(t->dcls, 0, sizeof(float) * (size_t)N * C);
      cd_skinny_linear_backward(t->kt, t->dcls, t->dxe, b->out_w, N, C, C);
      memset(t->dC, 0, sizeof(float) * RC);
      for (int c = 0; c < N; c++) {
        memcpy(t->dC + (size_t)t->eot_row[c] * C, t->dcls + (size_t)c * C, sizeof(float) * C);
        memcpy(t->dx + (size_t)t->eot_row[c] * C, t->dxe + (size_t)c * C, sizeof(float) * C);
      }
    } else {
      mlp_backward(t, b, l, t->dx + gC, g0, G);
      memset(t->dC, 0, sizeof(float) * RC);
      cd_skinny_linear_backward(t->kt, t->dC + gC, t->dx + gC, b->out_w, G, C, C);
    }
    memset(t->dqkv, 0, sizeof(float) * 3 * RC);
    cd_attention_backward_segments(t->dqkv, t->dC, qkv, att, R, t->P, t->n_seg, t->seg, C,
                                   t->NH);
    memset(t->dC, 0, sizeof(float) * RC);
    cd_skinny_linear_backward(t->kt, t->dC + gC, t->dqkv + 3 * gC, b->qkv_w, G, C, 3 * C);
    cd_layernorm_backward(t->dx + gC, NULL, NULL, t->dC + gC, x + gC, b->ln_1_w,
                          t->mean1 + (size_t)l * R + g0, t->rstd1 + (size_t)l * R + g0, G, C);
  }
  if (t->L == 0)
    for (int c = 0; c < N; c++)
      memcpy(t->dx + (size_t)t->eot_row[c] * C, t->dcls + (size_t)c * C, sizeof(float) * C);
  for (int r = 0; r < R; r++) {
    if (t->row_ctx[r] < 0) continue;
    float *d = dctx + (size_t)t->row_ctx[r] * C;
    const float *s = t->dx + (size_t)r * C;
    for (int i = 0; i < C; i++) d[i] += s[i];
  }
}
