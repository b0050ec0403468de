/* JSON of metrics lines and split metrics (see run_internal.h and the RUN_DIR schema). */
#include <math.h>
#include <stdio.h>

#include "core/json.h"
#include "core/json_write.h"
#include "data/groups/groups.h"
#include "models/run/run_internal.h"

/* `"avg_acc": .., "avg_acc_adjusted": .., "worst_group_acc": ..` of one split's metrics */
static void split_numbers(cd_jw *w, const cd_group_metrics *m) {
  static const char *const keys[3] = {"avg_acc", "avg_acc_adjusted", "worst_group_acc"};
  const double v[3] = {m->avg_acc, m->avg_acc_adjusted, m->worst_group_acc};
  for (int k = 0; k < 3; k++) cd_jw_knum(w, keys[k], v[k]);
}

static void nums_or_null(cd_jw *w, const char *key, const double *v, int n) {
  cd_jw_key(w, key);
  if (v) cd_jw_nums(w, v, n);
  else cd_jw_null(w);
}

void cd_run_write_metrics_line(FILE *fp, const char *method, int seed, int epoch, double loss,
                               double lr, const char *weight_groups, const double *weights,
                               const double *p_bar, int G, const cd_run_eval *ev) {
  cd_jw w;
  cd_jw_init(&w, fp);
  cd_jw_obj(&w);
  cd_jw_kstr(&w, "method", method);
  cd_jw_key(&w, "seed");
  if (seed < 0) cd_jw_null(&w);
  else cd_jw_int(&w, seed);
  cd_jw_kint(&w, "epoch", epoch);
  cd_jw_knum(&w, "loss", loss);
  cd_jw_knum(&w, "lr", lr);
  cd_jw_key(&w, "weight_groups");
  if (weight_groups) cd_jw_str(&w, weight_groups);
  else cd_jw_null(&w);
  nums_or_null(&w, "group_weights", weights, G);
  nums_or_null(&w, "p_bar", p_bar, G);
  cd_jw_key(&w, "val");
  cd_jw_obj(&w);
  split_numbers(&w, &ev->val);
  cd_jw_knum(&w, "worst_group_acc_pseudo", ev->val_pseudo.worst_group_acc);
  nums_or_null(&w, "groups", ev->val.acc, ev->val.G);
  nums_or_null(&w, "groups_pseudo", ev->val_pseudo.acc, ev->val_pseudo.G);
  cd_jw_end(&w);
  cd_jw_key(&w, "test");
  cd_jw_obj(&w);
  split_numbers(&w, &ev->test);
  nums_or_null(&w, "groups", ev->test.acc, ev->test.G);
  cd_jw_end(&w);
  cd_jw_end(&w);
  fputc('\n', fp);
}
