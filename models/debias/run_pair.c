/* One (method, seed) pair of a run: build the head, train it with the method's weights,
 * evaluate every epoch, keep the selected epoch, write the pair's directory (done.json last).
 * See run.h for the files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/progress.h"
#include "data/datasets/feature_cache.h"
#include "models/debias/run_internal.h"
#include "models/tuning/tune_session.h"

static void pair_free(cd_run_pair_ctx *p) {
  if (p->lines) fclose(p->lines);
  free(p->lines_buf);
  free(p->selected);
  cd_run_eval_free(&p->ev);
  cd_reweight_free(&p->rw);
  cd_optim_free(&p->opt);
  cd_head_free(&p->head);
  cd_prompt_free(&p->prompt);
}

static int clone_prompt(cd_prompt *dst, const cd_run_text *t, int seed, cd_error *e) {
  const cd_prompt *s = &t->prompt;
  if (cd_prompt_init(dst, s->n_cls, s->n_ctx, s->width, s->csc, s->position, s->tokens,
                     s->context, s->name_lens, e))
    return -1;
  if (t->ctx_random) cd_prompt_init_random(dst, (uint64_t)seed, 0.02f);
  else memcpy(dst->ctx, s->ctx, sizeof(float) * s->ctx_numel);
  return 0;
}

static int setup(cd_run_pair_ctx *p, cd_error *e) {
  const cd_run_state *st = p->st;
  const cd_run_config *c = st->cfg;
  if (c->head == CD_HEAD_PROMPT) {
    if (clone_prompt(&p->prompt, st->text, p->seed, e) ||
        cd_head_init_prompt_projected(&p->head, st->m, &p->prompt, st->P ? &st->proj : NULL, e))
      return -1;
  } else if (cd_head_init_linear(&p->head, st->class_feat, st->C, st->E, st->m->logit_scale_log, e)) {
    return -1;
  }
  if (cd_optim_init(&p->opt, &c->optim, p->head.n_params, e) || cd_run_eval_init(&p->ev, st, e))
    return -1;
  p->selected = cd_malloc(sizeof(float) * p->head.n_params, e);
  p->lines = open_memstream(&p->lines_buf, &p->lines_len);
  if (!p->selected || !p->lines) return p->selected ? cd_fail(e, "run: out of memory") : -1;
  p->weight_groups = cd_method_weight_groups(p->method);
  if (!p->weight_groups) return 0;
  int pseudo = !strcmp(p->weight_groups, "pseudo");
  cd_reweight_params rp;
  cd_method_reweight(p->method, &c->debias, &rp);
  return cd_reweight_init(&p->rw, &rp, pseudo ? st->g_pseudo_train : st->g_true_train,
                          st->n_rows[CD_SPLIT_TRAIN], pseudo ? st->G_pseudo : st->G, e);
}

static void write_line(cd_run_pair_ctx *p, int epoch, double loss, double lr) {
  const double *w = p->weight_groups ? p->rw.w : NULL, *pb = p->weight_groups ? p->rw.p_bar : NULL;
  cd_run_write_metrics_line(p->lines, cd_method_name(p->method), p->seed, epoch, loss, lr,
                            p->weight_groups, w, pb, p->rw.G, &p->ev);
}

/* Epoch 0: the initial head's metrics, and the methods' initial weights from its train
 * probabilities. */
static int start(cd_run_pair_ctx *p, cd_error *e) {
  const cd_run_state *st = p->st;
  int n = st->n_rows[CD_SPLIT_TRAIN];
  double *pt = cd_malloc(sizeof(double) * (size_t)n * 2, e), loss = 0;
  if (!pt || cd_head_predict(&p->head, st->xs[CD_SPLIT_TRAIN], n, st->ys[CD_SPLIT_TRAIN], NULL, pt,
                             pt + n, e))
    return free(pt), -1;
  for (int i = 0; i < n; i++) loss += pt[n + i] / n;
  if (p->weight_groups) cd_reweight_start(&p->rw, pt);
  free(pt);
  if (cd_run_evaluate(st, &p->head, &p->ev, e)) return -1;
  write_line(p, 0, loss, NAN);
  return 0;
}

static void batch_weights(void *user, const int *idx, int B, const double *ce, const double *p_true,
                          float *w, double *denom) {
  cd_reweight_batch(&((cd_run_pair_ctx *)user)->rw, idx, B, ce, p_true, w, denom);
}

static int on_epoch(void *user, int epoch, double mean_loss, cd_error *e) {
  cd_run_pair_ctx *p = user;
  const cd_run_config *c = p->st->cfg;
  if (p->weight_groups) cd_reweight_epoch_end(&p->rw);
  if (cd_run_evaluate(p->st, &p->head, &p->ev, e)) return -1;
  write_line(p, epoch, mean_loss, cd_optim_lr_at(&c->optim, epoch - 1));
  int mask = cd_selector_offer(&p->sel, epoch, p->ev.val_pseudo.worst_group_acc, p->ev.val.worst_group_acc);
  if (mask & (1 << c->select)) {
    memcpy(p->selected, p->head.params, sizeof(float) * p->head.n_params);
    p->selected_epoch = epoch;
  }
  snprintf(p->label, sizeof p->label, "%s seed %d  val worst %.3f (pseudo %.3f)", cd_method_name(p->method),
           p->seed, p->ev.val.worst_group_acc, p->ev.val_pseudo.worst_group_acc);
  if (cd_run_pair_save_state(p, epoch, e) || cd_run_save_elapsed(p->st, e)) return -1;
  if (c->on_epoch && c->on_epoch(c->on_epoch_user, p->method, p->seed, epoch))
    return cd_fail(e, "stopped after epoch %d (rerun to continue)", epoch);
  return 0;
}

static int train(cd_run_pair_ctx *p, int start_epoch, cd_error *e) {
  const cd_run_state *st = p->st;
  const cd_run_config *c = st->cfg;
  cd_tune_data d = {st->xs[CD_SPLIT_TRAIN], st->ys[CD_SPLIT_TRAIN], NULL, st->n_rows[CD_SPLIT_TRAIN],
                    c->batch, (uint64_t)p->seed};
  cd_tune_hooks hk = {0};
  hk.batch_weights = p->weight_groups ? batch_weights : NULL;
  hk.epoch_end = on_epoch;
  hk.user = p;
  snprintf(p->label, sizeof p->label, "%s seed %d", cd_method_name(p->method), p->seed);
  hk.progress_label = st->log ? p->label : NULL;
  cd_tune_session s;
  if (cd_tune_session_init(&s, &p->head, &p->opt, &d, start_epoch, e)) return -1;
  int rc = cd_tune_session_run(&s, c->optim.max_epoch, &hk, e);
  p->diverged = s.diverged, p->diverged_epoch = s.diverged_epoch, p->diverged_loss = s.diverged_loss;
  cd_tune_session_free(&s);
  return rc;
}

/* A fresh pair starts at epoch 0; an interrupted one continues after its last saved epoch. */
static int begin(cd_run_pair_ctx *p, int *start_epoch, cd_error *e) {
  cd_selector_init(&p->sel);
  if (cd_run_pair_load_state(p, start_epoch, e)) return -1;
  if (*start_epoch == 0) return start(p, e);
  if (p->st->log)
    fprintf(p->st->log, "%-11s seed %-3d resumed after epoch %d\n", cd_method_name(p->method), p->seed, *start_epoch);
  return 0;
}

int cd_run_pair(const cd_run_state *st, cd_method method, int seed, cd_error *e) {
  double t0 = cd_time_now();
  cd_run_pair_ctx p;
  memset(&p, 0, sizeof p);
  p.st = st;
  p.method = method;
  p.seed = seed;
  char dir[4200];
  int rc = -1, from = 0;
  if (!cd_run_pair_path(dir, &p, "", e) && !cd_make_dirs(dir, e) && !setup(&p, e) && !begin(&p, &from, e)) {
    if (train(&p, from, e)) rc = p.diverged ? CD_RUN_DIVERGED : -1;
    else rc = cd_run_pair_write(&p, cd_time_now() - t0, e) ? -1 : 0;
  }
  if (rc == CD_RUN_DIVERGED) { /* recorded, so that a rerun reports it instead of training again */
    char msg[sizeof e->msg];
    snprintf(msg, sizeof msg, "%s", e->msg);
    if (cd_run_pair_write_diverged(&p, msg, e)) rc = -1;
    else snprintf(e->msg, sizeof e->msg, "%s", msg);
  }
  if (rc) cd_fail_prefix(e, "%s seed %d", cd_method_name(method), seed);
  pair_free(&p);
  return rc;
}
