/* The collect step of a sweep: every cell's cell.json, results.json and metrics.jsonl into
 * sweep.csv and sweep.json, and into the results sweep.html is drawn from (see sweep.h).
 * Failed and unfinished cells are rows too, with their one-line error, so nothing is lost
 * from the table. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"
#include "core/json_write.h"
#include "core/outdir_lock.h"
#include "data/datasets/feature_cache.h"
#include "models/sweep/sweep_results.h"

static const char *const STAT_KEYS[CD_SW_STATS] = {"avg_acc", "avg_acc_adjusted", "worst_group_acc", "gap"};
static const char *const STAT_COLUMNS[CD_SW_STATS] = {"avg_acc", "adjusted_avg_acc", "worst_group_acc", "gap"};

/* Mean over seeds of the pseudo-group validation worst-group accuracy at each seed's selected
 * epoch (metrics.jsonl). */
static double val_pseudo(const char *jsonl, size_t n, const char *method, const cd_json *seeds, const cd_json *epochs) {
  double sum = 0;
  int got = 0;
  for (size_t s = 0, end; s < n; s = end + 1) {
    for (end = s; end < n && jsonl[end] != '\n'; end++) {}
    cd_json_doc *d = cd_json_parse(jsonl + s, end - s, "metrics.jsonl", NULL);
    if (!d) continue;
    const cd_json *l = cd_json_root(d);
    int n_seeds = seeds && seeds->type == CD_JSON_ARRAY ? (int)seeds->n : 1; /* zero-shot: no seed */
    if (!strcmp(cd_json_get_str(l, "method", ""), method))
      for (int k = 0; epochs && epochs->type == CD_JSON_ARRAY && k < n_seeds && k < (int)epochs->n; k++) {
        const cd_json *sd = cd_json_get(l, "seed");
        int line_seed = sd && sd->type == CD_JSON_NUMBER ? (int)sd->number : -1;
        int want = seeds && seeds->type == CD_JSON_ARRAY ? (int)seeds->items[k].number : -1;
        if (line_seed == want && cd_json_get_int(l, "epoch", -1) == (int64_t)epochs->items[k].number) {
          sum += cd_json_get_num(cd_json_get(l, "val"), "worst_group_acc_pseudo", NAN);
          got++;
        }
      }
    cd_json_free(d);
  }
  return got ? sum / got : NAN;
}

static int read_results(const cd_sweep_plan *p, int i, cd_sweep_cell_result *c, cd_error *e) {
  char path[4300];
  if (cd_path_join(path, sizeof path, p->cells[i].dir, "results.json")) return cd_fail(e, "path too long");
  cd_json_doc *doc = cd_json_parse_file(path, 1 << 26, e);
  if (!doc) return -1;
  uint8_t *jsonl = NULL;
  size_t nl = 0;
  if (cd_path_join(path, sizeof path, p->cells[i].dir, "metrics.jsonl") || cd_file_read(path, (size_t)1 << 30, &jsonl, &nl, e))
    return cd_json_free(doc), -1;
  const cd_json *r = cd_json_root(doc), *order = cd_json_get(r, "method_order"), *ms = cd_json_get(r, "methods");
  for (size_t k = 0; order && k < order->n && c->n_methods < CD_SWEEP_MAX_METHODS; k++) {
    const char *name = order->items[k].str;
    const cd_json *m = cd_json_get(ms, name), *test = cd_json_get(m, "test"), *std = cd_json_get(test, "std");
    cd_sweep_method_row *row = &c->m[c->n_methods++];
    snprintf(row->method, sizeof row->method, "%s", name);
    for (int s = 0; s < CD_SW_STATS; s++) {
      row->test[s] = cd_json_get_num(test, STAT_KEYS[s], NAN);
      row->test_std[s] = cd_json_get_num(std, STAT_KEYS[s], NAN);
    }
    row->val_worst = cd_json_get_num(cd_json_get(m, "val"), "worst_group_acc", NAN);
    row->val_worst_pseudo = val_pseudo((const char *)jsonl, nl, name, cd_json_get(m, "seeds"), cd_json_get(m, "selected_epoch"));
  }
  free(jsonl);
  cd_json_free(doc);
  return 0;
}

static void read_cell(const cd_sweep_plan *p, int i, cd_sweep_cell_result *c) {
  char path[4300];
  memset(c, 0, sizeof *c);
  cd_error e;
  if (cd_path_join(path, sizeof path, p->cells[i].dir, "cell.json") || !cd_file_exists(path)) return;
  cd_json_doc *doc = cd_json_parse_file(path, 1 << 20, &e);
  if (!doc) {
    c->state = CD_CELL_FAILED;
    snprintf(c->error, sizeof c->error, "%s", e.msg);
    return;
  }
  const cd_json *r = cd_json_root(doc);
  const char *status = cd_json_get_str(r, "status", "");
  c->seconds = cd_json_get_num(r, "wall_seconds", NAN);
  c->rss_bytes = cd_json_get_int(r, "peak_rss_bytes", 0);
  snprintf(c->error, sizeof c->error, "%s", cd_json_get_str(r, "error", ""));
  c->state = !strcmp(status, "done") ? CD_CELL_DONE : !strcmp(status, "failed") ? CD_CELL_FAILED : CD_CELL_UNFINISHED;
  cd_json_free(doc);
  if (c->state == CD_CELL_UNFINISHED)
    snprintf(c->error, sizeof c->error, "the cell was stopped before it finished (killed, or the sweep was interrupted)");
  if (c->state == CD_CELL_DONE && read_results(p, i, c, &e)) {
    c->state = CD_CELL_FAILED;
    snprintf(c->error, sizeof c->error, "%s", e.msg);
  }
}

static void csv_field(FILE *fp, const char *s) {
  if (!strpbrk(s, ",\"\n")) {
    fputs(s, fp);
    return;
  }
  fputc('"', fp);
  for (; *s; s++) fputs(*s == '"' ? "\"\"" : (char[2]){*s, 0}, fp);
  fputc('"', fp);
}

static void num(FILE *fp, double v, const char *fmt) {
  if (isfinite(v)) fprintf(fp, fmt, v);
}

static const char *state_name(cd_sweep_cell_state s) {
  return s == CD_CELL_DONE ? "done" : s == CD_CELL_FAILED ? "failed" : s == CD_CELL_UNFINISHED ? "unfinished" : "not run";
}

static const char *reduce_of(const cd_sweep_plan *p, int i) {
  if (!strcmp(cd_sweep_cell_value(p, i, 0), "full")) return "";
  for (int a = 1; a < p->n_axes; a++)
    if (!strcmp(p->axes[a].name, "reduce")) return cd_sweep_cell_value(p, i, a);
  const char *v = cd_sweep_base_flag(p, "reduce");
  return v ? v : "pca";
}

/* One CSV row: the cell's axis values, then the method's numbers (row NULL: none). */
static void csv_row(FILE *fp, const cd_sweep_results *r, int i, const cd_sweep_method_row *row) {
  const cd_sweep_plan *p = r->plan;
  const cd_sweep_cell_result *c = &r->cells[i];
  csv_field(fp, row ? row->method : "");
  fprintf(fp, ",%s,%s,", cd_sweep_cell_value(p, i, 0), reduce_of(p, i));
  csv_field(fp, p->cache_names[p->cells[i].cache]);
  for (int a = 1; a < p->n_axes; a++)
    if (strcmp(p->axes[a].name, "reduce")) fputc(',', fp), csv_field(fp, cd_sweep_cell_value(p, i, a));
  for (int s = 0; s < 2 * CD_SW_STATS; s++) fputc(',', fp), num(fp, row ? (s < 4 ? row->test[s] : row->test_std[s - 4]) : NAN, "%.17g");
  fputc(',', fp), num(fp, row ? row->val_worst : NAN, "%.17g");
  fputc(',', fp), num(fp, row ? row->val_worst_pseudo : NAN, "%.17g");
  fputc(',', fp), num(fp, c->state == CD_CELL_NOT_RUN ? NAN : c->seconds, "%.3f");
  fputc(',', fp), num(fp, c->rss_bytes > 0 ? c->rss_bytes / 1048576.0 : NAN, "%.1f");
  fprintf(fp, ",%s,%s,", p->cells[i].name, state_name(c->state));
  csv_field(fp, c->error);
  fputc('\n', fp);
}

static void write_csv(FILE *fp, const cd_sweep_results *r) {
  const cd_sweep_plan *p = r->plan;
  fputs("method,dims,reduce,cache", fp);
  for (int a = 1; a < p->n_axes; a++)
    if (strcmp(p->axes[a].name, "reduce")) fprintf(fp, ",%s", p->axes[a].name);
  for (int s = 0; s < CD_SW_STATS; s++) fprintf(fp, ",%s", STAT_COLUMNS[s]);
  for (int s = 0; s < CD_SW_STATS; s++) fprintf(fp, ",%s_std", STAT_COLUMNS[s]);
  fputs(",val_worst_group_acc,val_worst_group_acc_pseudo,wall_seconds,peak_rss_mb,cell,status,error\n", fp);
  for (int i = 0; i < p->n_cells; i++) {
    const cd_sweep_cell_result *c = &r->cells[i];
    if (c->state != CD_CELL_DONE || !c->n_methods) csv_row(fp, r, i, NULL);
    for (int k = 0; c->state == CD_CELL_DONE && k < c->n_methods; k++) csv_row(fp, r, i, &c->m[k]);
  }
}

/* The best cell per method under a validation criterion (-1: none). */
static int best_cell(const cd_sweep_results *r, int method, int pseudo) {
  int best = -1;
  double bv = -1;
  for (int i = 0; i < r->plan->n_cells; i++) {
    const cd_sweep_method_row *row = cd_sweep_row(r, i, method);
    double v = row ? (pseudo ? row->val_worst_pseudo : row->val_worst) : NAN;
    if (isfinite(v) && v > bv) bv = v, best = i;
  }
  return best;
}

static void write_json(FILE *fp, const cd_sweep_results *r) {
  const cd_sweep_plan *p = r->plan;
  cd_jw w; /* a few members per line, continuation lines indented by one space a level */
  cd_jw_init(&w, fp);
  w.indent = 1;
  cd_jw_obj(&w);
  cd_jw_kint(&w, "version", 1);
  cd_jw_kstr(&w, "split", "test");
  cd_jw_br(&w);
  cd_jw_key(&w, "caches");
  cd_jw_arr(&w);
  for (int k = 0; k < p->n_caches; k++) {
    cd_jw_obj(&w);
    cd_jw_kstr(&w, "name", p->cache_names[k]);
    cd_jw_kstr(&w, "path", p->caches[k]);
    cd_jw_kstr(&w, "model", p->models[k]);
    cd_jw_kint(&w, "dims", p->cache_dims[k]);
    cd_jw_end(&w);
  }
  cd_jw_end(&w);
  cd_jw_br(&w);
  cd_jw_key(&w, "axes");
  cd_jw_obj(&w);
  for (int a = 0; a < p->n_axes; a++) {
    cd_jw_key(&w, p->axes[a].name);
    cd_jw_strs(&w, (const char *const *)p->axes[a].values, p->axes[a].n);
  }
  cd_jw_end(&w);
  cd_jw_br(&w);
  cd_jw_key(&w, "cells");
  cd_jw_arr(&w);
  for (int i = 0; i < p->n_cells; i++) {
    const cd_sweep_cell_result *c = &r->cells[i];
    cd_jw_br(&w);
    cd_jw_obj(&w);
    cd_jw_kstr(&w, "name", p->cells[i].name);
    cd_jw_kstr(&w, "cache", p->cache_names[p->cells[i].cache]);
    cd_jw_key(&w, "axes");
    cd_jw_obj(&w);
    for (int a = 0; a < p->n_axes; a++) cd_jw_kstr(&w, p->axes[a].name, cd_sweep_cell_value(p, i, a));
    cd_jw_end(&w);
    cd_jw_kstr(&w, "status", state_name(c->state));
    cd_jw_kstr_or_null(&w, "error", c->error);
    cd_jw_key(&w, "wall_seconds");
    cd_jw_g17(&w, c->state == CD_CELL_NOT_RUN ? NAN : c->seconds);
    cd_jw_kint(&w, "peak_rss_bytes", c->rss_bytes);
    char rel[700];
    snprintf(rel, sizeof rel, "cells/%s/report.html", p->cells[i].name);
    cd_jw_kstr(&w, "report", rel);
    cd_jw_br(&w);
    cd_jw_key(&w, "methods");
    cd_jw_obj(&w);
    for (int k = 0; c->state == CD_CELL_DONE && k < c->n_methods; k++) {
      const cd_sweep_method_row *m = &c->m[k];
      cd_jw_key(&w, m->method);
      cd_jw_obj(&w);
      for (int s = 0; s < CD_SW_STATS; s++) cd_jw_key(&w, STAT_COLUMNS[s]), cd_jw_g17(&w, m->test[s]);
      for (int s = 0; s < CD_SW_STATS; s++) {
        char key[64];
        snprintf(key, sizeof key, "%s_std", STAT_COLUMNS[s]);
        cd_jw_key(&w, key);
        cd_jw_g17(&w, m->test_std[s]);
      }
      cd_jw_key(&w, "val_worst_group_acc");
      cd_jw_g17(&w, m->val_worst);
      cd_jw_key(&w, "val_worst_group_acc_pseudo");
      cd_jw_g17(&w, m->val_worst_pseudo);
      cd_jw_end(&w);
    }
    cd_jw_end(&w);
    cd_jw_end(&w);
  }
  cd_jw_end(&w);
  cd_jw_br(&w);
  cd_jw_key(&w, "best");
  cd_jw_obj(&w);
  for (int k = 0; k < r->n_methods; k++) {
    int bp = best_cell(r, k, 1), bt = best_cell(r, k, 0);
    cd_jw_key(&w, r->methods[k]);
    cd_jw_obj(&w);
    cd_jw_kstr_or_null(&w, "val-pseudo", bp >= 0 ? p->cells[bp].name : NULL);
    cd_jw_kstr_or_null(&w, "val-true", bt >= 0 ? p->cells[bt].name : NULL);
    cd_jw_end(&w);
  }
  cd_jw_end(&w);
  cd_jw_end(&w);
  fputc('\n', fp);
}

static int write_text(const char *dir, const char *name, void (*fn)(FILE *, const cd_sweep_results *),
                      const cd_sweep_results *r, cd_error *e) {
  char path[4200], *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream(&buf, &len);
  if (!fp) return cd_fail(e, "sweep: out of memory");
  fn(fp, r);
  fclose(fp);
  int rc = cd_path_join(path, sizeof path, dir, name) ? cd_fail(e, "%s: path too long", dir)
                                                       : cd_write_file_atomic(path, buf, len, e);
  free(buf);
  return rc;
}

int cd_sweep_collect(const cd_sweep_plan *p, cd_sweep_results *res, int *unfinished, char *first_problem, size_t cap,
                     cd_error *e) {
  cd_sweep_results r;
  memset(&r, 0, sizeof r);
  r.plan = p;
  *res = r;
  cd_outdir_lock lock = {0};
  if (cd_outdir_lock_write(&lock, p->out_dir, "sweep --collect", e)) return -1;
  r.cells = cd_calloc((size_t)p->n_cells, sizeof *r.cells, e);
  if (!r.cells) return cd_outdir_unlock(&lock), -1;
  *unfinished = 0;
  if (cap) first_problem[0] = 0;
  for (int i = 0; i < p->n_cells; i++) {
    cd_sweep_cell_result *c = &r.cells[i];
    read_cell(p, i, c);
    if (c->state != CD_CELL_DONE && (*unfinished)++ == 0 && cap)
      snprintf(first_problem, cap, "%s: %s", p->cells[i].name, c->state == CD_CELL_NOT_RUN ? "not run" : c->error);
    for (int k = 0; c->state == CD_CELL_DONE && k < c->n_methods; k++)
      if (cd_sweep_method_index(&r, c->m[k].method) < 0 && r.n_methods < CD_SWEEP_MAX_METHODS)
        snprintf(r.methods[r.n_methods++], sizeof r.methods[0], "%s", c->m[k].method);
  }
  int rc = write_text(p->out_dir, "sweep.csv", write_csv, &r, e) ||
           write_text(p->out_dir, "sweep.json", write_json, &r, e);
  *res = r;
  cd_outdir_unlock(&lock);
  return rc ? -1 : 0;
}
