/* Group-robustness metrics of one split, the conventions of datasets.md §4:
 *   acc_g              mean of (pred == y) over the split's rows of group g (NaN if empty)
 *   avg_acc            correct / rows over the whole split (group_DRO's avg_acc, SubpopBench)
 *   avg_acc_adjusted   Σ_g acc_g · n_train,g / Σ_g n_train,g over the groups present in the
 *                      split (the Waterbirds average of group_DRO, WILDS, JTT, DFR)
 *   worst_group_acc    min over groups present in the split (an empty group is skipped with a
 *                      warning, as WILDS does silently)
 *   gap                avg_acc - worst_group_acc
 * plus the histogram of predicted classes, with a warning when one class takes over 99% of
 * the predictions (the usual sign of a collapsed model: "worst-group accuracy is 0").
 * Several runs (seeds) are summarised by the mean of every number and its sample standard
 * deviation (n - 1 in the denominator; 0 for a single run). The worst group of a summary is
 * the mean of the runs' worst groups, not the worst of the mean group accuracies. */
#ifndef CD_GROUP_METRICS_H
#define CD_GROUP_METRICS_H

#include <stdint.h>

#include "core/error.h"

enum { CD_METRICS_MAX_WARNINGS = 8, CD_METRICS_WARNING_LEN = 256 };

typedef struct {
  int n_cls, n_attr, G;      /* G = cd_group_count_of(n_cls, n_attr) */
  int n_runs;                /* 1 for one evaluation; the seed count for a summary */
  int64_t n_rows;            /* rows of the split */
  int64_t n_ungrouped;       /* rows without a group (attribute unknown) */
  int64_t *n;                /* [G] rows per group */
  int64_t *correct;          /* [G] correct predictions per group (one run; 0 in a summary) */
  double *acc, *acc_std;     /* [G] NaN where n = 0; acc_std 0 for one run */
  double *pred_hist;         /* [n_cls] predictions per class (mean over runs) */
  double avg_acc, avg_acc_adjusted, worst_group_acc, gap;         /* NaN when undefined */
  double avg_acc_std, avg_acc_adjusted_std, worst_group_acc_std, gap_std;
  int worst_group;           /* argmin group of one run, -1 when undefined or a summary */
  int n_warnings;
  char warnings[CD_METRICS_MAX_WARNINGS][CD_METRICS_WARNING_LEN];
} cd_group_metrics;

int cd_group_metrics_init(cd_group_metrics *m, int n_cls, int n_attr, cd_error *e);
void cd_group_metrics_free(cd_group_metrics *m);

/* Metrics of predictions pred over rows[0..n) of a split (pred, y, a indexed by row; a may be
 * NULL when unknown). train_counts [G] weighs the adjusted average (NULL: it is NaN).
 * split names the split in warnings ("test"); classnames (may be NULL) names classes. */
void cd_group_metrics_compute(cd_group_metrics *m, const int32_t *pred, const int32_t *y,
                              const int32_t *a, const int *rows, int n,
                              const int64_t *train_counts, const char *split,
                              char *const *classnames);

/* out = mean and sample std over runs[0..S) (same n_cls, n_attr); warnings are merged
 * (distinct messages, "seed-independent" ones once). out must be initialised. */
int cd_group_metrics_summarize(cd_group_metrics *out, const cd_group_metrics *runs, int S,
                               cd_error *e);

/* Appends a warning (dropped silently beyond CD_METRICS_MAX_WARNINGS or when already there). */
void cd_group_metrics_warn(cd_group_metrics *m, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Mean and sample standard deviation of x[0..n) (std 0 for n < 2; NaN in, NaN out). */
void cd_mean_std(const double *x, int n, double *mean, double *std);

#endif
