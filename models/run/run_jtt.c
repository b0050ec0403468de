/* JTT's first stage in a run (see jtt.h): the seed's fresh head trained by ERM for T epochs
 * (the run's optimiser, its schedule over T epochs), its training errors found, and their
 * weight 1 + λ_up for the second stage, which run_pair.c trains like every other method.
 * The stage is recomputed when an interrupted pair resumes (it is deterministic), and its
 * error count is written to <pair>/jtt.json. The stages of several seeds train in lockstep
 * (tune_lockstep.h: one tower pass per step for all, each with the bits it gets alone). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json_write.h"
#include "models/debias/jtt.h"
#include "models/run/run_internal.h"
#include "models/tuning/tune_lockstep.h"
#include "models/tuning/tune_session.h"

/* Stage one of one seed: the pair's training job with the run's optimiser scheduled over T
 * epochs, no weights. */
typedef struct {
  cd_train_job job;
  int has_job;
} stage;

static int stage_init(stage *g, const cd_run_state *st, int seed, cd_error *e) {
  memset(g, 0, sizeof *g);
  cd_train_job_config c;
  cd_run_job_config(st, seed, &c);
  c.optim.max_epoch = st->jtt_epochs;
  if (c.optim.warmup_epochs >= c.optim.max_epoch) c.optim.warmup_epochs = 0;
  if (cd_train_job_init(&g->job, &c, e)) return -1;
  g->has_job = 1;
  return cd_train_job_begin(&g->job, 0, e);
}

static void stage_free(stage *g) {
  if (g->has_job) cd_train_job_free(&g->job);
}

static int write_info(const cd_run_state *st, int seed, int errors, cd_error *e);

/* The trained stage's training errors: weights w and the count, jtt.json and the log line. */
static int stage_weights(const cd_run_state *st, stage *g, int seed, float *w, int *errors, cd_error *e) {
  int n = st->n_rows[CD_SPLIT_TRAIN];
  int32_t *pred = cd_malloc(sizeof(int32_t) * (size_t)n, e);
  int rc = pred ? cd_head_predict(&g->job.head, st->xs[CD_SPLIT_TRAIN], n, NULL, pred, NULL, NULL, e) : -1;
  if (!rc) {
    *errors = cd_jtt_weights(pred, st->ys[CD_SPLIT_TRAIN], n, st->jtt_up, w);
    rc = write_info(st, seed, *errors, e);
  }
  if (!rc && st->log)
    fprintf(st->log, "%-11s seed %-3d stage 1: ERM for %d epochs misclassifies %d of %d training rows (weight %g)\n",
            "jtt", seed, st->jtt_epochs, *errors, n, 1 + st->jtt_up);
  free(pred);
  return rc;
}

static int write_info(const cd_run_state *st, int seed, int errors, cd_error *e) {
  char dir[4200], path[4200];
  if (cd_run_path(dir, sizeof dir, st, "jtt", seed, "") || cd_run_path(path, sizeof path, st, "jtt", seed, "jtt.json"))
    return cd_fail(e, "path too long");
  cd_atomic_file af;
  cd_jw w;
  if (cd_make_dirs(dir, e) || cd_jw_open(&w, &af, path, e)) return -1;
  cd_jw_obj_block(&w);
  cd_jw_kint(&w, "epochs", st->jtt_epochs);
  cd_jw_key(&w, "up");
  cd_jw_g17(&w, st->jtt_up);
  cd_jw_kint(&w, "errors", errors);
  cd_jw_kint(&w, "train_rows", st->n_rows[CD_SPLIT_TRAIN]);
  cd_jw_end(&w);
  return cd_jw_commit(&w, &af, e);
}

int cd_run_jtt_weights(const cd_run_state *st, int seed, float **w, int *errors, cd_error *e) {
  return cd_run_jtt_weights_lockstep(st, &seed, 1, w, errors, e);
}

int cd_run_jtt_weights_lockstep(const cd_run_state *st, const int *seeds, int n, float **w, int *errors,
                                cd_error *e) {
  int n_train = st->n_rows[CD_SPLIT_TRAIN], rc = 0, failed = -1;
  stage *g = cd_calloc((size_t)n, sizeof *g, e);
  cd_tune_session **sp = cd_calloc((size_t)n, sizeof *sp, e);
  cd_head **hp = cd_calloc((size_t)n, sizeof *hp, e);
  const cd_tune_hooks **hkp = cd_calloc((size_t)n, sizeof *hkp, e);
  cd_error *msgs = NULL;
  char label[96];
  if (!g || !sp || !hp || !hkp) rc = -1;
  for (int i = 0; !rc && i < n; i++) {
    w[i] = NULL;
    if (stage_init(&g[i], st, seeds[i], e) || !(w[i] = cd_malloc(sizeof(float) * (size_t)n_train, e)))
      rc = n > 1 ? (cd_fail_prefix(e, "jtt seed %d", seeds[i]), -1) : -1;
    else sp[i] = &g[i].job.s, hp[i] = &g[i].job.head, hkp[i] = &g[i].job.hk;
  }
  if (!rc && n == 1) { /* nothing to share a step with */
    snprintf(label, sizeof label, "jtt seed %d (ERM for T = %d epochs)", seeds[0], st->jtt_epochs);
    g[0].job.hk.progress_label = st->log ? label : NULL;
    rc = cd_train_job_run(&g[0].job, e);
  } else if (!rc) {
    snprintf(label, sizeof label, "jtt stage 1, %d seeds (ERM for T = %d epochs)", n, st->jtt_epochs);
    if (!(msgs = cd_calloc((size_t)n, sizeof *msgs, e)) ||
        cd_tune_lockstep_run(sp, hkp, n, 0, st->log ? label : NULL, &failed, msgs, e))
      rc = -1;
    /* a stage that diverged fails the run, as when it trains alone */
    for (int i = 0; !rc && i < n; i++)
      if (g[i].job.s.diverged) *e = msgs[i], failed = i, rc = -1;
    if (rc && failed >= 0) cd_fail_prefix(e, "jtt seed %d", seeds[failed]);
  }
  /* every stage's Z in one stacked pass, then its errors */
  if (!rc) rc = cd_tune_lockstep_refresh(hp, n, e);
  for (int i = 0; !rc && i < n; i++)
    if (stage_weights(st, &g[i], seeds[i], w[i], &errors[i], e)) rc = -1;
  for (int i = 0; g && i < n; i++) {
    stage_free(&g[i]);
    if (rc) free(w[i]), w[i] = NULL;
  }
  free(g), free(sp), free(hp), free(hkp), free(msgs);
  return rc;
}
