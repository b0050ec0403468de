/* Text tower forward/backward for prompt tuning over the packed rows (see text_train.h). */
#include "models/tuning/text_train.h"

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "ops/attention/attention_segments.h"
#include "ops/gemm/linear.h"
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

/* Rows the weight-streaming kernels read forward and transposed (float32 or bfloat16). */
static int plain_rows(const cd_weight *w) { return cd_weight_f32(w) || cd_weight_bf16(w); }

int cd_text_train_init(cd_text_train *t, const cd_clip *m, const cd_prompt *p, cd_error *e) {
  return cd_text_train_init_copies(t, m, p, 1, e);
}

int cd_text_train_init_copies(cd_text_train *t, const cd_clip *m, const cd_prompt *p, int copies,
                              cd_error *e) {
  if (cd_text_train_plan(t, m, p, copies, e)) return -1;
  if (cd_text_train_alloc(t, m, e)) {
    cd_text_train_free(t);
    return -1;
  }
  return 0;
}

int cd_text_train_plan(cd_text_train *t, const cd_clip *m, const cd_prompt *p, int copies, cd_error *e) {
  memset(t, 0, sizeof *t);
  if (copies < 1) return cd_fail(e, "text tower training: %d copies", copies);
  const cd_text *tx = &m->text;
  if (p->width != tx->tf.width) {
    return cd_fail(e, "prompt width %d does not match the text tower width %d", p->width,
                   tx->tf.width);
  }
  if (!(m->towers & CD_TOWER_TEXT))
    return cd_fail(e, "%s: prompt tuning needs the text tower, and the model was loaded without it", m->path);
  for (int l = 0; l < tx->tf.layers; l++) {
    const cd_block *b = &tx->tf.blocks[l];
    if (!plain_rows(&b->qkv_w) || !plain_rows(&b->out_w) || !plain_rows(&b->fc_w) || !plain_rows(&b->proj_w))
      return cd_fail(e, "%s: prompt tuning needs the text tower's weights as float32 or bfloat16 rows (load it with pack_text = 0)", m->path);
  }
  if (!plain_rows(&tx->proj))
    return cd_fail(e, "%s: prompt tuning needs the text projection as float32 or bfloat16 rows (load with pack_text = 0)", m->path);
  if (plan(t, p, tx->vocab_size, tx->context, e)) {
    cd_text_train_free(t);
    return -1;
  }
  t->copies = copies;
  t->keep = cd_malloc(sizeof(int) * (size_t)copies * t->n_cls, e);
  if (!t->keep) {
    cd_text_train_free(t);
    return -1;
  }
  for (int k = 0; k < copies; k++)
    for (int c = 0; c < t->n_cls; c++) t->keep[k * t->n_cls + c] = k * t->R + t->eot_row[c];
  t->L = tx->tf.layers;
  t->C = tx->tf.width;
  t->F = tx->tf.mlp_dim;
  t->NH = tx->tf.heads;
  t->E = m->embed_dim;
  t->act = tx->tf.act;
  t->Tk = cd_segments_max_keys(t->P, t->n_seg, t->seg);
  return 0;
}

int cd_text_train_alloc(cd_text_train *t, const cd_clip *m, cd_error *e) {
  if (t->arena) return 0;
  const cd_text *tx = &m->text;
  size_t R = (size_t)t->R * t->copies, C = (size_t)t->C, F = (size_t)t->F, L = (size_t)t->L;
  size_t N = (size_t)t->n_cls * t->copies, E = (size_t)t->E, A = (size_t)t->NH * R * t->Tk;
  size_t sizes[] = {
      (L + 1) * R * C, L * R * C, L * R * C, L * R * C,     /* x xmid ln1 ln2 */
      L * R, L * R, L * R, L * R,                           /* mean/rstd */
      L * R * 3 * C, L * A, L * R * C, L * R * F, L * R * F, /* qkv att atty fcd fcg */
      N * C, N * C, N, N, N * E,                            /* eot_x lnf meanf rstdf feat */
      R * C, N * C, N * C};                                 /* dx dC dcls */
  float **ptrs[] = {&t->x, &t->xmid, &t->ln1, &t->ln2, &t->mean1, &t->rstd1, &t->mean2,
                    &t->rstd2, &t->qkv, &t->att, &t->atty, &t->fcd, &t->fcg, &t->eot_x,
                    &t->lnf, &t->meanf, &t->rstdf, &t->features, &t->dx, &t->dC, &t->dcls};
  size_t n = sizeof sizes / sizeof sizes[0], total = 0;
  for (size_t i = 0; i < n; i++) total += (sizes[i] + 15) & ~(size_t)15; /* 64-byte steps */
  /* cd_alloc_big: in 2 MB pages where the system has them (12 pairs of B/32 prompts stacked
   * are 63 MB, allocated for each stacked pass's setup: 15,000 page faults in 4 KB pages) */
  if (!(t->arena = cd_alloc_big(total * sizeof(float))))
    return cd_fail(e, "text tower training buffers: out of memory (%zu floats)", total);
  memset(t->arena, 0, total * sizeof(float));
  t->g0_saved = 0;
  float *q = t->arena;
  for (size_t i = 0; i < n; i++) {
    *ptrs[i] = q;
    q += (sizes[i] + 15) & ~(size_t)15;
  }
  /* scratch of the block forward / backward (gathers, gradients, products) */
  size_t fwd = cd_block_scratch_bytes(1, (int)R, &tx->tf) + sizeof(float) * (2 * R * C + A);
  size_t bwd = sizeof(float) * R * (9 * C + 2 * F) + 4096;
  if (cd_arena_init(&t->ws, fwd > bwd ? fwd : bwd, e)) { /* the plan stays: a later call may try again */
    free(t->arena);
    t->arena = NULL;
    return -1;
  }
  return 0;
}

/* Rows of layer l for n stacked copies, and the saved activations (strided for all copies). */
static cd_block_rows layer_rows(const cd_text_train *t, int l, int n) {
  int last = l == t->L - 1;
  return (cd_block_rows){0, 0, 1, t->P, t->n_seg, t->seg, last ? t->keep : NULL, last ? n * t->n_cls : 0, n,
                         t->g0_saved ? t->g0 : 0};
}

static cd_block_saved layer_saved(const cd_text_train *t, int l) {
  size_t R = (size_t)t->R * t->copies, RC = R * t->C, RF = R * t->F, A = (size_t)t->NH * R * t->Tk;
  return (cd_block_saved){t->ln1 + l * RC, t->mean1 + l * R, t->rstd1 + l * R, t->qkv + l * 3 * RC,
                          t->att + l * A, t->atty + l * RC, t->xmid + l * RC, t->ln2 + l * RC,
                          t->mean2 + l * R, t->rstd2 + l * R, t->fcd + l * RF, t->fcg + l * RF};
}

void cd_text_train_free(cd_text_train *t) {
  free(t->seg);
  free(t->row_pos);
  free(t->row_tok);
  free(t->row_ctx);
  free(t->eot_row);
  free(t->keep);
  free(t->arena);
  cd_arena_free(&t->ws);
  memset(t, 0, sizeof *t);
}

void cd_text_train_forward(cd_text_train *t, const cd_clip *m, const float *ctx) {
  cd_text_train_forward_copies(t, m, &ctx, 1);
}

void cd_text_train_backward(cd_text_train *t, const cd_clip *m, const float *dfeatures,
                            float *dctx) {
  cd_text_train_backward_copies(t, m, dfeatures, &dctx, 1);
}

void cd_text_train_forward_copies(cd_text_train *t, const cd_clip *m, const float *const *ctx, int n) {
  const cd_text *tx = &m->text;
  const cd_transformer *tf = &tx->tf;
  int R = t->R, C = t->C, N = n * t->n_cls;
  size_t RC = (size_t)R * t->copies * C; /* layer stride */
  for (int k = 0; k < n; k++)
    for (int r = 0; r < R; r++) {
      const float *src = t->row_ctx[r] >= 0 ? ctx[k] + (size_t)t->row_ctx[r] * C
                                            : tx->tok_emb + (size_t)t->row_tok[r] * C;
      const float *pe = tx->pos_emb + (size_t)t->row_pos[r] * C;
      float *dst = t->x + ((size_t)k * R + r) * C;
      for (int i = 0; i < C; i++) dst[i] = src[i] + pe[i];
    }
  /* Only the EOT rows leave the last block: its out-proj and MLP run on those rows alone,
   * writing straight into eot_x. */
  for (int l = 0; l < t->L; l++) {
    cd_block_rows rows = layer_rows(t, l, n);
    cd_block_saved sv = layer_saved(t, l);
    float *out = l == t->L - 1 ? t->eot_x : t->x + (l + 1) * RC;
    cd_block_forward_rows(tf, &tf->blocks[l], t->x + l * RC, out, &rows, &sv, &t->ws);
  }
  t->g0_saved = 1;
  if (t->L == 0)
    for (int c = 0; c < N; c++)
      memcpy(t->eot_x + (size_t)c * C, t->x + (size_t)t->keep[c] * C, sizeof(float) * C);
  cd_layernorm_forward(t->lnf, t->meanf, t->rstdf, t->eot_x, tx->ln_final_w, tx->ln_final_b,
                       N, C, tf->eps);
  cd_linear_forward_rowwise(t->features, t->lnf, &tx->proj, NULL, N, CD_ACT_NONE, NULL, &t->ws);
}

void cd_text_train_backward_copies(cd_text_train *t, const cd_clip *m, const float *dfeatures,
                                   float *const *dctx, int n) {
  const cd_text *tx = &m->text;
  const cd_transformer *tf = &tx->tf;
  int R = t->R, C = t->C, N = n * t->n_cls;
  size_t RC = (size_t)R * t->copies * C; /* layer stride */
  /* projection and ln_final on the EOT rows */
  cd_linear_backward_input(t->dC, dfeatures, &tx->proj, N);
  memset(t->dcls, 0, sizeof(float) * (size_t)N * C);
  cd_layernorm_backward(t->dcls, NULL, NULL, t->dC, t->eot_x, tx->ln_final_w, t->meanf,
                        t->rstdf, N, C);
  /* Rows before g0 (SOT of a shared prefix) do not depend on the context: their gradients
   * would never reach it, so the blocks skip them (in the first copy; the other copies' SOT
   * rows are computed and never read). */
  memset(t->dx, 0, sizeof(float) * (size_t)n * R * C);
  for (int l = t->L - 1; l >= 0; l--) {
    cd_block_rows rows = layer_rows(t, l, n);
    cd_block_saved sv = layer_saved(t, l);
    cd_block_backward(tf, &tf->blocks[l], &rows, &sv, t->x + l * RC, l == t->L - 1 ? t->dcls : t->dx,
                      t->dx, t->g0, &t->ws);
  }
  if (t->L == 0)
    for (int c = 0; c < N; c++)
      memcpy(t->dx + (size_t)t->keep[c] * C, t->dcls + (size_t)c * C, sizeof(float) * C);
  for (int k = 0; k < n; k++)
    for (int r = 0; r < R; r++) {
      if (t->row_ctx[r] < 0) continue;
      float *d = dctx[k] + (size_t)t->row_ctx[r] * C;
      const float *s = t->dx + ((size_t)k * R + r) * C;
      for (int i = 0; i < C; i++) d[i] += s[i];
    }
}
