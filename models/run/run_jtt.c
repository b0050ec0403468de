/* JTT's first stage in a run (see jtt.h): the seed's fresh head trained by ERM for T epochs
 * (the run's optimiser, its schedule over T epochs), its training errors found, and their
 * weight 1 + λ_up for the second stage, which run_pair.c trains like every other method.
 * The stage is recomputed when an interrupted pair resumes (it is deterministic), and its
 * error count is written to <pair>/jtt.json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "models/debias/jtt.h"
#include "models/run/run_internal.h"
#include "models/tuning/tune_session.h"

static int stage_one(const cd_run_state *st, int seed, int32_t *pred, cd_error *e) {
  cd_prompt prompt;
  cd_head head;
  cd_optim opt;
  memset(&prompt, 0, sizeof prompt), memset(&head, 0, sizeof head), memset(&opt, 0, sizeof opt);
  cd_optim_config oc = st->cfg->optim;
  oc.max_epoch = st->jtt_epochs;
  if (oc.warmup_epochs >= oc.max_epoch) oc.warmup_epochs = 0;
  int n = st->n_rows[CD_SPLIT_TRAIN];
  cd_tune_data d = {st->xs[CD_SPLIT_TRAIN], st->ys[CD_SPLIT_TRAIN], NULL, n, st->cfg->batch, (uint64_t)seed};
  char label[96];
  snprintf(label, sizeof label, "jtt seed %d (ERM for T = %d epochs)", seed, st->jtt_epochs);
  cd_tune_hooks hk = {0};
  hk.progress_label = st->log ? label : NULL;
  cd_tune_session s;
  int rc = cd_run_head_init(st, seed, &prompt, &head, e) || cd_optim_init(&opt, &oc, head.n_params, e) ? -1 : 0;
  if (!rc && !(rc = cd_tune_session_init(&s, &head, &opt, &d, 0, e))) {
    rc = cd_tune_session_run(&s, oc.max_epoch, &hk, e);
    cd_tune_session_free(&s);
  }
  if (!rc) rc = cd_head_predict(&head, st->xs[CD_SPLIT_TRAIN], n, NULL, pred, NULL, NULL, e);
  cd_optim_free(&opt);
  cd_head_free(&head);
  cd_prompt_free(&prompt);
  return rc ? -1 : 0;
}

static int write_info(const cd_run_state *st, int seed, int errors, cd_error *e) {
  char dir[4200], path[4200], buf[256];
  if (cd_run_path(dir, sizeof dir, st, "jtt", seed, "") || cd_run_path(path, sizeof path, st, "jtt", seed, "jtt.json"))
    return cd_fail(e, "path too long");
  int n = snprintf(buf, sizeof buf, "{\n  \"epochs\": %d,\n  \"up\": %.17g,\n  \"errors\": %d,\n  \"train_rows\": %d\n}\n",
                   st->jtt_epochs, st->jtt_up, errors, st->n_rows[CD_SPLIT_TRAIN]);
  return cd_make_dirs(dir, e) || cd_write_file_atomic(path, buf, (size_t)n, e) ? -1 : 0;
}

int cd_run_jtt_weights(const cd_run_state *st, int seed, float **w, int *errors, cd_error *e) {
  int n = st->n_rows[CD_SPLIT_TRAIN];
  int32_t *pred = cd_malloc(sizeof(int32_t) * (size_t)n, e);
  *w = cd_malloc(sizeof(float) * (size_t)n, e);
  int rc = pred && *w ? stage_one(st, seed, pred, e) : -1;
  if (!rc) {
    *errors = cd_jtt_weights(pred, st->ys[CD_SPLIT_TRAIN], n, st->jtt_up, *w);
    rc = write_info(st, seed, *errors, e);
    if (!rc && st->log)
      fprintf(st->log, "%-11s seed %-3d stage 1: ERM for %d epochs misclassifies %d of %d training rows (weight %g)\n",
              "jtt", seed, st->jtt_epochs, *errors, n, 1 + st->jtt_up);
  }
  free(pred);
  if (rc) free(*w), *w = NULL;
  return rc;
}
