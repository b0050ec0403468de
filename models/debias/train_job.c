/* One training job (see train_job.h). */
#include "models/debias/train_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The job's prompt from c->layout: its tokens, and its context or one drawn from the seed
 * (what cd_prompt_setup would give from the spec). */
static int clone_prompt(cd_prompt *dst, const cd_train_job_config *c, cd_error *e) {
  const cd_prompt *s = c->layout;
  if (cd_prompt_init(dst, s->n_cls, s->n_ctx, s->width, s->csc, s->position, s->tokens, s->context, s->name_lens, e))
    return -1;
  if (c->prompt.ctx_init && *c->prompt.ctx_init) memcpy(dst->ctx, s->ctx, sizeof(float) * s->ctx_numel);
  else cd_prompt_init_random(dst, c->seed, 0.02f);
  return 0;
}

static int head_init(cd_train_job *j, cd_error *e) {
  const cd_train_job_config *c = &j->cfg;
  if (c->head == CD_HEAD_LINEAR)
    return cd_head_init_linear(&j->head, c->class_feat, c->prompt.n_cls, c->E, c->m->logit_scale_log, e);
  cd_prompt_spec spec = c->prompt;
  spec.seed = c->seed;
  if (c->layout ? clone_prompt(&j->prompt, c, e) : cd_prompt_setup(&j->prompt, c->m, &spec, e)) return -1;
  return cd_head_init_prompt_projected(&j->head, c->m, &j->prompt, c->proj, e);
}

void cd_train_job_meta(const cd_train_job *j, int epoch, cd_prompt_ckpt_meta *meta) {
  const cd_train_job_config *c = &j->cfg;
  const cd_prompt *p = &j->prompt;
  memset(meta, 0, sizeof *meta);
  *meta = (cd_prompt_ckpt_meta){(char **)c->prompt.classnames, c->prompt.n_cls, p->n_ctx, p->csc, p->width,
                                p->position, "", "", j->opt.step, epoch, c->seed, c->batch, c->optim, c->dims, "",
                                c->precision};
  snprintf(meta->ctx_init, sizeof meta->ctx_init, "%s", c->prompt.ctx_init ? c->prompt.ctx_init : "");
  snprintf(meta->model, sizeof meta->model, "%s", c->model_path ? c->model_path : "");
  snprintf(meta->model_checksum, sizeof meta->model_checksum, "%s", c->model_checksum ? c->model_checksum : "");
}

/* Group weights beside the checkpoint, so that a resumed tune continues them. */
static int weights_init(cd_train_job *j, cd_error *e) {
  const cd_train_job_config *c = &j->cfg;
  j->weighted = c->reweight.kind != CD_REWEIGHT_NONE;
  if (!j->weighted) return 0;
  if (cd_reweight_init(&j->rw, &c->reweight, c->group, c->N, c->G, e)) return -1;
  if (c->ckpt && cd_reweight_state_path(c->ckpt, j->state_path, sizeof j->state_path))
    return cd_fail(e, "%s: path too long", c->ckpt);
  return 0;
}

int cd_train_job_init(cd_train_job *j, const cd_train_job_config *c, cd_error *e) {
  memset(j, 0, sizeof *j);
  j->cfg = *c;
  if (c->head == CD_HEAD_PROMPT && c->m && c->m->text_rows != c->precision)
    return cd_fail(e, "training job: precision %s asked, the text tower was loaded at %s", cd_precision_name(c->precision),
                   cd_precision_name(c->m->text_rows));
  if (head_init(j, e) || cd_optim_init(&j->opt, &c->optim, j->head.n_params, e) ||
      (c->resume && cd_prompt_ckpt_load_state(c->resume, &j->prompt, &j->opt, e)) || weights_init(j, e)) {
    cd_train_job_free(j);
    return -1;
  }
  return 0;
}

/* A fresh job: the initial head's mean cross-entropy and the group weights from its
 * true-class probabilities (saved as epoch 0 beside a checkpoint). */
static int start_fresh(cd_train_job *j, cd_error *e) {
  const cd_train_job_config *c = &j->cfg;
  int n = c->N;
  if (!j->weighted && !c->want_start_loss) return 0;
  double *pt = cd_malloc(sizeof(double) * (size_t)n * 2, e);
  if (!pt || cd_head_predict(&j->head, c->x, n, c->y, NULL, pt, pt + n, e)) return free(pt), -1;
  j->start_loss = 0;
  for (int i = 0; i < n; i++) j->start_loss += pt[n + i] / n;
  if (j->weighted) cd_reweight_start(&j->rw, pt);
  free(pt);
  return j->weighted && j->state_path[0] ? cd_reweight_save(&j->rw, j->state_path, 0, e) : 0;
}

static int start_resumed(cd_train_job *j, int start_epoch, cd_error *e) {
  char old[4200];
  if (!j->weighted || !j->cfg.resume) return 0; /* the caller restored j->rw */
  if (cd_reweight_state_path(j->cfg.resume, old, sizeof old)) return cd_fail(e, "%s: path too long", j->cfg.resume);
  return cd_reweight_load(&j->rw, old, start_epoch, e);
}

static void batch_weights(void *user, const int *idx, int B, const double *ce, const double *p_true, float *w,
                          double *denom) {
  cd_reweight_batch(&((cd_train_job *)user)->rw, idx, B, ce, p_true, w, denom);
}

/* The weights' epoch step (and their state file), then the caller's hook. The session writes
 * the checkpoint after this, so the state it names is on disk first. */
static int epoch_end(void *user, int epoch, double mean_loss, cd_error *e) {
  cd_train_job *j = user;
  if (j->weighted) {
    cd_reweight_epoch_end(&j->rw);
    if (j->state_path[0] && cd_reweight_save(&j->rw, j->state_path, epoch, e)) return -1;
  }
  return j->cfg.epoch_end ? j->cfg.epoch_end(j->cfg.user, epoch, mean_loss, e) : 0;
}

int cd_train_job_begin(cd_train_job *j, int start_epoch, cd_error *e) {
  const cd_train_job_config *c = &j->cfg;
  if (start_epoch == 0 ? start_fresh(j, e) : start_resumed(j, start_epoch, e)) return -1;
  cd_tune_data d = {c->x, c->y, c->sample_w, c->N, c->batch, c->seed};
  memset(&j->hk, 0, sizeof j->hk);
  j->hk.batch_weights = j->weighted ? batch_weights : NULL;
  j->hk.epoch_end = epoch_end;
  j->hk.user = j;
  j->hk.progress_label = c->progress_label;
  j->hk.epoch_end_concurrent = c->epoch_end_concurrent;
  if (c->ckpt && c->head == CD_HEAD_PROMPT) {
    cd_train_job_meta(j, start_epoch, &j->meta);
    j->hk.ckpt_path = c->ckpt;
    j->hk.meta = &j->meta;
  }
  return cd_tune_session_init(&j->s, &j->head, &j->opt, &d, start_epoch, e);
}

int cd_train_job_run(cd_train_job *j, cd_error *e) {
  const cd_train_job_config *c = &j->cfg;
  const char *ckpt = j->hk.ckpt_path;
  if (ckpt && !c->resume) cd_tune_diverged_clear(ckpt); /* a fresh training replaces the checkpoint */
  if (ckpt && j->s.epoch >= c->optim.max_epoch && cd_prompt_ckpt_save(ckpt, &j->meta, &j->prompt, &j->opt, e))
    return -1;
  if (!cd_tune_session_run(&j->s, c->optim.max_epoch, &j->hk, e)) return 0;
  if (!j->s.diverged || !ckpt) return -1;
  cd_error keep = *e;
  if (cd_tune_diverged_save(ckpt, &j->s, keep.msg, e)) return -1;
  snprintf(e->msg, sizeof e->msg, "%.700s; %s keeps epoch %d, the last finished one, marked diverged", keep.msg, ckpt,
           j->s.epoch);
  return -1;
}

void cd_train_job_free(cd_train_job *j) {
  cd_tune_session_free(&j->s);
  cd_reweight_free(&j->rw);
  cd_optim_free(&j->opt);
  cd_head_free(&j->head);
  cd_prompt_free(&j->prompt);
  memset(j, 0, sizeof *j);
}

int cd_train_job_resume_from(cd_train_job_config *c, const char *ckpt, int keep_max_epoch,
                             cd_prompt_ckpt_meta *old, cd_error *e) {
  if (cd_tune_diverged_refuse(ckpt, e) || cd_prompt_ckpt_load_meta(ckpt, old, e) ||
      cd_prompt_ckpt_refuse_projected(ckpt, old, e))
    return -1;
  int same = old->n_cls == c->prompt.n_cls;
  for (int k = 0; same && k < c->prompt.n_cls; k++) same = !strcmp(old->classnames[k], c->prompt.classnames[k]);
  if (!same) return cd_fail(e, "tune: --resume %s was trained on other class names", ckpt);
  if (old->precision != c->precision)
    return cd_fail(e, "tune: --resume %s was trained with --precision %s, this run asks for %s; a checkpoint is never "
                      "continued at another precision (pass --precision %s, or start afresh)", ckpt,
                   cd_precision_name(old->precision), cd_precision_name(c->precision), cd_precision_name(old->precision));
  int max_epoch = keep_max_epoch ? c->optim.max_epoch : old->optim.max_epoch;
  c->optim = old->optim;
  c->optim.max_epoch = max_epoch;
  c->prompt.n_ctx = old->n_ctx, c->prompt.csc = old->csc, c->prompt.position = old->position;
  c->prompt.ctx_init = old->ctx_init[0] ? old->ctx_init : NULL;
  c->seed = old->seed, c->batch = old->batch;
  c->resume = ckpt;
  c->start_epoch = old->epoch;
  return 0;
}
