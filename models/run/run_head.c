/* The training job of a (method, seed) pair: the run's prompt learner for the seed (behind the
 * run's projection, if any) or a linear probe, on the training split; used by every trained
 * method and by JTT's first stage. */
#include <string.h>

#include "models/run/run_internal.h"

void cd_run_job_config(const cd_run_state *st, int seed, cd_train_job_config *c) {
  const cd_run_config *cfg = st->cfg;
  memset(c, 0, sizeof *c);
  c->x = st->xs[CD_SPLIT_TRAIN], c->y = st->ys[CD_SPLIT_TRAIN], c->N = st->n_rows[CD_SPLIT_TRAIN];
  c->head = cfg->head;
  c->m = st->m;
  c->prompt = (cd_prompt_spec){st->classnames, st->C, cfg->n_ctx, cfg->ctx_init, cfg->csc, cfg->position, 0};
  c->layout = &st->text->prompt;
  c->proj = st->P ? &st->proj : NULL;
  c->class_feat = st->class_feat, c->E = st->E;
  c->optim = cfg->optim, c->batch = cfg->batch, c->seed = (uint64_t)seed;
  c->model_path = cfg->model, c->model_checksum = st->model_checksum, c->dims = cfg->dims;
  c->precision = cfg->precision;
}
