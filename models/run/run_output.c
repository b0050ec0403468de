/* JSON of metrics lines and split metrics (see run_internal.h and the RUN_DIR schema). */
#include <math.h>
#include <stdio.h>

#include "core/json.h"
#include "data/groups/groups.h"
#include "models/debias/jsonw.h"
#include "models/run/run_internal.h"

/* `"avg_acc": .., "avg_acc_adjusted": .., "worst_group_acc": ..` of one split's metrics */
static void split_numbers(FILE *fp, const cd_group_metrics *m) {
  static const char *const keys[3] = {"avg_acc", "avg_acc_adjusted", "worst_group_acc"};
  const double v[3] = {m->avg_acc, m->avg_acc_adjusted, m->worst_group_acc};
  cd_jw_members(fp, keys, v, 3, ", ");
}

static void doubles_or_null(FILE *fp, const char *key, const double *v, int n) {
  fprintf(fp, ", \"%s\": ", key);
  if (v) cd_jw_doubles(fp, v, n);
  else fputs("null", fp);
}

void cd_run_write_metrics_line(FILE *fp, const char *method, int seed, int epoch, double loss,
                               double lr, const char *weight_groups, const double *weights,
                               const double *p_bar, int G, const cd_run_eval *ev) {
  fprintf(fp, "{\"method\": \"%s\", \"seed\": ", method);
  if (seed < 0) fputs("null", fp);
  else fprintf(fp, "%d", seed);
  fprintf(fp, ", \"epoch\": %d, \"loss\": ", epoch);
  cd_jw_num(fp, loss);
  fputs(", \"lr\": ", fp);
  cd_jw_num(fp, lr);
  fputs(", \"weight_groups\": ", fp);
  if (weight_groups) fprintf(fp, "\"%s\"", weight_groups);
  else fputs("null", fp);
  doubles_or_null(fp, "group_weights", weights, G);
  doubles_or_null(fp, "p_bar", p_bar, G);
  fputs(", \"val\": {", fp);
  split_numbers(fp, &ev->val);
  fputs(", \"worst_group_acc_pseudo\": ", fp);
  cd_jw_num(fp, ev->val_pseudo.worst_group_acc);
  doubles_or_null(fp, "groups", ev->val.acc, ev->val.G);
  doubles_or_null(fp, "groups_pseudo", ev->val_pseudo.acc, ev->val_pseudo.G);
  fputs("}, \"test\": {", fp);
  split_numbers(fp, &ev->test);
  doubles_or_null(fp, "groups", ev->test.acc, ev->test.G);
  fputs("}}\n", fp);
}
