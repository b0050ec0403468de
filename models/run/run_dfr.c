/* DFR and dfr-pseudo in a run (see dfr.h): one fit per seed on the validation features, over
 * true groups (dfr, annotations) or pseudo groups (dfr-pseudo), into
 * <method>/seed<k>/: predictions.npy, metrics.jsonl (one line, epoch 0), dfr.json (the C grid,
 * each C's held-out worst-group accuracy, the chosen C and the averaged head), done.json last.
 * Its validation numbers are not held out: DFR fits on the validation set. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json_write.h"
#include "core/npy.h"
#include "core/progress.h"
#include "data/groups/groups.h"
#include "models/debias/dfr.h"
#include "models/run/run_internal.h"

static int fit(const cd_run_state *st, cd_method m, int seed, cd_dfr_model *model, cd_error *e) {
  int nv = st->n_rows[CD_SPLIT_VAL], pseudo = m == CD_METHOD_DFR_PSEUDO;
  int32_t *g = cd_malloc(sizeof(int32_t) * (size_t)nv, e);
  if (!g) return -1;
  const int32_t *a = pseudo ? st->a_pseudo : st->n_attr > 0 ? st->cache->a : NULL;
  cd_groups_assign(st->cache->y, a, st->rows[CD_SPLIT_VAL], nv, pseudo ? st->K : st->n_attr, g);
  const cd_debias_params *p = &st->cfg->debias;
  cd_dfr_data d = {st->xs[CD_SPLIT_VAL], st->ys[CD_SPLIT_VAL], g, nv, st->xs[CD_SPLIT_TRAIN],
                   st->n_rows[CD_SPLIT_TRAIN], st->E, st->C, pseudo ? st->G_pseudo : st->G};
  /* the val row indices are local to the split: y and g are gathered per split */
  cd_dfr_opts o = {p->dfr_c, p->n_dfr_c, p->dfr_fits, (uint64_t)seed};
  int rc = cd_dfr_fit(&d, &o, model, e);
  free(g);
  return rc;
}

static void write_dfr_json(cd_jw *w, const cd_run_state *st, const cd_dfr_model *m) {
  const cd_debias_params *p = &st->cfg->debias;
  cd_jw_obj_block(w);
  cd_jw_key(w, "c_grid");
  cd_jw_arr(w);
  for (int k = 0; k < p->n_dfr_c; k++) cd_jw_g17(w, p->dfr_c[k]);
  cd_jw_end(w);
  cd_jw_key(w, "held_out_worst_group_acc");
  cd_jw_arr(w);
  for (int k = 0; k < p->n_dfr_c; k++) cd_jw_fixed(w, m->held_out_wga[k], 6);
  cd_jw_end(w);
  cd_jw_key(w, "c");
  cd_jw_g17(w, m->c);
  cd_jw_kint(w, "fits", p->dfr_fits);
  cd_jw_kint(w, "tune_per_group", m->tune_per_group);
  cd_jw_kint(w, "final_per_group", m->final_per_group);
  cd_jw_kint(w, "outputs", m->k);
  cd_jw_key(w, "nonzero_weights");
  cd_jw_arr(w);
  for (int c = 0; c < m->k; c++) {
    int nz = 0;
    for (int j = 0; j < m->d; j++) nz += m->w[(size_t)c * (m->d + 1) + j] != 0;
    cd_jw_int(w, nz);
  }
  cd_jw_end(w);
  cd_jw_end(w);
}

static void write_done_json(cd_jw *w, cd_method m, int seed, const cd_dfr_model *model, const cd_run_eval *ev,
                            double seconds) {
  cd_jw_obj_block(w);
  cd_jw_kstr(w, "method", cd_method_name(m));
  cd_jw_kint(w, "seed", seed);
  cd_jw_kstr(w, "head", "dfr");
  cd_jw_kint(w, "epochs", 0);
  cd_jw_kint(w, "selected_epoch", 0);
  cd_jw_key(w, "c");
  cd_jw_g17(w, model->c);
  cd_jw_key(w, "wall_seconds");
  cd_jw_fixed(w, seconds, 3);
  cd_jw_key(w, "val");
  cd_eval_write_split(w, &ev->val);
  cd_jw_key(w, "test");
  cd_eval_write_split(w, &ev->test);
  cd_jw_end(w);
}

static int write_file(const cd_run_state *st, cd_method m, int seed, const char *name, const char *buf, size_t n,
                      cd_error *e) {
  char path[4200];
  if (cd_run_path(path, sizeof path, st, cd_method_name(m), seed, name)) return cd_fail(e, "path too long");
  return cd_write_file_atomic(path, buf, n, e);
}

/* dfr.json, predictions.npy, metrics.jsonl, then done.json. */
static int write_pair(const cd_run_state *st, cd_method m, int seed, const cd_dfr_model *model, cd_run_eval *ev,
                      double seconds, cd_error *e) {
  char path[4200], *buf = NULL;
  size_t n = 0;
  int64_t shape[1] = {st->N};
  cd_jw w;
  FILE *fp = open_memstream(&buf, &n);
  if (!fp) return cd_fail(e, "run: out of memory");
  cd_jw_init(&w, fp);
  write_dfr_json(&w, st, model);
  fputc('\n', fp);
  fclose(fp);
  int rc = write_file(st, m, seed, "dfr.json", buf, n, e);
  free(buf), buf = NULL;
  if (!rc) rc = cd_run_path(path, sizeof path, st, cd_method_name(m), seed, "predictions.npy")
                    ? cd_fail(e, "path too long") : cd_npy_save(path, CD_I32, 1, shape, ev->pred, e);
  if (!rc && (fp = open_memstream(&buf, &n))) {
    cd_run_write_metrics_line(fp, cd_method_name(m), seed, 0, NAN, NAN, NULL, NULL, NULL, 0, ev);
    fclose(fp);
    rc = write_file(st, m, seed, "metrics.jsonl", buf, n, e);
    free(buf), buf = NULL;
  }
  if (!rc && (fp = open_memstream(&buf, &n))) {
    cd_jw_init(&w, fp);
    write_done_json(&w, m, seed, model, ev, seconds);
    fputc('\n', fp);
    fclose(fp);
    rc = write_file(st, m, seed, "done.json", buf, n, e);
    free(buf);
  }
  return rc;
}

int cd_run_fit_pair(const cd_run_state *st, cd_method m, int seed, cd_error *e) {
  double t0 = cd_time_now();
  char dir[4200];
  cd_dfr_model model;
  cd_run_eval ev;
  if (cd_run_path(dir, sizeof dir, st, cd_method_name(m), seed, "")) return cd_fail(e, "path too long");
  if (cd_make_dirs(dir, e) || cd_run_eval_init(&ev, st, e)) return -1;
  int rc = fit(st, m, seed, &model, e);
  if (!rc) {
    rc = cd_dfr_predict(&model, st->x, st->N, ev.pred, e);
    if (!rc) cd_run_evaluate_pred(st, &ev);
    if (!rc) rc = write_pair(st, m, seed, &model, &ev, cd_time_now() - t0, e);
    if (!rc && st->log)
      fprintf(st->log, "%-11s seed %-3d C %g (held-out worst group %.2f%%): test avg %.2f%%  worst group %.2f%%  [%.1f s]\n",
              cd_method_name(m), seed, model.c, 100 * model.held_out_wga[model.c_index], 100 * ev.test.avg_acc,
              100 * ev.test.worst_group_acc, cd_time_now() - t0);
    cd_dfr_free(&model);
  }
  cd_run_eval_free(&ev);
  if (rc) cd_fail_prefix(e, "%s seed %d", cd_method_name(m), seed);
  return rc;
}
