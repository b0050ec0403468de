/* results.json and the closing table of a run: every method's val and test metrics over the
 * true groups, recomputed from the predictions each pair wrote (so the summary always agrees
 * with the files), as means and standard deviations over seeds; and the pseudo-label
 * accuracy. A method with a diverged seed is "status": "diverged" with no numbers (a mean over
 * the seeds that happened to finish would read as a result): "diverged" lists each such seed
 * with its epoch, loss and likely flag. */
#ifndef CD_RUN_RESULTS_H
#define CD_RUN_RESULTS_H

#include <stdio.h>

#include "models/run/run_internal.h"
#include "models/debias/zeroshot.h"

typedef struct {
  cd_method method;
  int n_seeds;
  int *seeds, *selected_epoch;   /* [n_seeds] */
  cd_group_metrics val, test;    /* summaries over seeds (none when a seed diverged) */
  int n_diverged;                /* seeds whose training diverged: the method has no numbers */
  int *diverged_seeds;           /* [n_diverged] */
  cd_run_divergence *diverged;   /* [n_diverged] */
} cd_run_method_result;

typedef struct {
  int n;
  cd_run_method_result *m;       /* [n] in the configured method order */
  cd_pseudo_stats pseudo;        /* over train + val rows with a known attribute */
} cd_run_results;

/* text_pred [CD_METHOD_COUNT]: the training-free methods' predictions [N] (run_text.c). */
int cd_run_results_collect(const cd_run_state *st, int32_t *const *text_pred, cd_run_results *r,
                           cd_error *e);
void cd_run_results_free(cd_run_results *r);
int cd_run_results_write(const cd_run_state *st, const cd_run_resolved *res, const cd_run_results *r,
                         double wall_seconds, cd_error *e);
/* The plain-text table: method x avg, adjusted avg, worst group, gap (test, mean ± std over
 * seeds, in %; "diverged" and the seeds instead for a method with a diverged seed), the group
 * labels and attribute names it uses; then the pseudo-label accuracy. */
void cd_run_results_print(FILE *fp, const cd_run_state *st, const cd_run_resolved *res, const cd_run_results *r);
/* What a method uses in this run: "none" | "validation group labels" | "training group
 * labels"; and the attribute names: "given" | "discovered" | "none". */
const char *cd_run_labels_used(const cd_run_state *st, cd_method m);
const char *cd_run_attr_names_used(const cd_run_resolved *res, cd_method m);

#endif
