/* Group-robustness metrics (see group_metrics.h). */
#include "data/groups/group_metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/groups/groups.h"

int cd_group_metrics_init(cd_group_metrics *m, int n_cls, int n_attr, cd_error *e) {
  memset(m, 0, sizeof *m);
  if (n_cls < 1 || n_attr < 0) return cd_fail(e, "metrics: %d classes, %d attributes", n_cls, n_attr);
  m->n_cls = n_cls;
  m->n_attr = n_attr;
  m->G = cd_group_count_of(n_cls, n_attr);
  m->n = cd_calloc((size_t)m->G * 2, sizeof(int64_t), e);
  m->acc = cd_calloc((size_t)m->G * 2 + (size_t)n_cls, sizeof(double), e);
  if (!m->n || !m->acc) {
    cd_group_metrics_free(m);
    return -1;
  }
  m->correct = m->n + m->G;
  m->acc_std = m->acc + m->G;
  m->pred_hist = m->acc_std + m->G;
  m->worst_group = -1;
  return 0;
}

void cd_group_metrics_free(cd_group_metrics *m) {
  free(m->n);
  free(m->acc);
  memset(m, 0, sizeof *m);
}

void cd_group_metrics_warn(cd_group_metrics *m, const char *fmt, ...) {
  char buf[CD_METRICS_WARNING_LEN];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  for (int i = 0; i < m->n_warnings; i++)
    if (!strcmp(m->warnings[i], buf)) return;
  if (m->n_warnings < CD_METRICS_MAX_WARNINGS) memcpy(m->warnings[m->n_warnings++], buf, sizeof buf);
}

void cd_mean_std(const double *x, int n, double *mean, double *std) {
  double s = 0;
  for (int i = 0; i < n; i++) s += x[i];
  double mu = n > 0 ? s / n : NAN, v = 0;
  for (int i = 0; i < n; i++) v += (x[i] - mu) * (x[i] - mu);
  *mean = mu;
  *std = n > 1 ? sqrt(v / (n - 1)) : (n == 1 && isnan(mu) ? NAN : 0.0);
}

static void group_name(char *buf, size_t cap, int g, int n_attr, char *const *classnames) {
  int y = cd_group_y(g, n_attr), a = cd_group_a(g, n_attr);
  char cls[96] = "";
  if (classnames) snprintf(cls, sizeof cls, " %s", classnames[y]);
  if (n_attr > 0) snprintf(buf, cap, "group %d (y=%d%s, a=%d)", g, y, cls, a);
  else snprintf(buf, cap, "class %d%s", y, cls);
}

static void count_rows(cd_group_metrics *m, const int32_t *pred, const int32_t *y,
                       const int32_t *a, const int *rows, int n, int64_t *n_correct) {
  for (int i = 0; i < n; i++) {
    int r = rows ? rows[i] : i, ok = pred[r] == y[r];
    int g = cd_group_of(y[r], a ? a[r] : -1, m->n_attr);
    *n_correct += ok;
    if (pred[r] >= 0 && pred[r] < m->n_cls) m->pred_hist[pred[r]] += 1;
    if (g < 0) {
      m->n_ungrouped++;
      continue;
    }
    m->n[g]++;
    m->correct[g] += ok;
  }
}

static void check_collapse(cd_group_metrics *m, const char *split, char *const *classnames) {
  if (m->n_cls < 2 || m->n_rows == 0) return;
  int top = 0;
  for (int c = 1; c < m->n_cls; c++)
    if (m->pred_hist[c] > m->pred_hist[top]) top = c;
  double share = m->pred_hist[top] / (double)m->n_rows;
  if (share > 0.99)
    cd_group_metrics_warn(m, "%s: %.1f%% of the predictions are class %d%s%s", split,
                          100 * share, top, classnames ? " " : "", classnames ? classnames[top] : "");
}

void cd_group_metrics_compute(cd_group_metrics *m, const int32_t *pred, const int32_t *y,
                              const int32_t *a, const int *rows, int n,
                              const int64_t *train_counts, const char *split,
                              char *const *classnames) {
  int G = m->G;
  int64_t n_correct = 0;
  memset(m->n, 0, sizeof(int64_t) * (size_t)G * 2);
  memset(m->pred_hist, 0, sizeof(double) * (size_t)m->n_cls);
  m->n_runs = 1;
  m->n_rows = n;
  m->n_ungrouped = 0;
  m->n_warnings = 0;
  count_rows(m, pred, y, a, rows, n, &n_correct);
  double worst = INFINITY, wsum = 0, wacc = 0;
  m->worst_group = -1;
  for (int g = 0; g < G; g++) {
    m->acc_std[g] = 0;
    if (m->n[g] == 0) {
      m->acc[g] = NAN;
      char name[160];
      group_name(name, sizeof name, g, m->n_attr, classnames);
      cd_group_metrics_warn(m, "%s: %s has no rows; left out of the worst-group accuracy", split, name);
      continue;
    }
    m->acc[g] = (double)m->correct[g] / (double)m->n[g];
    if (m->acc[g] < worst) worst = m->acc[g], m->worst_group = g;
    if (train_counts) wsum += (double)train_counts[g], wacc += (double)train_counts[g] * m->acc[g];
  }
  if (m->n_ungrouped)
    cd_group_metrics_warn(m, "%s: %lld rows have no known attribute and belong to no group", split,
                          (long long)m->n_ungrouped);
  m->avg_acc = n > 0 ? (double)n_correct / n : NAN;
  m->avg_acc_adjusted = wsum > 0 ? wacc / wsum : NAN;
  m->worst_group_acc = m->worst_group >= 0 ? worst : NAN;
  m->gap = m->avg_acc - m->worst_group_acc;
  m->avg_acc_std = m->avg_acc_adjusted_std = m->worst_group_acc_std = m->gap_std = 0;
  check_collapse(m, split, classnames);
}

int cd_group_metrics_summarize(cd_group_metrics *out, const cd_group_metrics *runs, int S,
                               cd_error *e) {
  if (S < 1) return cd_fail(e, "metrics: nothing to summarise");
  for (int s = 0; s < S; s++)
    if (runs[s].n_cls != out->n_cls || runs[s].n_attr != out->n_attr)
      return cd_fail(e, "metrics: runs disagree on classes or attributes");
  double *x = cd_malloc(sizeof(double) * (size_t)S, e);
  if (!x) return -1;
#define SUMMARY(field)                                                      \
  do {                                                                      \
    for (int s = 0; s < S; s++) x[s] = runs[s].field;                       \
    cd_mean_std(x, S, &out->field, &out->field##_std);                      \
  } while (0)
  SUMMARY(avg_acc);
  SUMMARY(avg_acc_adjusted);
  SUMMARY(worst_group_acc);
  SUMMARY(gap);
#undef SUMMARY
  for (int g = 0; g < out->G; g++) {
    for (int s = 0; s < S; s++) x[s] = runs[s].acc[g];
    cd_mean_std(x, S, &out->acc[g], &out->acc_std[g]);
    out->n[g] = runs[0].n[g];
    out->correct[g] = 0; /* per-run counts do not average into counts */
  }
  for (int c = 0; c < out->n_cls; c++) {
    double sum = 0;
    for (int s = 0; s < S; s++) sum += runs[s].pred_hist[c];
    out->pred_hist[c] = sum / S;
  }
  out->n_runs = S;
  out->n_rows = runs[0].n_rows;
  out->n_ungrouped = runs[0].n_ungrouped;
  out->worst_group = -1;
  out->n_warnings = 0;
  for (int s = 0; s < S; s++)
    for (int w = 0; w < runs[s].n_warnings; w++) cd_group_metrics_warn(out, "%s", runs[s].warnings[w]);
  free(x);
  return 0;
}
