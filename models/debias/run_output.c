/* JSON of metrics lines and split metrics (see run_internal.h and the RUN_DIR schema). */
#include <math.h>
#include <stdio.h>

#include "core/json.h"
#include "data/groups/groups.h"
#include "models/debias/jsonw.h"
#include "models/debias/run_internal.h"

static void write_accs(FILE *fp, const cd_group_metrics *m) {
  cd_jw_doubles(fp, m->acc, m->G);
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
  fputs(", \"group_weights\": ", fp);
  if (weights) cd_jw_doubles(fp, weights, G);
  else fputs("null", fp);
  fputs(", \"p_bar\": ", fp);
  if (p_bar) cd_jw_doubles(fp, p_bar, G);
  else fputs("null", fp);
  fputs(", \"val\": {\"avg_acc\": ", fp);
  cd_jw_num(fp, ev->val.avg_acc);
  fputs(", \"avg_acc_adjusted\": ", fp);
  cd_jw_num(fp, ev->val.avg_acc_adjusted);
  fputs(", \"worst_group_acc\": ", fp);
  cd_jw_num(fp, ev->val.worst_group_acc);
  fputs(", \"worst_group_acc_pseudo\": ", fp);
  cd_jw_num(fp, ev->val_pseudo.worst_group_acc);
  fputs(", \"groups\": ", fp);
  write_accs(fp, &ev->val);
  fputs(", \"groups_pseudo\": ", fp);
  write_accs(fp, &ev->val_pseudo);
  fputs("}, \"test\": {\"avg_acc\": ", fp);
  cd_jw_num(fp, ev->test.avg_acc);
  fputs(", \"avg_acc_adjusted\": ", fp);
  cd_jw_num(fp, ev->test.avg_acc_adjusted);
  fputs(", \"worst_group_acc\": ", fp);
  cd_jw_num(fp, ev->test.worst_group_acc);
  fputs(", \"groups\": ", fp);
  write_accs(fp, &ev->test);
  fputs("}}\n", fp);
}
