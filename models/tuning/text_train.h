/* CLIP text tower for prompt tuning: forward from input embeddings (token embeddings with
 * learnable context vectors spliced in) keeping the activations the backward needs, and the
 * backward down to the context vectors only (the tower's weights are frozen: no weight
 * gradients are formed). Each layer is the shared block of models/clip/clip_block.c
 * (cd_block_forward_rows / cd_block_backward); this file plans the rows and keeps the
 * activations. The tower must be loaded with plain weights (pack_text = 0): float32 rows, or
 * bfloat16 rows (text_rows = bf16: half the bytes streamed, float32 activations, gradients
 * and sums; the same row-wise kernels, so lockstep and thread counts keep the bits).
 *
 * Work saved compared with running [n_cls, 77] prompts:
 *  - EOT cut: under the causal mask tokens after EOT cannot reach the EOT feature, so each
 *    prompt runs only up to its EOT (T_c = eot_c + 1 rows);
 *  - shared prefix: with unified context and the class name at the end, SOT + context
 *    (1 + n_ctx rows) is identical for every class and is computed once: the rows are packed
 *    as [prefix | suffix_0 | suffix_1 | ...] with segment-causal attention
 *    (ops/attention/attention_segments.h), so every GEMM runs once over all rows;
 *  - otherwise (csc, middle, front) the per-class sequences are packed block-diagonally.
 *  - Only the EOT rows go through the last block's out-proj and MLP, ln_final and the
 *    projection; rows that precede every context vector (the shared prefix's SOT) are
 *    computed by the first forward only (later ones keep their saved activations, which no
 *    context vector can change) and skipped by the backward.
 *
 * Copies (lockstep): the same prompt layout for several runs at once, each with its own
 * context vectors, stacked as rows (copy k holds rows [k·R, (k+1)·R) and EOT features
 * [k·n_cls, (k+1)·n_cls)): one forward and one backward over all of them, so the frozen
 * weights are streamed once per step for every run and the GEMMs have copies·R rows.
 * Attention stays within each copy and the GEMMs compute each row alone
 * (cd_linear_forward_rowwise, and the row-wise input gradient), so every copy gets the bits
 * it would get alone. */
#ifndef CD_TEXT_TRAIN_H
#define CD_TEXT_TRAIN_H

#include <stdint.h>

#include "core/arena.h"
#include "core/error.h"
#include "models/clip/clip.h"
#include "models/tuning/prompt.h"

typedef struct {
  /* packed layout of one copy (a prompt) */
  int R, P, n_seg, n_cls, n_ctx_rows; /* n_ctx_rows: rows of the ctx array ([*, C]) */
  int *seg;          /* [n_seg + 1], seg[0] = P, seg[n_seg] = R */
  int *row_pos;      /* [R] position (pos_emb row) */
  int32_t *row_tok;  /* [R] token id, -1 on context rows */
  int *row_ctx;      /* [R] context row, -1 on token rows */
  int *eot_row;      /* [n_cls] */
  int g0;            /* rows before g0 do not depend on the context (backward skips them) */
  int g0_saved;      /* a forward saved their activations: later forwards start at g0 */
  int copies;        /* stacked copies allocated (1 for one run) */
  int *keep;         /* [copies * n_cls] EOT rows of every copy, over all stacked rows */
  int L, C, F, NH, E, Tk;
  cd_activation act;
  /* saved activations, per layer l; R stands for copies·R and n_cls for copies·n_cls */
  float *x;          /* [L+1][R,C] residual stream entering block l; x[L] leaves the tower */
  float *xmid;       /* [L][R,C] after the attention residual */
  float *ln1, *ln2;  /* [L][R,C] */
  float *mean1, *rstd1, *mean2, *rstd2; /* [L][R] */
  float *qkv;        /* [L][R,3C] */
  float *att;        /* [L][NH,R,Tk] */
  float *atty;       /* [L][R,C] attention output before out-proj */
  float *fcd, *fcg;  /* [L][R,F] the activation's derivative at its input, its output */
  float *eot_x, *lnf, *meanf, *rstdf; /* [n_cls,C], [n_cls,C], [n_cls] x2 */
  float *features;   /* [n_cls,E] unnormalised text features */
  /* backward */
  float *dx;         /* [R,C] gradient of the residual stream */
  float *dC, *dcls;  /* [n_cls,C] gradients of ln_final's output and input */
  float *arena;
  cd_arena ws;       /* scratch of the block forward / backward */
} cd_text_train;

/* Plans the packed rows for the prompt p on the text tower of m and allocates everything.
 * Checks every token id against the vocabulary and every length against the context. */
int cd_text_train_init(cd_text_train *t, const cd_clip *m, const cd_prompt *p, cd_error *e);
/* The same with room for `copies` stacked copies of the prompt's rows (lockstep). */
int cd_text_train_init_copies(cd_text_train *t, const cd_clip *m, const cd_prompt *p, int copies,
                              cd_error *e);
/* The two halves of init: the plan (every check; the buffers' sizes) and the buffers (the saved
 * activations and scratch; nothing when allocated already). A prompt head plans at once and
 * allocates at its first own tower pass: heads trained in lockstep never make one (the group's
 * stacked buffers serve them), which spares 5 MB per B/32 pair, 250 MB for a sweep group of
 * 48 pairs. On failure the plan is kept (alloc) or t is left freed (plan). */
int cd_text_train_plan(cd_text_train *t, const cd_clip *m, const cd_prompt *p, int copies, cd_error *e);
int cd_text_train_alloc(cd_text_train *t, const cd_clip *m, cd_error *e);
void cd_text_train_free(cd_text_train *t);
/* ctx laid out like cd_prompt.ctx. Result in t->features [n_cls, E]. */
void cd_text_train_forward(cd_text_train *t, const cd_clip *m, const float *ctx);
/* dctx += d loss / d ctx given dfeatures = d loss / d t->features (after a forward). */
void cd_text_train_backward(cd_text_train *t, const cd_clip *m, const float *dfeatures,
                            float *dctx);
/* n <= copies runs at once: ctx[k] is run k's context; features of run k in t->features rows
 * [k·n_cls, (k+1)·n_cls). The backward takes dfeatures [n·n_cls, E] and adds run k's context
 * gradient to dctx[k]. */
void cd_text_train_forward_copies(cd_text_train *t, const cd_clip *m, const float *const *ctx, int n);
void cd_text_train_backward_copies(cd_text_train *t, const cd_clip *m, const float *dfeatures,
                                   float *const *dctx, int n);

#endif
