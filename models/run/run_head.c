/* The head a (method, seed) pair trains: the run's prompt learner cloned for the seed (behind
 * the run's projection, if any) or a linear probe; used by every trained method and by JTT's
 * first stage. */
#include <string.h>

#include "models/run/run_internal.h"

static int clone_prompt(cd_prompt *dst, const cd_run_text *t, int seed, cd_error *e) {
  const cd_prompt *s = &t->prompt;
  if (cd_prompt_init(dst, s->n_cls, s->n_ctx, s->width, s->csc, s->position, s->tokens,
                     s->context, s->name_lens, e))
    return -1;
  if (t->ctx_random) cd_prompt_init_random(dst, (uint64_t)seed, 0.02f);
  else memcpy(dst->ctx, s->ctx, sizeof(float) * s->ctx_numel);
  return 0;
}

int cd_run_head_init(const cd_run_state *st, int seed, cd_prompt *prompt, cd_head *head, cd_error *e) {
  if (st->cfg->head == CD_HEAD_PROMPT)
    return clone_prompt(prompt, st->text, seed, e) ||
                   cd_head_init_prompt_projected(head, st->m, prompt, st->P ? &st->proj : NULL, e)
               ? -1
               : 0;
  return cd_head_init_linear(head, st->class_feat, st->C, st->E, st->m->logit_scale_log, e);
}
