/* Summary of a run: results.json and the table (see run_results.h). */
#include "models/run/run_results.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"
#include "core/json_write.h"
#include "core/npy.h"
#include "data/groups/groups.h"

void cd_run_results_free(cd_run_results *r) {
  for (int k = 0; k < r->n; k++) {
    free(r->m[k].seeds);
    free(r->m[k].diverged_seeds);
    free(r->m[k].diverged);
    cd_group_metrics_free(&r->m[k].val);
    cd_group_metrics_free(&r->m[k].test);
  }
  free(r->m);
  cd_pseudo_stats_free(&r->pseudo);
  memset(r, 0, sizeof *r);
}

/* Selected epoch (done.json) and predictions of one finished pair. */
static int load_pair(const cd_run_state *st, cd_method m, int seed, int *epoch, int32_t *pred, cd_error *e) {
  char path[4200];
  const char *name = cd_method_name(m);
  if (cd_run_path(path, sizeof path, st, name, seed, "done.json")) return cd_fail(e, "path too long");
  cd_json_doc *doc = cd_json_parse_file(path, 1 << 24, e);
  if (!doc) return -1;
  *epoch = (int)cd_json_get_int(cd_json_root(doc), "selected_epoch", -1);
  cd_json_free(doc);
  cd_array a;
  if (cd_run_path(path, sizeof path, st, name, seed, "predictions.npy") || cd_npy_load_labels(path, &a, e)) return -1;
  int ok = (int64_t)a.numel == st->N;
  if (ok) memcpy(pred, a.data, sizeof(int32_t) * (size_t)st->N);
  cd_array_free(&a);
  return ok ? 0 : cd_fail(e, "%s: %s predictions for %d cache rows", path, "wrong number of", st->N);
}

/* Per-seed metrics of one split, then their summary into out. */
static int summarize(const cd_run_state *st, int32_t *const *preds, int S, int split, cd_group_metrics *out,
                     cd_error *e) {
  cd_group_metrics *runs = cd_calloc((size_t)S, sizeof *runs, e);
  int rc = runs ? cd_group_metrics_init(out, st->C, st->n_attr, e) : -1;
  for (int s = 0; s < S && !rc; s++) {
    rc = cd_group_metrics_init(&runs[s], st->C, st->n_attr, e);
    if (!rc) cd_run_split_metrics(st, preds[s], split, &runs[s]);
  }
  if (!rc) rc = cd_group_metrics_summarize(out, runs, S, e);
  for (int s = 0; runs && s < S; s++) cd_group_metrics_free(&runs[s]);
  free(runs);
  return rc;
}

/* The seeds of method m that diverged (diverged.json) into r; 0 when none did. */
static int collect_diverged(const cd_run_state *st, cd_method m, cd_run_method_result *r, cd_error *e) {
  const cd_run_config *c = st->cfg;
  if (cd_method_kind_of(m) == CD_KIND_TEXT) return 0;
  r->diverged = cd_calloc((size_t)c->n_seeds, sizeof *r->diverged, e);
  r->diverged_seeds = cd_calloc((size_t)c->n_seeds, sizeof(int), e);
  if (!r->diverged || !r->diverged_seeds) return -1;
  for (int s = 0; s < c->n_seeds; s++) {
    int was = cd_run_pair_divergence(st, m, c->seeds[s], &r->diverged[r->n_diverged], e);
    if (was < 0) return -1;
    if (was) r->diverged_seeds[r->n_diverged++] = c->seeds[s];
  }
  return 0;
}

static int collect_method(const cd_run_state *st, cd_method m, const int32_t *text_pred, cd_run_method_result *r,
                          cd_error *e) {
  const cd_run_config *c = st->cfg;
  int text = cd_method_kind_of(m) == CD_KIND_TEXT;
  int S = text ? 1 : c->n_seeds;
  r->method = m;
  if (collect_diverged(st, m, r, e)) return -1;
  if (r->n_diverged) return 0;
  r->n_seeds = S;
  r->seeds = cd_calloc((size_t)S * 2, sizeof(int), e);
  int32_t **preds = cd_calloc((size_t)S, sizeof(int32_t *), e);
  int rc = r->seeds && preds ? 0 : -1;
  if (!rc) r->selected_epoch = r->seeds + S;
  for (int s = 0; s < S && !rc; s++) {
    if (!(preds[s] = cd_malloc(sizeof(int32_t) * (size_t)st->N, e))) rc = -1;
    else if (text) memcpy(preds[s], text_pred, sizeof(int32_t) * (size_t)st->N);
    else rc = load_pair(st, m, c->seeds[s], &r->selected_epoch[s], preds[s], e);
    if (!rc) r->seeds[s] = text ? -1 : c->seeds[s];
  }
  if (!rc) rc = summarize(st, preds, S, CD_SPLIT_VAL, &r->val, e) || summarize(st, preds, S, CD_SPLIT_TEST, &r->test, e);
  for (int s = 0; preds && s < S; s++) free(preds[s]);
  free(preds);
  return rc ? -1 : 0;
}

int cd_run_results_collect(const cd_run_state *st, int32_t *const *text_pred, cd_run_results *r, cd_error *e) {
  memset(r, 0, sizeof *r);
  const cd_run_config *c = st->cfg;
  r->m = cd_calloc((size_t)c->n_methods, sizeof *r->m, e);
  if (!r->m) return -1;
  r->n = c->n_methods;
  for (int k = 0; k < c->n_methods; k++)
    if (collect_method(st, c->methods[k], text_pred[c->methods[k]], &r->m[k], e)) return cd_run_results_free(r), -1;
  /* pseudo-label accuracy over the rows it was inferred for: train and val */
  int n, *rows;
  if (cd_pseudo_rows(st->cache->split, st->N, &rows, &n, e)) return cd_run_results_free(r), -1;
  int rc = cd_pseudo_stats_compute(&r->pseudo, st->a_pseudo, st->n_attr > 0 ? st->cache->a : NULL, st->cache->y,
                                   rows, n, st->C, st->K, e);
  free(rows);
  if (rc) cd_run_results_free(r);
  return rc;
}

static void write_pseudo(cd_jw *w, const cd_run_state *st, const cd_pseudo_stats *p) {
  static const char *const SPLITS[2] = {"train", "val"};
  cd_jw_knum(w, "pseudo_label_acc", p->acc);
  cd_jw_key(w, "pseudo_labels");
  cd_jw_obj(w);
  cd_jw_key(w, "splits");
  cd_jw_strs(w, SPLITS, 2);
  cd_pseudo_stats_write(w, p);
  cd_jw_key(w, "train_group_counts");
  cd_jw_ints(w, st->pseudo_counts, st->G_pseudo);
  cd_jw_end(w);
}

static void write_diverged_method(cd_jw *w, const cd_run_state *st, const cd_run_method_result *m) {
  cd_jw_key(w, cd_method_name(m->method));
  cd_jw_obj_block(w);
  cd_jw_kstr(w, "status", "diverged");
  cd_jw_key(w, "seeds");
  cd_jw_int32s(w, (const int32_t *)st->cfg->seeds, st->cfg->n_seeds);
  cd_jw_key(w, "selected_epoch");
  cd_jw_arr(w);
  cd_jw_end(w);
  cd_jw_kint(w, "epochs", st->cfg->optim.max_epoch);
  cd_jw_key(w, "diverged");
  cd_jw_arr_block(w);
  for (int i = 0; i < m->n_diverged; i++) {
    const cd_run_divergence *d = &m->diverged[i];
    cd_jw_obj(w);
    cd_jw_kint(w, "seed", m->diverged_seeds[i]);
    cd_jw_kint(w, "epoch", d->epoch);
    cd_jw_knum(w, "loss", d->loss);
    cd_jw_kstr(w, "likely_flag", d->likely_flag);
    cd_jw_kstr(w, "message", d->message);
    cd_jw_end(w);
  }
  cd_jw_end(w);
  cd_jw_key(w, "test");
  cd_jw_null(w);
  cd_jw_key(w, "val");
  cd_jw_null(w);
  cd_jw_end(w);
}

const char *cd_run_labels_used(const cd_run_state *st, cd_method m) {
  return cd_method_labels_name(cd_method_labels_used(m, st->cfg->select == CD_SELECT_VAL_TRUE));
}

const char *cd_run_attr_names_used(const cd_run_resolved *res, cd_method m) {
  if (!cd_method_uses_attr_prompts(m)) return "none";
  return res->attr_source ? res->attr_source : "given";
}

static void write_method(cd_jw *w, const cd_run_state *st, const cd_run_resolved *res, const cd_run_method_result *m) {
  cd_method_kind kind = cd_method_kind_of(m->method);
  if (m->n_diverged) return write_diverged_method(w, st, m);
  cd_jw_key(w, cd_method_name(m->method));
  cd_jw_obj_block(w);
  cd_jw_kstr(w, "status", "finished");
  cd_jw_key(w, "seeds");
  if (kind == CD_KIND_TEXT) cd_jw_null(w);
  else cd_jw_int32s(w, (const int32_t *)m->seeds, m->n_seeds);
  cd_jw_key(w, "uses");
  cd_jw_obj(w);
  cd_jw_kstr(w, "labels", cd_run_labels_used(st, m->method));
  cd_jw_kstr(w, "attr_names", cd_run_attr_names_used(res, m->method));
  cd_jw_end(w);
  cd_jw_kstr(w, "citation", cd_method_citation(m->method));
  cd_jw_key(w, "selected_epoch");
  cd_jw_int32s(w, (const int32_t *)m->selected_epoch, m->n_seeds);
  cd_jw_kint(w, "epochs", kind == CD_KIND_TUNE ? st->cfg->optim.max_epoch : 0);
  cd_jw_key(w, "test");
  cd_eval_write_split(w, &m->test);
  cd_jw_key(w, "val");
  cd_eval_write_split(w, &m->val);
  cd_jw_end(w);
}

int cd_run_results_write(const cd_run_state *st, const cd_run_resolved *res, const cd_run_results *r,
                         double wall_seconds, cd_error *e) {
  const cd_run_config *c = st->cfg;
  char path[4200];
  cd_atomic_file af;
  cd_jw w;
  if (cd_path_join(path, sizeof path, c->out_dir, "results.json")) return cd_fail(e, "%s: path too long", c->out_dir);
  if (cd_jw_open(&w, &af, path, e)) return -1;
  cd_jw_obj_block(&w);
  cd_jw_kint(&w, "version", 1);
  cd_jw_kstr(&w, "dataset", res->dataset);
  cd_jw_kstr(&w, "model", c->model);
  cd_jw_kstr_or_null(&w, "model_checksum", res->model_checksum);
  cd_jw_kstr(&w, "cache", res->cache_dir);
  cd_jw_key(&w, "cache_checksums");
  cd_jw_obj(&w);
  cd_jw_kstr_or_null(&w, "index", res->index_checksum);
  cd_jw_kstr_or_null(&w, "features", res->features_checksum);
  cd_jw_end(&w);
  cd_jw_key(&w, "templates");
  cd_jw_strs(&w, res->templates, res->n_templates);
  if (c->precision != CD_PREC_FP32) cd_jw_kstr(&w, "precision", cd_precision_name(c->precision));
  cd_jw_kstr(&w, "head", cd_head_kind_name(c->head));
  cd_jw_kstr(&w, "select", cd_select_name(c->select));
  cd_jw_key(&w, "seeds");
  cd_jw_int32s(&w, (const int32_t *)c->seeds, c->n_seeds);
  cd_jw_key(&w, "classnames");
  cd_jw_strs(&w, (const char *const *)res->classnames, res->n_cls);
  cd_jw_key(&w, "attr_names");
  cd_jw_strs(&w, (const char *const *)res->attr_names, res->n_attr);
  cd_jw_key(&w, "attr_prompts");
  cd_jw_strs(&w, res->attr_prompts, res->n_attr_prompts);
  cd_jw_kint(&w, "n_groups", st->G);
  cd_jw_key(&w, "train_group_counts");
  cd_jw_ints(&w, st->train_counts, st->G);
  cd_jw_key(&w, "rows");
  cd_jw_obj(&w);
  cd_jw_kint(&w, "train", st->n_rows[0]);
  cd_jw_kint(&w, "val", st->n_rows[1]);
  cd_jw_kint(&w, "test", st->n_rows[2]);
  cd_jw_end(&w);
  write_pseudo(&w, st, &r->pseudo);
  cd_jw_key(&w, "methods");
  cd_jw_obj_block(&w);
  for (int k = 0; k < r->n; k++) write_method(&w, st, res, &r->m[k]);
  cd_jw_end(&w);
  cd_jw_key(&w, "method_order");
  cd_jw_arr(&w);
  for (int k = 0; k < r->n; k++) cd_jw_str(&w, cd_method_name(r->m[k].method));
  cd_jw_end(&w);
  cd_jw_key(&w, "wall_seconds");
  cd_jw_fixed(&w, wall_seconds, 3);
  cd_jw_end(&w);
  return cd_jw_commit(&w, &af, e);
}

/* "90.12 ± 0.31" (or "90.12" for one run, "-" when undefined) into buf. */
static void cell(char *buf, size_t cap, double v, double sd, int runs) {
  if (!isfinite(v)) snprintf(buf, cap, "-");
  else if (runs > 1) snprintf(buf, cap, "%.2f ± %.2f", 100 * v, 100 * sd);
  else snprintf(buf, cap, "%.2f", 100 * v);
}

void cd_run_results_print(FILE *fp, const cd_run_state *st, const cd_run_resolved *res, const cd_run_results *r) {
  fprintf(fp, "\ntest (%d rows), accuracy in %% (mean ± std over seeds; selection %s)\n", st->n_rows[CD_SPLIT_TEST],
          cd_select_name(st->cfg->select));
  fprintf(fp, "%-12s %-16s %-16s %-16s %-16s %-24s %s\n", "method", "avg", "adjusted avg", "worst group", "gap",
          "group labels", "attr names");
  for (int k = 0; k < r->n; k++) {
    const cd_group_metrics *t = &r->m[k].test;
    char c1[40], c2[40], c3[40], c4[40];
    if (r->m[k].n_diverged) {
      fprintf(fp, "%-12s diverged (", cd_method_name(r->m[k].method));
      for (int i = 0; i < r->m[k].n_diverged; i++)
        fprintf(fp, "%sseed %d in epoch %d", i ? ", " : "", r->m[k].diverged_seeds[i], r->m[k].diverged[i].epoch);
      fprintf(fp, "): no accuracy\n");
      continue;
    }
    cell(c1, sizeof c1, t->avg_acc, t->avg_acc_std, t->n_runs);
    cell(c2, sizeof c2, t->avg_acc_adjusted, t->avg_acc_adjusted_std, t->n_runs);
    cell(c3, sizeof c3, t->worst_group_acc, t->worst_group_acc_std, t->n_runs);
    cell(c4, sizeof c4, t->gap, t->gap_std, t->n_runs);
    /* "±" is two bytes in UTF-8: pad by display width */
    fprintf(fp, "%-12s %-*s %-*s %-*s %-*s %-24s %s\n", cd_method_name(r->m[k].method), 16 + (int)(strstr(c1, "±") != NULL), c1,
            16 + (int)(strstr(c2, "±") != NULL), c2, 16 + (int)(strstr(c3, "±") != NULL), c3,
            16 + (int)(strstr(c4, "±") != NULL), c4, cd_run_labels_used(st, r->m[k].method),
            cd_run_attr_names_used(res, r->m[k].method));
  }
  cd_pseudo_stats_print(fp, &r->pseudo, st->classnames);
  for (int k = 0; k < r->n; k++)
    for (int w = 0; !r->m[k].n_diverged && w < r->m[k].test.n_warnings; w++)
      fprintf(fp, "warning: %s: %s\n", cd_method_name(r->m[k].method), r->m[k].test.warnings[w]);
}
