/* One (method, seed) pair of a run: build the head, train it with the method's weights,
 * evaluate every epoch, keep the selected epoch, write the pair's directory (done.json last).
 * See run.h for the files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/progress.h"
#include "data/datasets/feature_cache.h"
#include "models/run/run_internal.h"
#include "models/tuning/tune_lockstep.h"
#include "models/tuning/tune_session.h"

static void pair_free(cd_run_pair_ctx *p) {
  if (p->lines) fclose(p->lines);
  free(p->lines_buf);
  free(p->selected);
  free(p->sample_w);
  cd_run_eval_free(&p->ev);
  cd_reweight_free(&p->rw);
  cd_optim_free(&p->opt);
  cd_head_free(&p->head);
  cd_prompt_free(&p->prompt);
}

static int setup(cd_run_pair_ctx *p, cd_error *e) {
  const cd_run_state *st = p->st;
  const cd_run_config *c = st->cfg;
  if (p->method == CD_METHOD_JTT && !p->sample_w && cd_run_jtt_weights(st, p->seed, &p->sample_w, &p->jtt_errors, e))
    return -1;
  if (cd_run_head_init(st, p->seed, &p->prompt, &p->head, e)) return -1;
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

/* The pair's training data and hooks (its batch order follows its seed). */
static void session_inputs(cd_run_pair_ctx *p, cd_tune_data *d, cd_tune_hooks *hk) {
  const cd_run_state *st = p->st;
  *d = (cd_tune_data){st->xs[CD_SPLIT_TRAIN], st->ys[CD_SPLIT_TRAIN], p->sample_w, st->n_rows[CD_SPLIT_TRAIN],
                      st->cfg->batch, (uint64_t)p->seed};
  memset(hk, 0, sizeof *hk);
  hk->batch_weights = p->weight_groups ? batch_weights : NULL;
  hk->epoch_end = on_epoch;
  hk->user = p;
  snprintf(p->label, sizeof p->label, "%s seed %d", cd_method_name(p->method), p->seed);
  hk->progress_label = st->log ? p->label : NULL;
}

static void keep_divergence(cd_run_pair_ctx *p, const cd_tune_session *s) {
  p->diverged = s->diverged, p->diverged_epoch = s->diverged_epoch, p->diverged_loss = s->diverged_loss;
}

static int train(cd_run_pair_ctx *p, int start_epoch, cd_error *e) {
  cd_tune_data d;
  cd_tune_hooks hk;
  session_inputs(p, &d, &hk);
  cd_tune_session s;
  if (cd_tune_session_init(&s, &p->head, &p->opt, &d, start_epoch, e)) return -1;
  int rc = cd_tune_session_run(&s, p->st->cfg->optim.max_epoch, &hk, e);
  keep_divergence(p, &s);
  cd_tune_session_free(&s);
  return rc;
}

/* A fresh pair starts at epoch 0; an interrupted one continues after its last saved epoch
 * (load, then begin). */
static int load(cd_run_pair_ctx *p, int *start_epoch, cd_error *e) {
  cd_selector_init(&p->sel);
  return cd_run_pair_load_state(p, start_epoch, e);
}

static int begin(cd_run_pair_ctx *p, int start_epoch, cd_error *e) {
  if (start_epoch == 0) return start(p, e);
  if (p->st->log)
    fprintf(p->st->log, "%-11s seed %-3d resumed after epoch %d\n", cd_method_name(p->method), p->seed, start_epoch);
  return 0;
}

/* diverged.json from the message in e (kept in e), so that a rerun reports the pair instead
 * of training it again. */
static int record_divergence(cd_run_pair_ctx *p, cd_error *e) {
  char msg[sizeof e->msg];
  snprintf(msg, sizeof msg, "%s", e->msg);
  if (cd_run_pair_write_diverged(p, msg, e)) return -1;
  snprintf(e->msg, sizeof e->msg, "%s", msg);
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
  if (!cd_run_pair_path(dir, &p, "", e) && !cd_make_dirs(dir, e) && !setup(&p, e) && !load(&p, &from, e) &&
      !begin(&p, from, e)) {
    if (train(&p, from, e)) rc = p.diverged ? CD_RUN_DIVERGED : -1;
    else rc = cd_run_pair_write(&p, cd_time_now() - t0, e) ? -1 : 0;
  }
  if (rc == CD_RUN_DIVERGED && record_divergence(&p, e)) rc = -1;
  if (rc) cd_fail_prefix(e, "%s seed %d", cd_method_name(method), seed);
  pair_free(&p);
  return rc;
}

/* ---- lockstep: the pairs of a run trained together (models/tuning/tune_lockstep.h) ---- */

typedef struct {
  cd_run_pair_ctx *p;
  cd_tune_session *s;
  cd_tune_session **sp;
  cd_head **hp;
  cd_tune_hooks *hk;
  const cd_tune_hooks **hkp;
  int *from;
  int n, n_sessions;
} lockstep_pairs;

static void lockstep_free(lockstep_pairs *g) {
  for (int i = 0; i < g->n_sessions; i++) cd_tune_session_free(&g->s[i]);
  for (int i = 0; g->p && i < g->n; i++) pair_free(&g->p[i]);
  free(g->p), free(g->s), free(g->sp), free(g->hp), free(g->hk), free(g->hkp), free(g->from);
}

static int lockstep_fail(const cd_run_pair_ctx *p, cd_error *e) {
  return cd_fail_prefix(e, "%s seed %d", cd_method_name(p->method), p->seed), -1;
}

/* JTT's first stages of every JTT pair, in lockstep (the seeds' per-sample weights). */
static int jtt_stages(lockstep_pairs *g, cd_error *e) {
  int seeds[CD_METHOD_COUNT * CD_RUN_MAX_LIST], errors[CD_METHOD_COUNT * CD_RUN_MAX_LIST], k = 0;
  float *w[CD_METHOD_COUNT * CD_RUN_MAX_LIST];
  for (int i = 0; i < g->n; i++)
    if (g->p[i].method == CD_METHOD_JTT) seeds[k++] = g->p[i].seed;
  if (k == 0 || cd_run_jtt_weights_lockstep(g->p[0].st, seeds, k, w, errors, e)) return k ? -1 : 0;
  for (int i = 0, j = 0; i < g->n; i++)
    if (g->p[i].method == CD_METHOD_JTT) g->p[i].sample_w = w[j], g->p[i].jtt_errors = errors[j++];
  return 0;
}

/* Every pair's directory, head, optimiser, weights and resume state, and its session. */
static int lockstep_setup(lockstep_pairs *g, const cd_run_state *st, const cd_method *methods,
                          const int *seeds, cd_error *e) {
  int n = g->n;
  g->p = cd_calloc((size_t)n, sizeof *g->p, e);
  g->s = cd_calloc((size_t)n, sizeof *g->s, e);
  g->sp = cd_calloc((size_t)n, sizeof *g->sp, e);
  g->hp = cd_calloc((size_t)n, sizeof *g->hp, e);
  g->hk = cd_calloc((size_t)n, sizeof *g->hk, e);
  g->hkp = cd_calloc((size_t)n, sizeof *g->hkp, e);
  g->from = cd_calloc((size_t)n, sizeof *g->from, e);
  if (!g->p || !g->s || !g->sp || !g->hp || !g->hk || !g->hkp || !g->from) return -1;
  char dir[4200];
  int fresh = 0;
  for (int i = 0; i < n; i++) g->p[i].st = st, g->p[i].method = methods[i], g->p[i].seed = seeds[i];
  if (jtt_stages(g, e)) return -1;
  for (int i = 0; i < n; i++) {
    cd_run_pair_ctx *p = &g->p[i];
    if (cd_run_pair_path(dir, p, "", e) || cd_make_dirs(dir, e) || setup(p, e) || load(p, &g->from[i], e))
      return lockstep_fail(p, e);
    if (g->from[i] == 0) g->hp[fresh++] = &p->head;
  }
  /* the fresh pairs' starting Z in one stacked pass: their epoch-0 evaluations run no tower */
  if (cd_tune_lockstep_refresh(g->hp, fresh, e)) return -1;
  for (int i = 0; i < n; i++)
    if (begin(&g->p[i], g->from[i], e)) return lockstep_fail(&g->p[i], e);
  for (int i = 0; i < n; i++, g->n_sessions++) {
    cd_tune_data d;
    session_inputs(&g->p[i], &d, &g->hk[i]);
    g->hk[i].progress_label = NULL; /* one line for the group */
    g->hkp[i] = &g->hk[i];
    g->sp[i] = &g->s[i];
    if (cd_tune_session_init(&g->s[i], &g->p[i].head, &g->p[i].opt, &d, g->from[i], e))
      return lockstep_fail(&g->p[i], e);
  }
  return 0;
}

/* Each pair's files (wall_seconds: the group's, as its pairs trained at the same time), or
 * its diverged.json. */
/* The selected parameters' Z of every finished pair in one stacked pass (each head's params
 * hold the selected ones for the pass, then the last ones again), so that the predictions
 * cd_run_pair_write makes of them run no tower. */
static int refresh_selected(lockstep_pairs *g, cd_error *e) {
  size_t total = 0;
  int k = 0;
  for (int i = 0; i < g->n; i++) total += g->s[i].diverged ? 0 : g->p[i].head.n_params;
  float *last = cd_malloc(sizeof(float) * (total ? total : 1), e), *at = last;
  if (!last) return -1;
  for (int i = 0; i < g->n; i++) {
    cd_head *h = &g->p[i].head;
    if (g->s[i].diverged) continue;
    memcpy(at, h->params, sizeof(float) * h->n_params), at += h->n_params;
    memcpy(h->params, g->p[i].selected, sizeof(float) * h->n_params);
    g->hp[k++] = h;
  }
  int rc = cd_tune_lockstep_refresh(g->hp, k, e);
  at = last;
  for (int i = 0; i < g->n; i++) {
    cd_head *h = &g->p[i].head;
    if (g->s[i].diverged) continue;
    memcpy(h->params, at, sizeof(float) * h->n_params), at += h->n_params;
  }
  free(last);
  return rc;
}

static int lockstep_write(lockstep_pairs *g, const cd_error *msgs, double seconds, int *status, cd_error *e) {
  if (refresh_selected(g, e)) return -1;
  for (int i = 0; i < g->n; i++) {
    cd_run_pair_ctx *p = &g->p[i];
    keep_divergence(p, &g->s[i]);
    status[i] = p->diverged ? CD_RUN_DIVERGED : 0;
    if (p->diverged) *e = msgs[i];
    if (p->diverged ? record_divergence(p, e) : cd_run_pair_write(p, seconds, e)) return lockstep_fail(p, e);
  }
  return 0;
}

int cd_run_pairs_lockstep(const cd_run_state *st, const cd_method *methods, const int *seeds, int n,
                          int *status, cd_error *e) {
  double t0 = cd_time_now();
  lockstep_pairs g = {0};
  g.n = n;
  cd_error *msgs = cd_calloc((size_t)n, sizeof *msgs, e);
  int rc = msgs ? lockstep_setup(&g, st, methods, seeds, e) : -1, failed = -1;
  char label[64];
  snprintf(label, sizeof label, "lockstep %d pairs", n);
  if (!rc && st->log) fprintf(st->log, "%d (method, seed) pairs trained in lockstep\n", n);
  if (!rc && cd_tune_lockstep_run(g.sp, g.hkp, n, st->cfg->optim.max_epoch, st->log ? label : NULL, &failed, msgs, e))
    rc = failed >= 0 ? lockstep_fail(&g.p[failed], e) : -1;
  if (!rc) rc = lockstep_write(&g, msgs, cd_time_now() - t0, status, e);
  lockstep_free(&g);
  free(msgs);
  return rc;
}
