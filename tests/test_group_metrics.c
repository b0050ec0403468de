/* Group metrics against hand-counted cases: per-group accuracy and counts, plain and
 * train-weighted (adjusted) averages, worst group with an empty group skipped and warned
 * about, the gap, the predicted-class histogram and its collapse warning, unknown attributes;
 * summaries over seeds (mean, sample std); model selection over epochs. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "data/groups/group_metrics.h"
#include "data/groups/groups.h"
#include "models/debias/selection.h"
#include "tests/testutil.h"

static int near(double a, double b) { return fabs(a - b) <= 1e-12; }

static int has_warning(const cd_group_metrics *m, const char *needle) {
  for (int i = 0; i < m->n_warnings; i++)
    if (strstr(m->warnings[i], needle)) return 1;
  return 0;
}

/* 12 rows, 2 classes x 2 attributes; group 2 (y=1, a=0) has no rows in the split */
static const int32_t Y[12] = {0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1};
static const int32_t A[12] = {0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
/* correct: g0 3/4, g1 1/3, g3 4/5 -> 8/12 overall */
static const int32_t P[12] = {0, 0, 0, 1, 0, 1, 1, 1, 1, 1, 1, 0};

static void check_groups(void) {
  int32_t g[12];
  cd_groups_assign(Y, A, NULL, 12, 2, g);
  CHECK(g[0] == 0 && g[4] == 1 && g[7] == 3, "g = 2y + a: %d %d %d", g[0], g[4], g[7]);
  int64_t c[4];
  cd_groups_count(g, 12, 4, c);
  CHECK(c[0] == 4 && c[1] == 3 && c[2] == 0 && c[3] == 5, "counts %lld %lld %lld %lld",
        (long long)c[0], (long long)c[1], (long long)c[2], (long long)c[3]);
  CHECK(cd_group_of(1, -1, 2) == -1 && cd_group_of(1, 0, 0) == 1 && cd_group_y(3, 2) == 1 &&
        cd_group_a(3, 2) == 1 && cd_group_count_of(3, 0) == 3, "group helpers");
}

static void check_metrics(void) {
  cd_group_metrics m;
  cd_error e;
  CHECK(!cd_group_metrics_init(&m, 2, 2, &e), "%s", e.msg);
  const int64_t train[4] = {3498, 184, 56, 1057};
  char *names[2] = {"landbird", "waterbird"};
  cd_group_metrics_compute(&m, P, Y, A, NULL, 12, train, "test", names);
  CHECK(m.n[0] == 4 && m.n[1] == 3 && m.n[2] == 0 && m.n[3] == 5, "group counts");
  CHECK(near(m.acc[0], 0.75) && near(m.acc[1], 1.0 / 3) && isnan(m.acc[2]) && near(m.acc[3], 0.8),
        "group acc %g %g %g %g", m.acc[0], m.acc[1], m.acc[2], m.acc[3]);
  CHECK(near(m.avg_acc, 8.0 / 12), "avg %g", m.avg_acc);
  /* adjusted: (3498·0.75 + 184/3 + 1057·0.8) / (3498 + 184 + 1057), the empty group left out */
  double adj = (3498 * 0.75 + 184.0 / 3 + 1057 * 0.8) / (3498 + 184 + 1057);
  CHECK(near(m.avg_acc_adjusted, adj), "adjusted %.15f vs %.15f", m.avg_acc_adjusted, adj);
  CHECK(near(m.worst_group_acc, 1.0 / 3) && m.worst_group == 1, "worst %g (group %d)", m.worst_group_acc, m.worst_group);
  CHECK(near(m.gap, 8.0 / 12 - 1.0 / 3), "gap %g", m.gap);
  CHECK(m.pred_hist[0] == 5 && m.pred_hist[1] == 7, "pred hist %g %g", m.pred_hist[0], m.pred_hist[1]);
  CHECK(has_warning(&m, "test: group 2 (y=1 waterbird, a=0) has no rows"), "empty group warning missing (%d warnings: %s)",
        m.n_warnings, m.n_warnings ? m.warnings[0] : "");
  CHECK(!has_warning(&m, "predictions are class"), "no collapse here");
  printf("metrics: avg %.4f adjusted %.4f worst %.4f gap %.4f; warning '%s'\n", m.avg_acc,
         m.avg_acc_adjusted, m.worst_group_acc, m.gap, m.warnings[0]);

  /* collapse: 200 rows, 199 predicted class 0 */
  int32_t y2[200], p2[200], a2[200];
  for (int i = 0; i < 200; i++) y2[i] = i % 2, a2[i] = (i / 2) % 2, p2[i] = i == 7;
  cd_group_metrics_compute(&m, p2, y2, a2, NULL, 200, NULL, "val", names);
  CHECK(has_warning(&m, "val: 99.5% of the predictions are class 0 landbird"), "collapse warning missing");
  CHECK(isnan(m.avg_acc_adjusted), "adjusted average without train counts should be undefined");
  CHECK(near(m.worst_group_acc, 0.0), "worst %g", m.worst_group_acc);

  /* a subset of rows, and an unknown attribute on one of them */
  int rows[3] = {0, 5, 9};
  int32_t a3[12];
  memcpy(a3, A, sizeof a3);
  a3[9] = -1;
  cd_group_metrics_compute(&m, P, Y, a3, rows, 3, train, "val", NULL);
  CHECK(m.n_rows == 3 && m.n_ungrouped == 1 && m.n[0] == 1 && m.n[1] == 1 && m.n[3] == 0,
        "rows subset: %lld rows, %lld ungrouped", (long long)m.n_rows, (long long)m.n_ungrouped);
  CHECK(near(m.avg_acc, 2.0 / 3) && near(m.worst_group_acc, 0.0) && m.worst_group == 1 && has_warning(&m, "1 rows have no known attribute"),
        "subset avg %g worst %g", m.avg_acc, m.worst_group_acc);
  cd_group_metrics_free(&m);

  /* no attribute at all: the groups are the classes */
  CHECK(!cd_group_metrics_init(&m, 2, 0, &e) && m.G == 2, "class groups");
  cd_group_metrics_compute(&m, P, Y, NULL, NULL, 12, NULL, "test", NULL);
  CHECK(near(m.acc[0], 4.0 / 7) && near(m.acc[1], 4.0 / 5) && near(m.worst_group_acc, 4.0 / 7),
        "class groups acc %g %g", m.acc[0], m.acc[1]);
  cd_group_metrics_free(&m);
}

static void check_summary(void) {
  cd_group_metrics runs[3], s;
  cd_error e;
  const double wg[3] = {0.8, 0.6, 0.7}, avg[3] = {0.9, 0.9, 0.95};
  for (int k = 0; k < 3; k++) {
    cd_group_metrics_init(&runs[k], 2, 2, &e);
    cd_group_metrics_compute(&runs[k], P, Y, A, NULL, 12, NULL, "test", NULL);
    runs[k].worst_group_acc = wg[k];
    runs[k].avg_acc = avg[k];
    runs[k].gap = avg[k] - wg[k];
    runs[k].acc[0] = 0.5 + 0.1 * k;
  }
  cd_group_metrics_warn(&runs[2], "seed 2 only");
  cd_group_metrics_init(&s, 2, 2, &e);
  CHECK(!cd_group_metrics_summarize(&s, runs, 3, &e), "%s", e.msg);
  /* mean 0.7, sample std 0.1 (numpy std(ddof=1)) */
  CHECK(fabs(s.worst_group_acc - 0.7) < 1e-12 && fabs(s.worst_group_acc_std - 0.1) < 1e-12,
        "worst %g ± %g", s.worst_group_acc, s.worst_group_acc_std);
  double gm = (0.1 + 0.3 + 0.25) / 3, gs = sqrt(((0.1 - gm) * (0.1 - gm) + (0.3 - gm) * (0.3 - gm) + (0.25 - gm) * (0.25 - gm)) / 2);
  CHECK(fabs(s.gap - gm) < 1e-12 && fabs(s.gap_std - gs) < 1e-12, "gap %g ± %g vs %g ± %g", s.gap, s.gap_std, gm, gs);
  CHECK(fabs(s.acc[0] - 0.6) < 1e-12 && fabs(s.acc_std[0] - 0.1) < 1e-12 && isnan(s.acc[2]) && s.n[3] == 5,
        "group 0 %g ± %g", s.acc[0], s.acc_std[0]);
  CHECK(s.n_runs == 3 && has_warning(&s, "seed 2 only") && has_warning(&s, "has no rows"), "merged warnings (%d)", s.n_warnings);
  cd_group_metrics one;
  cd_group_metrics_init(&one, 2, 2, &e);
  cd_group_metrics_summarize(&one, runs, 1, &e);
  CHECK(one.worst_group_acc == 0.8 && one.worst_group_acc_std == 0, "one seed: std 0");
  printf("summary over 3 seeds: worst %.4f ± %.4f, gap %.4f ± %.4f\n", s.worst_group_acc,
         s.worst_group_acc_std, s.gap, s.gap_std);
  for (int k = 0; k < 3; k++) cd_group_metrics_free(&runs[k]);
  cd_group_metrics_free(&s);
  cd_group_metrics_free(&one);
}

static void check_selection(void) {
  cd_selector s;
  cd_selector_init(&s);
  /* epoch: pseudo worst, true worst */
  const double ps[5] = {0.5, 0.7, 0.7, 0.6, 0.65}, tr[5] = {0.4, 0.3, 0.8, 0.8, NAN};
  int masks[5];
  for (int e = 0; e < 5; e++) masks[e] = cd_selector_offer(&s, e + 1, ps[e], tr[e]);
  CHECK(cd_selector_epoch(&s, CD_SELECT_VAL_PSEUDO) == 2, "val-pseudo picked %d (tie keeps 2)", cd_selector_epoch(&s, CD_SELECT_VAL_PSEUDO));
  CHECK(cd_selector_epoch(&s, CD_SELECT_VAL_TRUE) == 3, "val-true picked %d", cd_selector_epoch(&s, CD_SELECT_VAL_TRUE));
  CHECK(cd_selector_epoch(&s, CD_SELECT_LAST) == 5, "last picked %d", cd_selector_epoch(&s, CD_SELECT_LAST));
  CHECK(masks[1] == ((1 << CD_SELECT_VAL_PSEUDO) | (1 << CD_SELECT_LAST)) && masks[2] == ((1 << CD_SELECT_VAL_TRUE) | (1 << CD_SELECT_LAST)),
        "masks %d %d", masks[1], masks[2]);
  cd_selector_init(&s);
  cd_selector_offer(&s, 1, NAN, NAN);
  int m2 = cd_selector_offer(&s, 2, NAN, NAN);
  CHECK(cd_selector_epoch(&s, CD_SELECT_VAL_TRUE) == 2 && (m2 & (1 << CD_SELECT_VAL_TRUE)),
        "undefined values fall back to the last epoch");
  CHECK(cd_select_parse("val-true") == CD_SELECT_VAL_TRUE && cd_select_parse("best") == -1, "names");
}

int main(void) {
  check_groups();
  check_metrics();
  check_summary();
  check_selection();
  return cd_test_finish("test_group_metrics");
}
