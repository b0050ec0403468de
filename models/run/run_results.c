/* Summary of a run: results.json and the table (see run_results.h). */
#include "models/run/run_results.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"
#include "core/npy.h"
#include "data/groups/groups.h"
#include "models/debias/jsonw.h"

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

static void write_pseudo(FILE *fp, const cd_run_state *st, const cd_pseudo_stats *p) {
  fputs("  \"pseudo_label_acc\": ", fp);
  cd_jw_num(fp, p->acc);
  fputs(",\n  \"pseudo_labels\": {\"splits\": [\"train\", \"val\"], ", fp);
  cd_pseudo_stats_write(fp, p);
  fputs(", \"train_group_counts\": ", fp);
  cd_jw_ints(fp, st->pseudo_counts, st->G_pseudo);
  fputs("},\n", fp);
}

static void write_diverged_method(FILE *fp, const cd_run_state *st, const cd_run_method_result *m) {
  fprintf(fp, "    \"%s\": {\n      \"status\": \"diverged\",\n      \"seeds\": ", cd_method_name(m->method));
  cd_jw_int32s(fp, (const int32_t *)st->cfg->seeds, st->cfg->n_seeds);
  fprintf(fp, ",\n      \"selected_epoch\": [],\n      \"epochs\": %d,\n      \"diverged\": [", st->cfg->optim.max_epoch);
  for (int i = 0; i < m->n_diverged; i++) {
    const cd_run_divergence *d = &m->diverged[i];
    fprintf(fp, "%s\n        {\"seed\": %d, \"epoch\": %d, \"loss\": ", i ? "," : "", m->diverged_seeds[i], d->epoch);
    cd_jw_num(fp, d->loss);
    fputs(", \"likely_flag\": ", fp);
    cd_json_write_string(fp, d->likely_flag);
    fputs(", \"message\": ", fp);
    cd_json_write_string(fp, d->message);
    fputs("}", fp);
  }
  fputs("\n      ],\n      \"test\": null,\n      \"val\": null\n    }", fp);
}

const char *cd_run_labels_used(const cd_run_state *st, cd_method m) {
  return cd_method_labels_name(cd_method_labels_used(m, st->cfg->select == CD_SELECT_VAL_TRUE));
}

const char *cd_run_attr_names_used(const cd_run_resolved *res, cd_method m) {
  if (!cd_method_uses_attr_prompts(m)) return "none";
  return res->attr_source ? res->attr_source : "given";
}

static void write_method(FILE *fp, const cd_run_state *st, const cd_run_resolved *res, const cd_run_method_result *m) {
  cd_method_kind kind = cd_method_kind_of(m->method);
  if (m->n_diverged) return write_diverged_method(fp, st, m);
  fprintf(fp, "    \"%s\": {\n      \"status\": \"finished\",\n      \"seeds\": ", cd_method_name(m->method));
  if (kind == CD_KIND_TEXT) fputs("null", fp);
  else cd_jw_int32s(fp, (const int32_t *)m->seeds, m->n_seeds);
  fprintf(fp, ",\n      \"uses\": {\"labels\": \"%s\", \"attr_names\": \"%s\"}", cd_run_labels_used(st, m->method),
          cd_run_attr_names_used(res, m->method));
  fputs(",\n      \"citation\": ", fp);
  cd_json_write_string(fp, cd_method_citation(m->method));
  fputs(",\n      \"selected_epoch\": ", fp);
  cd_jw_int32s(fp, (const int32_t *)m->selected_epoch, m->n_seeds);
  int epochs = kind == CD_KIND_TUNE ? st->cfg->optim.max_epoch : 0;
  fprintf(fp, ",\n      \"epochs\": %d,\n      \"test\": ", epochs);
  cd_eval_write_split(fp, &m->test, "      ");
  fputs(",\n      \"val\": ", fp);
  cd_eval_write_split(fp, &m->val, "      ");
  fputs("\n    }", fp);
}

int cd_run_results_write(const cd_run_state *st, const cd_run_resolved *res, const cd_run_results *r,
                         double wall_seconds, cd_error *e) {
  const cd_run_config *c = st->cfg;
  char path[4200];
  cd_atomic_file af;
  if (cd_path_join(path, sizeof path, c->out_dir, "results.json")) return cd_fail(e, "%s: path too long", c->out_dir);
  if (cd_atomic_open(&af, path, e)) return -1;
  FILE *fp = af.fp;
  fputs("{\n  \"version\": 1,\n  \"dataset\": ", fp);
  cd_json_write_string(fp, res->dataset);
  fputs(",\n  \"model\": ", fp);
  cd_json_write_string(fp, c->model);
  fputs(",\n  \"model_checksum\": ", fp);
  cd_jw_str_or_null(fp, res->model_checksum);
  fputs(",\n  \"cache\": ", fp);
  cd_json_write_string(fp, res->cache_dir);
  fputs(",\n  \"cache_checksums\": {\"index\": ", fp);
  cd_jw_str_or_null(fp, res->index_checksum);
  fputs(", \"features\": ", fp);
  cd_jw_str_or_null(fp, res->features_checksum);
  fputs("},\n  \"templates\": ", fp);
  cd_jw_strings(fp, (char *const *)res->templates, res->n_templates);
  if (c->precision != CD_PREC_FP32) fprintf(fp, ",\n  \"precision\": \"%s\"", cd_precision_name(c->precision));
  fprintf(fp, ",\n  \"head\": \"%s\",\n  \"select\": \"%s\",\n  \"seeds\": ", cd_head_kind_name(c->head),
          cd_select_name(c->select));
  cd_jw_int32s(fp, (const int32_t *)c->seeds, c->n_seeds);
  fputs(",\n  \"classnames\": ", fp);
  cd_jw_strings(fp, res->classnames, res->n_cls);
  fputs(",\n  \"attr_names\": ", fp);
  cd_jw_strings(fp, res->attr_names, res->n_attr);
  fputs(",\n  \"attr_prompts\": ", fp);
  cd_jw_strings(fp, (char *const *)res->attr_prompts, res->n_attr_prompts);
  fprintf(fp, ",\n  \"n_groups\": %d,\n  \"train_group_counts\": ", st->G);
  cd_jw_ints(fp, st->train_counts, st->G);
  fprintf(fp, ",\n  \"rows\": {\"train\": %d, \"val\": %d, \"test\": %d},\n", st->n_rows[0], st->n_rows[1], st->n_rows[2]);
  write_pseudo(fp, st, &r->pseudo);
  fputs("  \"methods\": {\n", fp);
  for (int k = 0; k < r->n; k++) {
    write_method(fp, st, res, &r->m[k]);
    fputs(k + 1 < r->n ? ",\n" : "\n", fp);
  }
  fputs("  },\n  \"method_order\": [", fp);
  for (int k = 0; k < r->n; k++) fprintf(fp, "%s\"%s\"", k ? ", " : "", cd_method_name(r->m[k].method));
  fprintf(fp, "],\n  \"wall_seconds\": %.3f\n}\n", wall_seconds);
  return cd_atomic_commit(&af, e);
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
