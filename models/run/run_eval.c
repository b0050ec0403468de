/* Per-epoch evaluation of a head on val and test (see run_internal.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/run/run_internal.h"

int cd_run_eval_init(cd_run_eval *ev, const cd_run_state *st, cd_error *e) {
  memset(ev, 0, sizeof *ev);
  if (cd_group_metrics_init(&ev->val, st->C, st->n_attr, e) ||
      cd_group_metrics_init(&ev->val_pseudo, st->C, st->K, e) ||
      cd_group_metrics_init(&ev->test, st->C, st->n_attr, e) ||
      !(ev->pred = cd_calloc((size_t)st->N, sizeof(int32_t), e))) {
    cd_run_eval_free(ev);
    return -1;
  }
  return 0;
}

void cd_run_eval_free(cd_run_eval *ev) {
  cd_group_metrics_free(&ev->val);
  cd_group_metrics_free(&ev->val_pseudo);
  cd_group_metrics_free(&ev->test);
  free(ev->pred);
  memset(ev, 0, sizeof *ev);
}

static int predict_split(const cd_run_state *st, cd_head *h, int split, int32_t *pred, cd_error *e) {
  int n = st->n_rows[split];
  if (n == 0) return 0;
  int32_t *p = cd_malloc(sizeof(int32_t) * (size_t)n, e);
  if (!p || cd_head_predict(h, st->xs[split], n, NULL, p, NULL, NULL, e)) return free(p), -1;
  for (int i = 0; i < n; i++) pred[st->rows[split][i]] = p[i];
  free(p);
  return 0;
}

void cd_run_split_metrics(const cd_run_state *st, const int32_t *pred, int split, cd_group_metrics *m) {
  static const char *const NAMES[CD_SPLITS] = {"train", "val", "test"};
  const cd_feature_cache *c = st->cache;
  cd_group_metrics_compute(m, pred, c->y, st->n_attr > 0 ? c->a : NULL, st->rows[split],
                           st->n_rows[split], st->train_counts, NAMES[split], c->classnames);
}

int cd_run_evaluate(const cd_run_state *st, cd_head *h, cd_run_eval *ev, cd_error *e) {
  if (predict_split(st, h, CD_SPLIT_VAL, ev->pred, e) || predict_split(st, h, CD_SPLIT_TEST, ev->pred, e))
    return -1;
  cd_run_evaluate_pred(st, ev);
  return 0;
}

void cd_run_evaluate_pred(const cd_run_state *st, cd_run_eval *ev) {
  cd_run_split_metrics(st, ev->pred, CD_SPLIT_VAL, &ev->val);
  cd_run_split_metrics(st, ev->pred, CD_SPLIT_TEST, &ev->test);
  cd_group_metrics_compute(&ev->val_pseudo, ev->pred, st->cache->y, st->a_pseudo,
                           st->rows[CD_SPLIT_VAL], st->n_rows[CD_SPLIT_VAL], NULL, "val (pseudo groups)",
                           NULL);
}

int cd_run_predict_all(const cd_run_state *st, cd_head *h, int32_t *pred, cd_error *e) {
  for (int s = 0; s < CD_SPLITS; s++)
    if (predict_split(st, h, s, pred, e)) return -1;
  return 0;
}

int cd_run_path(char *buf, size_t cap, const cd_run_state *st, const char *method, int seed,
                const char *name) {
  int n = seed < 0 ? snprintf(buf, cap, "%s/%s/%s", st->cfg->out_dir, method, name)
                   : snprintf(buf, cap, "%s/%s/seed%d/%s", st->cfg->out_dir, method, seed, name);
  return n < 0 || (size_t)n >= cap ? -1 : 0;
}
