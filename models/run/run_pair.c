/* One (method, seed) pair of a run: build the head, train it with the method's weights,
 * evaluate every epoch, keep the selected epoch, write the pair's directory (done.json last).
 * See run.h for the files. */
#include <math.h>
#include <pthread.h>
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
  cd_train_job_free(&p->job);
}

static int on_epoch(void *user, int epoch, double mean_loss, cd_error *e);

/* The pair's job: the run's head for the seed, the method's weights (JTT's from its first
 * stage, the group weights of dpt, the oracle and GroupDRO), its evaluation and files. */
static int setup(cd_run_pair_ctx *p, cd_error *e) {
  const cd_run_state *st = p->st;
  const cd_run_config *c = st->cfg;
  if (p->method == CD_METHOD_JTT && !p->sample_w && cd_run_jtt_weights(st, p->seed, &p->sample_w, &p->jtt_errors, e))
    return -1;
  cd_train_job_config jc;
  cd_run_job_config(st, p->seed, &jc);
  jc.sample_w = p->sample_w;
  p->weight_groups = cd_method_weight_groups(p->method);
  if (p->weight_groups) {
    int pseudo = !strcmp(p->weight_groups, "pseudo");
    cd_method_reweight(p->method, &c->debias, &jc.reweight);
    jc.group = pseudo ? st->g_pseudo_train : st->g_true_train;
    jc.G = pseudo ? st->G_pseudo : st->G;
  }
  jc.epoch_end = on_epoch;
  jc.user = p;
  jc.epoch_end_concurrent = 1; /* on_epoch locks what the pairs share */
  jc.want_start_loss = 1;
  snprintf(p->label, sizeof p->label, "%s seed %d", cd_method_name(p->method), p->seed);
  jc.progress_label = st->log ? p->label : NULL;
  if (cd_train_job_init(&p->job, &jc, e) || cd_run_eval_init(&p->ev, st, e)) return -1;
  p->selected = cd_malloc(sizeof(float) * p->job.head.n_params, e);
  p->lines = open_memstream(&p->lines_buf, &p->lines_len);
  if (!p->selected || !p->lines) return p->selected ? cd_fail(e, "run: out of memory") : -1;
  return 0;
}

static void write_line(cd_run_pair_ctx *p, int epoch, double loss, double lr) {
  const double *w = p->weight_groups ? p->job.rw.w : NULL, *pb = p->weight_groups ? p->job.rw.p_bar : NULL;
  cd_run_write_metrics_line(p->lines, cd_method_name(p->method), p->seed, epoch, loss, lr,
                            p->weight_groups, w, pb, p->job.rw.G, &p->ev);
}

/* After the job's weights' epoch step: evaluation, the metrics line, selection, resume state. */
static int on_epoch(void *user, int epoch, double mean_loss, cd_error *e) {
  cd_run_pair_ctx *p = user;
  const cd_run_config *c = p->st->cfg;
  if (cd_run_evaluate(p->st, &p->job.head, &p->ev, e)) return -1;
  write_line(p, epoch, mean_loss, cd_optim_lr_at(&c->optim, epoch - 1));
  int mask = cd_selector_offer(&p->sel, epoch, p->ev.val_pseudo.worst_group_acc, p->ev.val.worst_group_acc);
  if (mask & (1 << c->select)) {
    memcpy(p->selected, p->job.head.params, sizeof(float) * p->job.head.n_params);
    p->selected_epoch = epoch;
  }
  snprintf(p->label, sizeof p->label, "%s seed %d  val worst %.3f (pseudo %.3f)", cd_method_name(p->method),
           p->seed, p->ev.val.worst_group_acc, p->ev.val_pseudo.worst_group_acc);
  if (cd_run_pair_save_state(p, epoch, e)) return -1;
  /* the run's elapsed.json and the caller's hook are shared by the pairs, whose epochs a
   * lockstep group may end on several threads at once */
  static pthread_mutex_t shared = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&shared);
  int rc = cd_run_save_elapsed(p->st, e);
  if (!rc && c->on_epoch && c->on_epoch(c->on_epoch_user, p->method, p->seed, epoch))
    rc = cd_fail(e, "stopped after epoch %d (rerun to continue)", epoch);
  pthread_mutex_unlock(&shared);
  return rc;
}

static void keep_divergence(cd_run_pair_ctx *p) {
  const cd_tune_session *s = &p->job.s;
  p->diverged = s->diverged, p->diverged_epoch = s->diverged_epoch, p->diverged_loss = s->diverged_loss;
}

static int train(cd_run_pair_ctx *p, cd_error *e) {
  int rc = cd_train_job_run(&p->job, e);
  keep_divergence(p);
  return rc;
}

/* A fresh pair starts at epoch 0; an interrupted one continues after its last saved epoch
 * (load, then begin). */
static int load(cd_run_pair_ctx *p, int *start_epoch, cd_error *e) {
  cd_selector_init(&p->sel);
  return cd_run_pair_load_state(p, start_epoch, e);
}

/* The job's start (group weights from the initial head), and a fresh pair's epoch-0 metrics. */
static int begin(cd_run_pair_ctx *p, int start_epoch, cd_error *e) {
  if (cd_train_job_begin(&p->job, start_epoch, e)) return -1;
  if (start_epoch == 0) {
    if (cd_run_evaluate(p->st, &p->job.head, &p->ev, e)) return -1;
    write_line(p, 0, p->job.start_loss, NAN);
  } else if (p->st->log) {
    fprintf(p->st->log, "%-11s seed %-3d resumed after epoch %d\n", cd_method_name(p->method), p->seed, start_epoch);
  }
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
    if (train(&p, e)) rc = p.diverged ? CD_RUN_DIVERGED : -1;
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
  cd_tune_session **sp;       /* the pairs' jobs' sessions, heads and hooks */
  cd_head **hp;
  const cd_tune_hooks **hkp;
  int *from;
  int *part;                  /* [n] the tower-sharing group of each pair (0, 1, ...) */
  int n;
  int *failed;                /* the pair an error came from (-1: none in particular) */
} lockstep_pairs;

static void lockstep_free(lockstep_pairs *g) {
  for (int i = 0; g->p && i < g->n; i++) pair_free(&g->p[i]);
  free(g->p), free(g->sp), free(g->hp), free(g->hkp), free(g->from), free(g->part);
}

static int lockstep_fail(const cd_run_pair_ctx *p, cd_error *e) {
  return cd_fail_prefix(e, "%s seed %d", cd_method_name(p->method), p->seed), -1;
}

/* JTT's first stages of every JTT pair, in lockstep per run (the seeds' per-sample weights). */
static int jtt_stages(lockstep_pairs *g, cd_error *e) {
  int seeds[CD_METHOD_COUNT * CD_RUN_MAX_LIST], errors[CD_METHOD_COUNT * CD_RUN_MAX_LIST];
  float *w[CD_METHOD_COUNT * CD_RUN_MAX_LIST];
  for (int r = 0; r < g->n; r++) { /* r: the first JTT pair of a run not yet served */
    const cd_run_state *st = g->p[r].st;
    int k = 0, first = 1;
    for (int i = 0; i < r; i++) first &= !(g->p[i].method == CD_METHOD_JTT && g->p[i].st == st);
    if (g->p[r].method != CD_METHOD_JTT || !first) continue;
    for (int i = r; i < g->n && k < CD_METHOD_COUNT * CD_RUN_MAX_LIST; i++)
      if (g->p[i].method == CD_METHOD_JTT && g->p[i].st == st) seeds[k++] = g->p[i].seed;
    if (cd_run_jtt_weights_lockstep(st, seeds, k, w, errors, e)) return *g->failed = r, -1;
    for (int i = r, j = 0; i < g->n && j < k; i++)
      if (g->p[i].method == CD_METHOD_JTT && g->p[i].st == st) g->p[i].sample_w = w[j], g->p[i].jtt_errors = errors[j++];
  }
  return 0;
}

/* Z of n heads in stacked passes of CD_RUN_LOCKSTEP_MAX_PAIRS heads at most (the memory of a
 * lockstep group's pass). */
static int refresh(cd_head *const *h, int n, cd_error *e) {
  for (int i = 0; i < n; i += CD_RUN_LOCKSTEP_MAX_PAIRS)
    if (cd_tune_lockstep_refresh(h + i, n - i < CD_RUN_LOCKSTEP_MAX_PAIRS ? n - i : CD_RUN_LOCKSTEP_MAX_PAIRS, e))
      return -1;
  return 0;
}

/* Every pair's directory, job (head, optimiser, weights, session) and resume state. */
static int lockstep_setup(lockstep_pairs *g, const cd_run_state *const *st, const cd_method *methods,
                          const int *seeds, cd_error *e) {
  int n = g->n;
  g->p = cd_calloc((size_t)n, sizeof *g->p, e);
  g->sp = cd_calloc((size_t)n, sizeof *g->sp, e);
  g->hp = cd_calloc((size_t)n, sizeof *g->hp, e);
  g->hkp = cd_calloc((size_t)n, sizeof *g->hkp, e);
  g->from = cd_calloc((size_t)n, sizeof *g->from, e);
  g->part = cd_calloc((size_t)n, sizeof *g->part, e);
  if (!g->p || !g->sp || !g->hp || !g->hkp || !g->from || !g->part) return -1;
  char dir[4200];
  int fresh = 0;
  for (int i = 0; i < n; i++) g->p[i].st = st[i], g->p[i].method = methods[i], g->p[i].seed = seeds[i];
  if (jtt_stages(g, e)) return -1;
  for (int i = 0; i < n; i++) {
    cd_run_pair_ctx *p = &g->p[i];
    *g->failed = i;
    if (cd_run_pair_path(dir, p, "", e) || cd_make_dirs(dir, e) || setup(p, e) || load(p, &g->from[i], e))
      return lockstep_fail(p, e);
    if (g->from[i] == 0) g->hp[fresh++] = &p->job.head;
  }
  *g->failed = -1;
  /* the fresh pairs' starting Z in one stacked pass: their epoch-0 evaluations run no tower */
  if (refresh(g->hp, fresh, e)) return -1;
  for (int i = 0; i < n; i++) {
    cd_run_pair_ctx *p = &g->p[i];
    if (begin(p, g->from[i], e)) return *g->failed = i, lockstep_fail(p, e);
    p->job.hk.progress_label = NULL; /* one line for the group */
    g->sp[i] = &p->job.s;
    g->hkp[i] = &p->job.hk;
  }
  return 0;
}

/* Each pair's files (wall_seconds: the group's, as its pairs trained at the same time), or
 * its diverged.json. */
/* The selected parameters' Z of every finished pair in one stacked pass (each head's params
 * hold the selected ones for the pass, then the last ones again), so that the predictions
 * cd_run_pair_write makes of them run no tower. */
static int refresh_selected(lockstep_pairs *g, const int *status, cd_error *e) {
  size_t total = 0;
  int k = 0;
#define SKIP(i) (g->p[i].job.s.diverged || status[i] < 0)
  for (int i = 0; i < g->n; i++) total += SKIP(i) ? 0 : g->p[i].job.head.n_params;
  float *last = cd_malloc(sizeof(float) * (total ? total : 1), e), *at = last;
  if (!last) return -1;
  for (int i = 0; i < g->n; i++) {
    cd_head *h = &g->p[i].job.head;
    if (SKIP(i)) continue;
    memcpy(at, h->params, sizeof(float) * h->n_params), at += h->n_params;
    memcpy(h->params, g->p[i].selected, sizeof(float) * h->n_params);
    g->hp[k++] = h;
  }
  int rc = refresh(g->hp, k, e);
  at = last;
  for (int i = 0; i < g->n; i++) {
    cd_head *h = &g->p[i].job.head;
    if (SKIP(i)) continue;
    memcpy(h->params, at, sizeof(float) * h->n_params), at += h->n_params;
  }
#undef SKIP
  free(last);
  return rc;
}

/* Every pair still in (status[i] = 0) gets its files, or its diverged.json (status
 * CD_RUN_DIVERGED); a pair whose files fail gets -1 and its error. */
static void lockstep_write(lockstep_pairs *g, const cd_error *msgs, double seconds, int *status, cd_error *errs) {
  cd_error e;
  if (refresh_selected(g, status, &e)) {
    for (int i = 0; i < g->n; i++)
      if (!status[i]) status[i] = -1, errs[i] = e;
    return;
  }
  for (int i = 0; i < g->n; i++) {
    cd_run_pair_ctx *p = &g->p[i];
    if (status[i]) continue;
    keep_divergence(p);
    status[i] = p->diverged ? CD_RUN_DIVERGED : 0;
    if (p->diverged) errs[i] = msgs[i];
    if (p->diverged ? record_divergence(p, &errs[i]) : cd_run_pair_write(p, seconds, &errs[i]))
      status[i] = lockstep_fail(p, &errs[i]);
  }
}

/* The pairs in[i] stopped with an error: the pair it came from (failed; -1: none in
 * particular) and the other pairs of its run get e, the others a note naming that run (their
 * last finished epochs are saved: a rerun resumes them). */
static void fail_pairs(const lockstep_pairs *g, const int *in, int failed, const cd_error *e, int *status,
                       cd_error *errs) {
  for (int i = 0; i < g->n; i++) {
    if (!in[i]) continue;
    status[i] = -1;
    if (failed < 0 || g->p[i].st == g->p[failed].st) errs[i] = *e;
    else cd_fail(&errs[i], "stopped with the pairs trained in lockstep with %s, which failed (%s); rerun to continue",
                 g->p[failed].st->cfg->out_dir, e->msg);
  }
}

/* The pairs grouped by what their tower pass needs to share: one model and one prompt layout
 * (tune_lockstep.h), CD_RUN_LOCKSTEP_MAX_PAIRS at most; pairs of several runs (a sweep's cells)
 * share a group when they do. */
static int partition(lockstep_pairs *g, cd_error *e) {
  int groups = 0, *size = cd_calloc((size_t)g->n, sizeof *size, e);
  if (!size) return -1;
  for (int i = 0; i < g->n; i++) {
    g->part[i] = -1;
    for (int j = 0; j < i && g->part[i] < 0; j++) {
      cd_tune_session *two[2] = {g->sp[j], g->sp[i]};
      if (size[g->part[j]] < CD_RUN_LOCKSTEP_MAX_PAIRS && cd_tune_lockstep_compatible(two, 2))
        g->part[i] = g->part[j];
    }
    if (g->part[i] < 0) g->part[i] = groups++;
    size[g->part[i]]++;
  }
  free(size);
  return groups;
}

/* "12 (method, seed) pairs trained in lockstep" in the log of each run with pairs in group
 * q, naming the other runs' pairs when there are any. */
static void note_group(const lockstep_pairs *g, int q, int k) {
  for (int i = 0; i < g->n; i++) {
    const cd_run_state *st = g->p[i].st;
    int first = 1, own = 0, runs = 0;
    for (int j = 0; j < g->n; j++) {
      if (g->part[j] != q) continue;
      own += g->p[j].st == st;
      int seen = 0;
      for (int l = 0; l < j; l++) seen |= g->part[l] == q && g->p[l].st == g->p[j].st;
      runs += !seen;
      if (j < i && g->p[j].st == st) first = 0;
    }
    if (g->part[i] != q || !first || !st->log) continue;
    if (runs == 1) fprintf(st->log, "%d (method, seed) pairs trained in lockstep\n", k);
    else fprintf(st->log, "%d (method, seed) pairs of %d runs trained in lockstep, %d of them this run's\n", k, runs, own);
  }
}

/* The pairs of group q through one lockstep session run (each session to its own last epoch);
 * when it fails, its pairs get status -1 and their errors (the other groups go on). */
static void train_group(lockstep_pairs *g, int q, cd_error *msgs, int *status, cd_error *errs) {
  cd_error e;
  cd_tune_session **sp = cd_malloc(sizeof *sp * (size_t)g->n, &e);
  const cd_tune_hooks **hkp = cd_malloc(sizeof *hkp * (size_t)g->n, &e);
  int *idx = cd_malloc(sizeof *idx * (size_t)g->n, &e), *in = cd_calloc((size_t)g->n, sizeof *in, &e);
  int k = 0, failed = -1, rc = 0;
  cd_error *m = cd_calloc((size_t)g->n, sizeof *m, &e);
  FILE *log = NULL;
  if (!sp || !hkp || !idx || !in || !m) rc = -1;
  for (int i = 0; !rc && i < g->n; i++)
    if (g->part[i] == q) sp[k] = g->sp[i], hkp[k] = g->hkp[i], idx[k++] = i, in[i] = 1, log = log ? log : g->p[i].st->log;
  char label[64];
  snprintf(label, sizeof label, "lockstep %d pairs", k);
  if (!rc) note_group(g, q, k);
  if (!rc && cd_tune_lockstep_run(sp, hkp, k, 0, log ? label : NULL, &failed, m, &e)) {
    if (failed >= 0) lockstep_fail(&g->p[idx[failed]], &e);
    rc = -1;
  }
  for (int j = 0; !rc && j < k; j++) msgs[idx[j]] = m[j];
  if (rc) {
    for (int i = 0; in && i < g->n; i++) in[i] = g->part[i] == q;
    if (in) fail_pairs(g, in, failed >= 0 ? idx[failed] : -1, &e, status, errs);
    else
      for (int i = 0; i < g->n; i++) status[i] = g->part[i] == q ? -1 : status[i], errs[i] = e;
  }
  free(sp), free(hkp), free(idx), free(in), free(m);
}

int cd_run_pairs_lockstep(const cd_run_state *const *st, const cd_method *methods, const int *seeds, int n,
                          int *status, cd_error *errs) {
  double t0 = cd_time_now();
  lockstep_pairs g = {0};
  int failed = -1, bad = 0;
  g.n = n;
  g.failed = &failed;
  cd_error e;
  for (int i = 0; i < n; i++) status[i] = 0;
  cd_error *msgs = cd_calloc((size_t)n, sizeof *msgs, &e);
  int *all = cd_malloc(sizeof *all * (size_t)n, &e);
  int groups = -1;
  if (msgs && all && !lockstep_setup(&g, st, methods, seeds, &e)) groups = partition(&g, &e);
  if (groups < 0) { /* nothing trained: every pair stops with the error */
    for (int i = 0; i < n; i++) status[i] = -1, errs[i] = e;
    for (int i = 0; all && g.p && i < n; i++) all[i] = 1;
    if (all && g.p) fail_pairs(&g, all, failed, &e, status, errs);
  }
  for (int q = 0; q < groups; q++) train_group(&g, q, msgs, status, errs);
  if (groups >= 0) lockstep_write(&g, msgs, cd_time_now() - t0, status, errs);
  for (int i = 0; i < n; i++) bad |= status[i] < 0;
  lockstep_free(&g);
  free(msgs), free(all);
  return bad ? -1 : 0;
}
