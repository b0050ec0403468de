/* What prompt tuning trains, behind one interface: the head maps normalised image features
 * x [N,E] to logits x · Zᵀ + b for C classes.
 *   prompt  Z = exp(logit_scale) · t̂(ctx): the class text features of the CoOp prompt learner
 *           through the frozen text tower; parameters = the context vectors; no bias.
 *   linear  Z = W [C,E], bias b [C]: a linear probe of the frozen image features, initialised
 *           from the zero-shot classifier (W = exp(logit_scale) · t̂, b = 0, so its initial
 *           logits are the zero-shot logits); parameters = W then b.
 * cd_head_forward recomputes Z (and b) from the parameters; cd_head_backward takes dZ (and
 * db) to the parameters' gradient.
 * With a projection P [D,E] (cd_head_set_projection; models/tuning/projection.h) the prompt
 * head's class features are the text tower's [C,D] features mapped to t · P [C,E] before the
 * normalisation, and its backward goes back through Pᵀ: E is then the reduced width. */
#ifndef CD_TUNE_HEAD_H
#define CD_TUNE_HEAD_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "models/clip/clip.h"
#include "models/tuning/projection.h"
#include "models/tuning/prompt.h"
#include "models/tuning/text_train.h"

typedef enum { CD_HEAD_PROMPT = 0, CD_HEAD_LINEAR = 1 } cd_head_kind;

typedef struct {
  cd_head_kind kind;
  int C, E;
  float logit_scale_log;
  const cd_clip *m;        /* prompt head: the model (not owned) */
  cd_prompt *prompt;       /* prompt head: the learner (not owned; params = prompt->ctx) */
  cd_text_train tt;        /* prompt head: text tower with saved activations */
  float *params;           /* prompt: prompt->ctx; linear: owned [C*E + C] */
  size_t n_params;
  double *Z, *bias, *norm; /* [C,E], [C] (linear only), [C] (prompt only) */
  float *dtxt;             /* prompt scratch [C,D]: d L / d (text tower features) */
  cd_projection proj;      /* prompt: P [D,E] when proj.P, else none (D = E) */
  float *tproj, *dproj;    /* prompt scratch [C,E] each: projected features, their gradient */
  float *z_params;         /* prompt: the parameters Z was last computed from */
  int z_valid;             /*   (0: none yet) */
} cd_head;

/* p must stay alive and is trained in place. */
int cd_head_init_prompt(cd_head *h, const cd_clip *m, cd_prompt *p, cd_error *e);
/* Prompt head behind the projection p (p->D = the model's width, p->K <= p->D; P not owned,
 * must outlive the head). Allocates as init_prompt does. */
int cd_head_init_prompt_projected(cd_head *h, const cd_clip *m, cd_prompt *p,
                                  const cd_projection *proj, cd_error *e);
/* txt [C,E]: zero-shot class text features (any norm). */
int cd_head_init_linear(cd_head *h, const float *txt, int C, int E, float logit_scale_log,
                        cd_error *e);
void cd_head_free(cd_head *h);
const char *cd_head_kind_name(cd_head_kind k);
int cd_head_kind_parse(const char *s); /* "prompt" / "linear"; -1 otherwise */

/* -1 (e set) only when a prompt head's tower buffers cannot be allocated at its first pass. */
int cd_head_forward(cd_head *h, cd_error *e);
/* Z made current for the parameters for predictions: the prompt head runs its text tower only
 * when the parameters differ from those Z was last computed from (an evaluation of val and
 * test, or Z set by a stacked tower pass, costs no second pass). Training steps call
 * cd_head_forward, which always runs it, for the activations their backward needs. */
int cd_head_refresh(cd_head *h, cd_error *e);
/* 1 when the prompt head's Z is that of its current parameters. */
int cd_head_current(const cd_head *h);
/* grad [n_params] += d L / d params from dZ [C,E] and dbias [C] (ignored by the prompt head). */
void cd_head_backward(cd_head *h, const double *dZ, const double *dbias, float *grad);

/* The prompt head's two ends around the text tower, for a tower run elsewhere (lockstep):
 * Z from the class text features t [C,D] of the head's current parameters (recorded as the
 * parameters of Z); and dZ back to h->dtxt [C,D] = d L / d t. */
void cd_head_forward_from_text(cd_head *h, const float *t);
void cd_head_backward_to_text(cd_head *h, const double *dZ);

/* cd_head_refresh, then for rows x [N,E]: pred [N] (argmax), and with labels the true-class
 * probability p_true [N] and cross-entropy ce [N]; any output may be NULL. Works in chunks,
 * so memory stays O(chunk · C) whatever N. */
int cd_head_predict(cd_head *h, const float *x, int N, const int32_t *labels, int32_t *pred,
                    double *p_true, double *ce, cd_error *e);

#endif
