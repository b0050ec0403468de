/* Lockstep prompt tuning (see tune_lockstep.h). */
#include "models/tuning/tune_lockstep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/pool.h"
#include "core/progress.h"

static int same_prompt(const cd_prompt *a, const cd_prompt *b) {
  if (a->n_cls != b->n_cls || a->n_ctx != b->n_ctx || a->width != b->width || a->csc != b->csc ||
      a->position != b->position || a->context != b->context)
    return 0;
  return !memcmp(a->tokens, b->tokens, sizeof(int32_t) * (size_t)a->n_cls * a->context);
}

/* h can share a tower pass with h0. */
static int shares_pass(const cd_head *h, const cd_head *h0) {
  return h->kind == CD_HEAD_PROMPT && h0->kind == CD_HEAD_PROMPT && h->m == h0->m && same_prompt(h->prompt, h0->prompt);
}

static int heads_compatible(cd_head *const *h, int n) {
  for (int i = 0; i < n; i++)
    if (!shares_pass(h[i], h[0])) return 0;
  return n > 0;
}

int cd_tune_lockstep_compatible(cd_tune_session *const *s, int n) {
  for (int i = 0; i < n; i++)
    if (!shares_pass(s[i]->head, s[0]->head)) return 0;
  return n > 0;
}

int cd_tune_lockstep_refresh(cd_head *const *h, int n, cd_error *e) {
  if (!heads_compatible(h, n)) {
    for (int i = 0; i < n; i++)
      if (cd_head_refresh(h[i], e)) return -1;
    return 0;
  }
  const float **ctx = cd_malloc(sizeof(float *) * (size_t)(n ? n : 1), e);
  cd_head **todo = cd_malloc(sizeof(cd_head *) * (size_t)(n ? n : 1), e);
  int k = 0, rc = ctx && todo ? 0 : -1;
  for (int i = 0; !rc && i < n; i++)
    if (!cd_head_current(h[i])) ctx[k] = h[i]->params, todo[k++] = h[i];
  cd_text_train tt;
  if (!rc && k > 0 && !(rc = cd_text_train_init_copies(&tt, h[0]->m, h[0]->prompt, k, e))) {
    cd_text_train_forward_copies(&tt, h[0]->m, ctx, k);
    size_t CD = (size_t)h[0]->C * h[0]->m->embed_dim;
    for (int i = 0; i < k; i++) cd_head_forward_from_text(todo[i], tt.features + (size_t)i * CD);
    cd_text_train_free(&tt);
  }
  free(ctx), free(todo);
  return rc;
}

/* Where a session is within its epoch. */
typedef struct {
  int b, per_epoch, B, stop;
  int out; /* diverged: left the group */
  double lr, sum;
} lane;

/* The thread plan of a step. A tower whose frozen weights stay in a core's cache (the toy
 * tower: 0.9 MB) is run in parts: the step's copies are cut into parts of `part` copies and
 * each part's forward, losses and backward is one pool item with its own tower buffers (its
 * GEMMs, attention and activations run inline on that thread). A step is then one join
 * instead of about a dozen per layer and direction, each of which cost more than its work at
 * width 96 (about half of a 2-thread run's CPU was workers waiting). A larger tower (a
 * B/32's 150 MB) is one part whose GEMMs split their weight rows over the threads, so the
 * weights are streamed once per step. Each copy's rows are computed alone either way, so the
 * plan never changes the bits. */
enum { PARTS_PER_THREAD = 3 };

typedef struct {
  cd_text_train *tt; /* [n_parts], `part` copies each */
  int part, n_parts;
  const float **ctx; /* [n] contexts of this step's sessions */
  float **grad;      /* [n] their gradients */
  float *dfeat;      /* [n·C, D] d loss / d text features, stacked */
  int *act;          /* [n] sessions in this step */
  lane *lanes;       /* [n] */
} group;

/* Copies per part for n sessions (see the thread plan above). */
static int part_copies(const cd_clip *m, int n) {
  int threads = cd_threads_get();
  if (threads <= 1 || n < 2 || cd_clip_text_weight_bytes(m) > CD_TEXT_CACHED_BYTES) return n > 0 ? n : 1;
  int items = threads * PARTS_PER_THREAD;
  return (n + items - 1) / items;
}

static void group_free(group *g) {
  for (int p = 0; g->tt && p < g->n_parts; p++) cd_text_train_free(&g->tt[p]);
  free(g->tt), free(g->ctx), free(g->grad), free(g->dfeat), free(g->act), free(g->lanes);
}

static int group_init(group *g, cd_tune_session *const *s, int n, int stop_epoch, cd_error *e) {
  memset(g, 0, sizeof *g);
  const cd_head *h = s[0]->head;
  size_t CD = (size_t)h->C * h->m->embed_dim;
  g->part = part_copies(h->m, n);
  g->n_parts = (n + g->part - 1) / g->part;
  g->tt = cd_calloc((size_t)g->n_parts, sizeof(cd_text_train), e);
  g->ctx = cd_malloc(sizeof(float *) * (size_t)n, e);
  g->grad = cd_malloc(sizeof(float *) * (size_t)n, e);
  g->dfeat = cd_malloc(sizeof(float) * CD * (size_t)n, e);
  g->act = cd_malloc(sizeof(int) * (size_t)n, e);
  g->lanes = cd_calloc((size_t)n, sizeof(lane), e);
  if (!g->tt || !g->ctx || !g->grad || !g->dfeat || !g->act || !g->lanes) return group_free(g), -1;
  for (int p = 0; p < g->n_parts; p++)
    if (cd_text_train_init_copies(&g->tt[p], h->m, h->prompt, g->part, e)) return group_free(g), -1;
  for (int i = 0; i < n; i++) {
    lane *l = &g->lanes[i];
    int N = s[i]->data.N;
    l->B = s[i]->data.batch <= N ? s[i]->data.batch : N;
    l->per_epoch = cd_tune_steps_per_epoch(N, l->B);
    l->stop = stop_epoch > 0 ? stop_epoch : s[i]->opt->cfg.max_epoch;
  }
  return 0;
}

/* Sessions taking a step now (starting their epoch's order when at its first batch). */
static int gather_step(group *g, cd_tune_session *const *s, int n) {
  int k = 0;
  for (int i = 0; i < n; i++) {
    lane *l = &g->lanes[i];
    if (s[i]->epoch >= l->stop || l->out) continue;
    if (l->b == 0) {
      l->lr = cd_optim_lr_at(&s[i]->opt->cfg, s[i]->epoch), l->sum = 0;
      cd_tune_epoch_order(s[i]->perm, s[i]->data.N, s[i]->data.seed, s[i]->epoch);
    }
    cd_tune_step_gather(s[i], s[i]->perm + (size_t)l->b * l->B, l->B);
    g->act[k++] = i;
  }
  return k;
}

/* A session diverged: it leaves the group with its message; the others go on. */
static void leave(group *g, int i, cd_error *msgs, const cd_error *why) {
  g->lanes[i].out = 1;
  if (msgs) msgs[i] = *why;
}

/* One pool run over the parts of a step's k sessions: the stacked tower forward of each part,
 * and with losses set its sessions' losses and the backward into their gradients. */
typedef struct {
  group *g;
  cd_tune_session *const *s;
  const cd_tune_hooks *const *hk;
  const int *list; /* [k] sessions, in the parts' order */
  int k, losses;
  double *loss;
  cd_error *msgs;
  int *failed;     /* [n_parts] position in list of a part's error, or -1 */
  cd_error *errs;  /* [n_parts] */
} parts_job;

/* The losses of list[j0..j1) (copy j - j0 of tower t) and their gradients down to the
 * stacked text features, then the tower's backward into every session's gradient (a session
 * that diverged in this step contributes a zero gradient that nothing reads). Returns the
 * position of a session whose step failed (e filled), or -1. */
static int part_losses(const parts_job *pj, cd_text_train *t, int j0, int j1, cd_error *e) {
  group *g = pj->g;
  cd_head *h0 = pj->s[0]->head;
  size_t CD = (size_t)h0->C * h0->m->embed_dim;
  for (int j = j0; j < j1; j++) {
    int i = pj->list[j];
    cd_tune_session *si = pj->s[i];
    cd_head *h = si->head;
    lane *l = &g->lanes[i];
    cd_head_forward_from_text(h, t->features + (size_t)(j - j0) * CD);
    int rc = cd_tune_step_loss(si, si->perm + (size_t)l->b * l->B, l->B, pj->hk[i], &pj->loss[j], e);
    if (rc == CD_TUNE_STEP_DIVERGED) {
      cd_error why;
      cd_tune_session_diverged(si, pj->loss[j], &why);
      leave(g, i, pj->msgs, &why);
      memset(g->dfeat + (size_t)j * CD, 0, sizeof(float) * CD);
    } else if (rc) {
      return j;
    } else {
      cd_head_backward_to_text(h, si->dZ);
      memcpy(g->dfeat + (size_t)j * CD, h->dtxt, sizeof(float) * CD);
    }
    memset(si->grad, 0, sizeof(float) * h->n_params);
  }
  cd_text_train_backward_copies(t, h0->m, g->dfeat + (size_t)j0 * CD, g->grad + j0, j1 - j0);
  return -1;
}

static void part_item(void *ctx, int p, int worker) {
  const parts_job *pj = ctx;
  group *g = pj->g;
  cd_head *h0 = pj->s[0]->head;
  int j0 = p * g->part, j1 = j0 + g->part < pj->k ? j0 + g->part : pj->k;
  cd_text_train *t = &g->tt[p];
  for (int j = j0; j < j1; j++) g->ctx[j] = pj->s[pj->list[j]]->head->params, g->grad[j] = pj->s[pj->list[j]]->grad;
  cd_text_train_forward_copies(t, h0->m, g->ctx + j0, j1 - j0);
  if (pj->losses) {
    pj->failed[p] = part_losses(pj, t, j0, j1, &pj->errs[p]);
    return;
  }
  size_t CD = (size_t)h0->C * h0->m->embed_dim;
  for (int j = j0; j < j1; j++) cd_head_forward_from_text(pj->s[pj->list[j]]->head, t->features + (size_t)(j - j0) * CD);
}

/* Runs the parts of sessions list[0..k): forward only (Z of their heads for their current
 * parameters, the bits of cd_head_forward, so that the predictions of their epoch hooks run
 * no tower of their own), or with losses the whole step but the optimiser. A session whose
 * step failed: *failed = its index, e filled, -1. */
static int run_parts(group *g, cd_tune_session *const *s, const cd_tune_hooks *const *hk, const int *list,
                     int k, double *loss, int *failed, cd_error *msgs, cd_error *e) {
  if (k == 0) return 0;
  int np = (k + g->part - 1) / g->part, fail[np];
  cd_error *errs = loss ? cd_malloc(sizeof(cd_error) * (size_t)np, e) : NULL;
  if (loss && !errs) return -1;
  parts_job pj = {g, s, hk, list, k, loss != NULL, loss, msgs, fail, errs};
  for (int p = 0; p < np; p++) fail[p] = -1;
  cd_pool_run(np, 0, part_item, &pj);
  int rc = 0;
  for (int p = 0; p < np && !rc; p++)
    if (fail[p] >= 0) *failed = list[fail[p]], *e = errs[p], rc = -1;
  free(errs);
  return rc;
}

/* The epoch ends of sessions g->act[0..n): the sessions' hooks evaluate and write their
 * files, in the lockstep demo about a fifth of the wall time, most of it waiting for fsync.
 * When every hook allows it (epoch_end_concurrent), they run as pool items, each session on
 * one thread; their outcomes are then taken in order, as one after the other would. */
typedef struct {
  cd_tune_session *const *s;
  const cd_tune_hooks *const *hk;
  const group *g;
  int *rc;
  cd_error *errs;
} end_job;

static void end_item(void *ctx, int j, int worker) {
  const end_job *ej = ctx;
  int i = ej->g->act[j];
  const lane *l = &ej->g->lanes[i];
  ej->rc[j] = cd_tune_session_end_epoch(ej->s[i], ej->hk[i], l->sum / l->per_epoch, &ej->errs[j]);
}

static int end_epochs(group *g, cd_tune_session *const *s, const cd_tune_hooks *const *hk, int n, int *failed,
                      cd_error *msgs, cd_error *e) {
  int concurrent = n > 1 && cd_threads_get() > 1;
  for (int j = 0; j < n && concurrent; j++) concurrent = hk[g->act[j]] && hk[g->act[j]]->epoch_end_concurrent;
  int *rc = concurrent ? cd_malloc(sizeof(int) * (size_t)n, e) : NULL;
  cd_error *errs = concurrent ? cd_malloc(sizeof(cd_error) * (size_t)n, e) : NULL;
  if (concurrent && (!rc || !errs)) return free(rc), free(errs), -1;
  if (concurrent) {
    end_job ej = {s, hk, g, rc, errs};
    cd_pool_run(n, 0, end_item, &ej);
  }
  int out = 0;
  for (int j = 0; j < n && !out; j++) {
    int i = g->act[j];
    cd_error *ej = concurrent ? &errs[j] : e;
    int r = concurrent ? rc[j] : cd_tune_session_end_epoch(s[i], hk[i], g->lanes[i].sum / g->lanes[i].per_epoch, e);
    if (!r) continue;
    if (!s[i]->diverged) {
      *failed = i, out = -1;
      if (ej != e) *e = *ej;
      continue;
    }
    leave(g, i, msgs, ej);
  }
  free(rc), free(errs);
  return out;
}

/* Optimiser steps and step hooks; then the sessions at their epoch's last batch get their Z
 * in one stacked pass and end their epochs. */
static int step_end(group *g, cd_tune_session *const *s, const cd_tune_hooks *const *hk, int k,
                    const double *loss, int *failed, cd_error *msgs, cd_error *e) {
  int n_end = 0;
  for (int j = 0; j < k; j++) {
    cd_tune_session *si = s[g->act[j]];
    lane *l = &g->lanes[g->act[j]];
    if (l->out) continue;
    cd_optim_step(si->opt, si->head->params, si->grad, l->lr);
    si->steps++;
    si->last_loss = loss[j];
    l->sum += loss[j];
    if (hk[g->act[j]] && hk[g->act[j]]->step_end) hk[g->act[j]]->step_end(hk[g->act[j]]->user, si->steps, loss[j]);
    if (++l->b < l->per_epoch) continue;
    l->b = 0;
    g->act[n_end++] = g->act[j]; /* j >= n_end: entries still to be read are not overwritten */
  }
  if (run_parts(g, s, hk, g->act, n_end, NULL, failed, msgs, e)) return -1;
  return end_epochs(g, s, hk, n_end, failed, msgs, e);
}

int cd_tune_lockstep_run(cd_tune_session *const *s, const cd_tune_hooks *const *hk, int n,
                         int stop_epoch, const char *progress_label, int *failed, cd_error *msgs,
                         cd_error *e) {
  *failed = -1;
  if (!cd_tune_lockstep_compatible(s, n))
    return cd_fail(e, "tune: lockstep needs prompt heads of one prompt layout on one model");
  group g;
  double *loss = cd_malloc(sizeof(double) * (size_t)n, e);
  if (!loss || group_init(&g, s, n, stop_epoch, e)) return free(loss), -1;
  size_t total = 0, done = 0;
  for (int i = 0; i < n; i++)
    if (s[i]->epoch < g.lanes[i].stop) total += (size_t)(g.lanes[i].stop - s[i]->epoch) * g.lanes[i].per_epoch;
  cd_progress pr;
  char label[256];
  if (progress_label) cd_progress_start(&pr, progress_label, "pair-step", total);
  int rc = 0, k;
  while (!rc && (k = gather_step(&g, s, n)) > 0) {
    rc = run_parts(&g, s, hk, g.act, k, loss, failed, msgs, e) || step_end(&g, s, hk, k, loss, failed, msgs, e) ? -1 : 0;
    done += (size_t)k;
    if (progress_label) {
      snprintf(label, sizeof label, "%s  %d in step  epoch %d/%d ", progress_label, k,
               s[g.act[0]]->epoch + (g.lanes[g.act[0]].b > 0), g.lanes[g.act[0]].stop);
      pr.label = label;
      cd_progress_update(&pr, done);
    }
  }
  if (progress_label) cd_progress_finish(&pr);
  group_free(&g);
  free(loss);
  return rc;
}
