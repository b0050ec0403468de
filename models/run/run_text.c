/* The training-free methods of a run (zeroshot, orth-proj, orth-cali, roboshot): one
 * classifier from text each, seed-independent, recomputed on every run (they take
 * milliseconds). Each writes <method>/predictions.npy and one metrics line (epoch 0). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/npy.h"
#include "models/debias/orth_proj.h"
#include "models/debias/roboshot.h"
#include "models/run/run_internal.h"

/* Orth-Proj / Orth-Cali class features T [C, E] from the attribute prompts (the spurious
 * prompts) and, for orth-cali, the candidate prompts of every (class, attribute) with the
 * calibration pairs: same class, every two attribute values (debias_vl's S). */
static int orth_classes(const cd_run_state *st, cd_method m, float *T, cd_error *e) {
  const cd_run_text *t = st->text;
  int K = t->n_attr_prompts, C = st->C, n_pairs = 0;
  int *pairs = NULL;
  if (m == CD_METHOD_ORTH_CALI) {
    if (t->n_cali != C * K) return cd_fail(e, "orth-cali: %d candidate prompts for %d classes x %d attribute values", t->n_cali, C, K);
    if (!(pairs = cd_malloc(sizeof(int) * 2 * (size_t)C * K * K, e))) return -1;
    for (int c = 0; c < C; c++)
      for (int i = 0; i < K; i++)
        for (int j = i + 1; j < K; j++) pairs[2 * n_pairs] = c * K + i, pairs[2 * n_pairs + 1] = c * K + j, n_pairs++;
  }
  cd_orth_cali o;
  double lambda = m == CD_METHOD_ORTH_CALI ? st->cfg->debias.orth_lambda : 0;
  int rc = cd_orth_cali_init(&o, st->attr_feat, K, st->E, st->cali_feat, pairs, n_pairs, lambda, e);
  if (!rc) rc = cd_orth_cali_classes(&o, st->class_feat, C, T, e);
  cd_orth_cali_free(&o);
  free(pairs);
  return rc;
}

/* RoboShot: the splits' features with the attribute directions rejected, in a copy of the
 * state (the reject pairs: attribute prompt 0 against every other; no useful pairs). */
static int roboshot_view(const cd_run_state *st, cd_run_state *view, cd_error *e) {
  const cd_run_text *t = st->text;
  int K = t->n_attr_prompts, E = st->E;
  *view = *st;
  for (int s = 0; s < CD_SPLITS; s++) view->xs[s] = NULL;
  int *pairs = cd_malloc(sizeof(int) * 2 * (size_t)K, e);
  double *Q = cd_malloc(sizeof(double) * (size_t)K * E, e);
  int rc = pairs && Q ? 0 : -1;
  for (int k = 1; k < K && !rc; k++) pairs[2 * (k - 1)] = 0, pairs[2 * (k - 1) + 1] = k;
  int r = rc ? 0 : cd_roboshot_basis(st->attr_feat, E, pairs, K - 1, Q, e);
  if (r < 0) rc = -1;
  for (int s = 0; s < CD_SPLITS && !rc; s++) {
    size_t n = (size_t)st->n_rows[s] * E;
    if (!(view->xs[s] = cd_malloc(sizeof(float) * (n ? n : 1), e))) rc = -1;
    else memcpy(view->xs[s], st->xs[s], sizeof(float) * n);
    if (!rc) rc = cd_roboshot_transform(view->xs[s], st->n_rows[s], E, Q, r, NULL, 0, e);
  }
  free(pairs);
  free(Q);
  return rc;
}

static int save_predictions(const cd_run_state *st, cd_method m, const int32_t *pred, cd_error *e) {
  char dir[4200], path[4200];
  int64_t shape[1] = {st->N};
  const char *name = cd_method_name(m);
  if (cd_run_path(dir, sizeof dir, st, name, -1, "") || cd_run_path(path, sizeof path, st, name, -1, "predictions.npy"))
    return cd_fail(e, "%s: path too long", st->cfg->out_dir);
  return cd_make_dirs(dir, e) || cd_npy_save(path, CD_I32, 1, shape, pred, e) ? -1 : 0;
}

/* The zero-shot head (exp(logit scale) · cosine) with class features T on the state's
 * features: predictions of every row, its metrics and the mean training cross-entropy. */
static int evaluate_text(const cd_run_state *st, cd_method m, const float *T, int32_t *pred, FILE *lines,
                         cd_error *e) {
  cd_head h;
  cd_run_eval ev;
  if (cd_head_init_linear(&h, T, st->C, st->E, st->m->logit_scale_log, e)) return -1;
  int n = st->n_rows[CD_SPLIT_TRAIN];
  double *ce = cd_malloc(sizeof(double) * (size_t)n, e), loss = 0;
  int rc = !ce || cd_run_eval_init(&ev, st, e) ? -1 : 0;
  if (!rc) {
    rc = cd_head_predict(&h, st->xs[CD_SPLIT_TRAIN], n, st->ys[CD_SPLIT_TRAIN], NULL, NULL, ce, e) ||
         cd_run_evaluate(st, &h, &ev, e) || cd_run_predict_all(st, &h, pred, e) || save_predictions(st, m, pred, e);
    for (int i = 0; !rc && i < n; i++) loss += ce[i] / n;
    if (!rc) cd_run_write_metrics_line(lines, cd_method_name(m), -1, 0, loss, NAN, NULL, NULL, NULL, 0, &ev);
    cd_run_eval_free(&ev);
  }
  free(ce);
  cd_head_free(&h);
  return rc ? -1 : 0;
}

int cd_run_text_method(const cd_run_state *st, cd_method m, int32_t *pred, FILE *lines, cd_error *e) {
  if (m == CD_METHOD_ZEROSHOT) return evaluate_text(st, m, st->class_feat, pred, lines, e);
  if (m == CD_METHOD_ROBOSHOT) {
    cd_run_state view;
    int rc = roboshot_view(st, &view, e) || evaluate_text(&view, m, st->class_feat, pred, lines, e);
    for (int s = 0; s < CD_SPLITS; s++) free(view.xs[s]);
    return rc ? cd_fail_prefix(e, "roboshot") : 0;
  }
  float *T = cd_malloc(sizeof(float) * (size_t)st->C * st->E, e);
  int rc = !T || orth_classes(st, m, T, e) || evaluate_text(st, m, T, pred, lines, e) ? -1 : 0;
  free(T);
  return rc;
}
