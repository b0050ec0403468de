/* Loading a run directory for the report. Every field is checked where it is read, so a
 * malformed file fails with one message naming the file and the field ("results.json:
 * methods.dpt.test.avg_acc = 81 is not a fraction in [0, 1]") instead of drawing a silently
 * wrong chart. Absent optional fields become NAN / NULL / 0 and their section is left out. */
#include "tools/report/report_run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/file.h"

#define MAX_FILE ((size_t)1 << 30)
#define MAX_COUNT 1000000 /* classes, groups, seeds, epochs: anything larger is corrupt */
#define MAX_IMAGES ((long)1 << 40)

/* The file being read, for messages. */
typedef struct {
  const char *path;
  cd_error *e;
} src;

static int is_null(const cd_json *v) { return !v || v->type == CD_JSON_NULL; }

/* ---- typed field readers: name the file and the dotted field path in every message ---- */

static int read_num(src s, const cd_json *obj, const char *where, const char *key, double lo, double hi,
                    const char *what, double *out) {
  const cd_json *v = cd_json_get(obj, key);
  *out = NAN;
  if (is_null(v)) return 0;
  if (v->type != CD_JSON_NUMBER) return cd_fail(s.e, "%s: %s%s%s is not a number", s.path, where, *where ? "." : "", key);
  if (!(v->number >= lo && v->number <= hi))
    return cd_fail(s.e, "%s: %s%s%s = %g is not %s", s.path, where, *where ? "." : "", key, v->number, what);
  *out = v->number;
  return 0;
}

/* Accuracies are fractions; a writer that stored percentages would otherwise plot 8000%. */
static int read_frac(src s, const cd_json *obj, const char *where, const char *key, double *out) {
  return read_num(s, obj, where, key, 0.0, 1.0 + 1e-9, "a fraction in [0, 1]", out);
}

static int read_int(src s, const cd_json *obj, const char *where, const char *key, long lo, long hi, long dflt,
                    long *out) {
  const cd_json *v = cd_json_get(obj, key);
  *out = dflt;
  if (is_null(v)) return 0;
  if (v->type != CD_JSON_NUMBER || !v->is_integer)
    return cd_fail(s.e, "%s: %s%s%s is not an integer", s.path, where, *where ? "." : "", key);
  if (v->integer < lo || v->integer > hi)
    return cd_fail(s.e, "%s: %s%s%s = %lld is outside [%ld, %ld]", s.path, where, *where ? "." : "", key,
                   (long long)v->integer, lo, hi);
  *out = (long)v->integer;
  return 0;
}

static int read_str(src s, const cd_json *obj, const char *key, const char *dflt, const char **out) {
  const cd_json *v = cd_json_get(obj, key);
  *out = dflt;
  if (is_null(v)) return 0;
  if (v->type != CD_JSON_STRING) return cd_fail(s.e, "%s: %s is not a string", s.path, key);
  *out = v->str;
  return 0;
}

/* An optional array (absent or null: n = 0); wrong type is an error. */
static int read_array(src s, const cd_json *obj, const char *where, const char *key, const cd_json **arr) {
  const cd_json *v = cd_json_get(obj, key);
  *arr = NULL;
  if (is_null(v)) return 0;
  if (v->type != CD_JSON_ARRAY) return cd_fail(s.e, "%s: %s%s%s is not an array", s.path, where, *where ? "." : "", key);
  if (v->n > MAX_COUNT) return cd_fail(s.e, "%s: %s%s%s has %zu entries", s.path, where, *where ? "." : "", key, v->n);
  *arr = v;
  return 0;
}

/* An optional array member and zeroed storage for its elements (*out NULL when empty). */
static int open_array(src s, const cd_json *obj, const char *where, const char *key, size_t elem, const cd_json **arr,
                      void **out) {
  *out = NULL;
  if (read_array(s, obj, where, key, arr)) return -1;
  if (!*arr || (*arr)->n == 0) return 0;
  return (*out = cd_calloc((*arr)->n, elem, s.e)) ? 0 : -1;
}

static int read_strings(src s, const cd_json *obj, const char *key, const char ***out, int *n) {
  const cd_json *arr;
  *n = 0;
  if (open_array(s, obj, "", key, sizeof **out, &arr, (void **)out)) return -1;
  for (size_t i = 0; *out && i < arr->n; i++) {
    if (arr->items[i].type != CD_JSON_STRING) return cd_fail(s.e, "%s: %s[%zu] is not a string", s.path, key, i);
    (*out)[i] = arr->items[i].str;
    *n = (int)i + 1;
  }
  return 0;
}

/* Integers in [0, hi] (counts, seeds, epochs). */
static int read_longs(src s, const cd_json *obj, const char *where, const char *key, long hi, long **out, int *n) {
  const cd_json *arr;
  *n = 0;
  if (open_array(s, obj, where, key, sizeof **out, &arr, (void **)out)) return -1;
  for (size_t i = 0; *out && i < arr->n; i++) {
    const cd_json *v = &arr->items[i];
    if (v->type != CD_JSON_NUMBER || !v->is_integer || v->integer < 0 || v->integer > hi)
      return cd_fail(s.e, "%s: %s%s%s[%zu] is not an integer in [0, %ld]", s.path, where, *where ? "." : "", key, i, hi);
    (*out)[i] = (long)v->integer;
    *n = (int)i + 1;
  }
  return 0;
}

/* Numbers or nulls (NAN) in [lo, hi]. */
static int read_doubles(src s, const cd_json *obj, const char *where, const char *key, double lo, double hi,
                        double **out, int *n) {
  const cd_json *arr;
  *n = 0;
  if (open_array(s, obj, where, key, sizeof **out, &arr, (void **)out)) return -1;
  for (size_t i = 0; *out && i < arr->n; i++) {
    const cd_json *v = &arr->items[i];
    if (v->type != CD_JSON_NULL && (v->type != CD_JSON_NUMBER || !(v->number >= lo && v->number <= hi)))
      return cd_fail(s.e, "%s: %s%s%s[%zu] is not a number in [%g, %g]", s.path, where, *where ? "." : "", key, i, lo, hi);
    (*out)[i] = v->type == CD_JSON_NULL ? NAN : v->number;
    *n = (int)i + 1;
  }
  return 0;
}

static int want_object(src s, const cd_json *v, const char *where) {
  if (!v || v->type != CD_JSON_OBJECT) return cd_fail(s.e, "%s: %s is not an object", s.path, where);
  return 0;
}

/* ---- results.json ---- */

static const char *STAT_KEYS[CD_RP_NSTAT] = {"avg_acc", "avg_acc_adjusted", "worst_group_acc", "gap"};

static int read_stats(src s, const cd_json *obj, const char *where, double *out) {
  for (int k = 0; k < CD_RP_NSTAT; k++) {
    /* gap = avg - worst can be negative only by rounding; keep [-1, 1]. */
    int rc = k == CD_RP_GAP ? read_num(s, obj, where, STAT_KEYS[k], -1.0, 1.0, "in [-1, 1]", &out[k])
                            : read_frac(s, obj, where, STAT_KEYS[k], &out[k]);
    if (rc) return -1;
  }
  return 0;
}

static int read_group(src s, const cd_rp_run *run, const cd_json *v, const char *where, cd_rp_group *g) {
  long gi, y, a, n;
  if (want_object(s, v, where)) return -1;
  if (read_int(s, v, where, "g", 0, run->n_groups - 1, -1, &gi) || read_int(s, v, where, "y", 0, run->n_cls - 1, -2, &y) ||
      read_int(s, v, where, "a", 0, run->n_attr > 0 ? run->n_attr - 1 : MAX_COUNT, -1, &a) ||
      read_int(s, v, where, "n", 0, MAX_IMAGES, 0, &n))
    return -1;
  if (y == -2) return cd_fail(s.e, "%s: %s has no class \"y\"", s.path, where);
  g->g = (int)gi;
  g->y = (int)y;
  g->a = (int)a;
  g->n = n;
  return read_frac(s, v, where, "acc", &g->acc) || read_num(s, v, where, "acc_std", 0.0, 1.0, "in [0, 1]", &g->acc_std);
}

static int read_split(src s, const cd_rp_run *run, const cd_json *m, const char *method, const char *name,
                      cd_rp_split *sp) {
  char where[512];
  const cd_json *v = cd_json_get(m, name), *arr;
  for (int k = 0; k < CD_RP_NSTAT; k++) sp->mean[k] = sp->std[k] = NAN;
  if (is_null(v)) return 0;
  snprintf(where, sizeof where, "methods.%s.%s", method, name);
  if (want_object(s, v, where) || read_stats(s, v, where, sp->mean)) return -1;
  sp->present = 1;
  const cd_json *sd = cd_json_get(v, "std");
  if (!is_null(sd)) {
    char w2[600];
    snprintf(w2, sizeof w2, "%s.std", where);
    if (want_object(s, sd, w2) || read_stats(s, sd, w2, sp->std)) return -1;
  }
  if (read_array(s, v, where, "groups", &arr)) return -1;
  if (arr && arr->n) {
    if (!(sp->groups = cd_calloc(arr->n, sizeof *sp->groups, s.e))) return -1;
    sp->n_groups = (int)arr->n;
    for (size_t i = 0; i < arr->n; i++) {
      char w2[600];
      snprintf(w2, sizeof w2, "%s.groups[%zu]", where, i);
      if (read_group(s, run, &arr->items[i], w2, &sp->groups[i])) return -1;
    }
  }
  if (read_longs(s, v, where, "pred_hist", MAX_IMAGES, &sp->pred_hist, &sp->n_pred)) return -1;
  if (sp->n_pred && sp->n_pred != run->n_cls)
    return cd_fail(s.e, "%s: %s.pred_hist has %d entries for %d classes", s.path, where, sp->n_pred, run->n_cls);
  if (read_array(s, v, where, "warnings", &arr)) return -1;
  sp->has_warnings = arr != NULL;
  if (arr && arr->n) {
    if (!(sp->warnings = cd_calloc(arr->n, sizeof *sp->warnings, s.e))) return -1;
    for (size_t i = 0; i < arr->n; i++) {
      if (arr->items[i].type != CD_JSON_STRING) return cd_fail(s.e, "%s: %s.warnings[%zu] is not a string", s.path, where, i);
      sp->warnings[sp->n_warnings++] = arr->items[i].str;
    }
  }
  return 0;
}

/* "status": "diverged" with its "diverged" list: "seed 1 in epoch 3 (loss nan; likely --lr 1000)"... */
static int read_diverged(src s, const cd_json *m, const char *where, cd_rp_method *out) {
  const cd_json *st = cd_json_get(m, "status"), *list;
  if (is_null(st)) return 0;
  if (st->type != CD_JSON_STRING) return cd_fail(s.e, "%s: %s.status is not a string", s.path, where);
  if (strcmp(st->str, "diverged")) return 0;
  out->diverged = 1;
  if (read_array(s, m, where, "diverged", &list)) return -1;
  size_t len = 0;
  for (size_t i = 0; list && i < list->n && len < sizeof out->diverged_text; i++) {
    const cd_json *d = &list->items[i], *flag = cd_json_get(d, "likely_flag");
    double loss = cd_json_get_num(d, "loss", NAN);
    char l[40];
    if (isfinite(loss)) snprintf(l, sizeof l, "loss %g", loss);
    else snprintf(l, sizeof l, "loss not finite");
    len += (size_t)snprintf(out->diverged_text + len, sizeof out->diverged_text - len, "%sseed %lld in epoch %lld (%s%s%s)",
                            i ? "; " : "", (long long)cd_json_get_int(d, "seed", -1), (long long)cd_json_get_int(d, "epoch", -1),
                            l, flag && flag->type == CD_JSON_STRING && flag->len ? "; likely " : "",
                            flag && flag->type == CD_JSON_STRING ? flag->str : "");
  }
  return 0;
}

static int read_method(src s, cd_rp_run *run, const char *name, const cd_json *m, cd_rp_method *out) {
  char where[300];
  long epochs;
  snprintf(where, sizeof where, "methods.%s", name);
  out->name = name;
  if (want_object(s, m, where)) return -1;
  if (read_int(s, m, where, "epochs", 0, MAX_COUNT, 0, &epochs)) return -1;
  out->epochs = (int)epochs;
  if (read_longs(s, m, where, "selected_epoch", MAX_COUNT, &out->selected, &out->n_selected)) return -1;
  if (read_split(s, run, m, name, "test", &out->test) || read_split(s, run, m, name, "val", &out->val)) return -1;
  if (read_diverged(s, m, where, out)) return -1;
  const cd_json *uses = cd_json_get(m, "uses");
  if (uses && uses->type == CD_JSON_OBJECT) {
    const cd_json *l = cd_json_get(uses, "labels"), *a = cd_json_get(uses, "attr_names");
    if ((l && l->type != CD_JSON_STRING) || (a && a->type != CD_JSON_STRING))
      return cd_fail(s.e, "%s: %s.uses.labels / attr_names are not strings", s.path, where);
    out->uses_labels = l ? l->str : NULL, out->uses_attr = a ? a->str : NULL;
  }
  if (!out->test.present && !out->val.present && !out->diverged)
    return cd_fail(s.e, "%s: %s has neither \"test\" nor \"val\" results", s.path, where);
  return 0;
}

static int method_index(const cd_rp_run *run, const char *name) {
  for (int i = 0; i < run->n_methods; i++)
    if (!strcmp(run->methods[i].name, name)) return i;
  return -1;
}

/* Methods in method_order first (the order the run chose), then any others in file order. */
static int read_methods(src s, cd_rp_run *run, const cd_json *root) {
  const cd_json *ms = cd_json_get(root, "methods"), *order;
  if (!ms || ms->type != CD_JSON_OBJECT || ms->n == 0)
    return cd_fail(s.e, "%s: no \"methods\" object with at least one method", s.path);
  if (read_array(s, root, "", "method_order", &order)) return -1;
  if (!(run->methods = cd_calloc(ms->n, sizeof *run->methods, s.e))) return -1;
  for (size_t pass = 0; pass < 2; pass++) {
    size_t n = pass == 0 ? (order ? order->n : 0) : ms->n;
    for (size_t i = 0; i < n; i++) {
      const char *name = pass == 0 ? order->items[i].str : ms->keys[i];
      if (pass == 0 && order->items[i].type != CD_JSON_STRING)
        return cd_fail(s.e, "%s: method_order[%zu] is not a string", s.path, i);
      const cd_json *m = cd_json_get(ms, name);
      if (!m || method_index(run, name) >= 0) continue;
      /* Counted before reading, so cd_rp_run_free releases a half-read method too. */
      if (read_method(s, run, name, m, &run->methods[run->n_methods++])) return -1;
    }
  }
  return 0;
}

static int read_pseudo(src s, cd_rp_run *run, const cd_json *root) {
  const cd_json *pl = cd_json_get(root, "pseudo_labels"), *arr;
  double acc;
  if (read_frac(s, root, "", "pseudo_label_acc", &acc)) return -1;
  if (is_null(pl)) {
    run->has_pseudo = !isnan(acc);
    run->pseudo_acc = acc;
    return 0;
  }
  if (want_object(s, pl, "pseudo_labels") || read_frac(s, pl, "pseudo_labels", "acc", &run->pseudo_acc)) return -1;
  if (isnan(run->pseudo_acc)) run->pseudo_acc = acc;
  run->has_pseudo = !isnan(run->pseudo_acc);
  if (read_strings(s, pl, "splits", &run->pseudo_splits, &run->n_pseudo_splits)) return -1;
  if (read_array(s, pl, "pseudo_labels", "per_class", &arr)) return -1;
  if (arr && arr->n) {
    if (!(run->pseudo_per_class = cd_calloc(arr->n, sizeof *run->pseudo_per_class, s.e))) return -1;
    for (size_t i = 0; i < arr->n; i++) {
      char where[64];
      long y, n;
      cd_rp_class_acc *c = &run->pseudo_per_class[i];
      snprintf(where, sizeof where, "pseudo_labels.per_class[%zu]", i);
      if (want_object(s, &arr->items[i], where) ||
          read_int(s, &arr->items[i], where, "y", 0, run->n_cls - 1, 0, &y) ||
          read_int(s, &arr->items[i], where, "n", 0, MAX_IMAGES, 0, &n) ||
          read_frac(s, &arr->items[i], where, "acc", &c->acc))
        return -1;
      c->y = (int)y;
      c->n = n;
      run->n_pseudo_per_class++;
    }
  }
  if (read_array(s, pl, "pseudo_labels", "confusion", &arr)) return -1;
  if (!arr || arr->n == 0) return 0;
  int k = (int)arr->n;
  if (run->n_attr && k != run->n_attr)
    return cd_fail(s.e, "%s: pseudo_labels.confusion has %d rows for %d attribute values", s.path, k, run->n_attr);
  if (!(run->confusion = cd_calloc((size_t)k * (size_t)k, sizeof *run->confusion, s.e))) return -1;
  run->conf_n = k;
  for (int r = 0; r < k; r++) {
    char where[64];
    snprintf(where, sizeof where, "pseudo_labels.confusion[%d]", r);
    const cd_json *wrap = &arr->items[r];
    if (wrap->type != CD_JSON_ARRAY || (int)wrap->n != k)
      return cd_fail(s.e, "%s: %s is not an array of %d counts", s.path, where, k);
    for (int c = 0; c < k; c++) {
      const cd_json *v = &wrap->items[c];
      if (v->type != CD_JSON_NUMBER || !v->is_integer || v->integer < 0)
        return cd_fail(s.e, "%s: %s[%d] is not a count", s.path, where, c);
      run->confusion[r * k + c] = (long)v->integer;
    }
  }
  return 0;
}

static void file_date(const char *path, char *buf, size_t cap) {
  struct stat st;
  struct tm tm;
  buf[0] = 0;
  if (stat(path, &st) == 0 && gmtime_r(&st.st_mtime, &tm)) strftime(buf, cap, "%Y-%m-%d %H:%M UTC", &tm);
}

static int read_results(cd_rp_run *run, cd_error *e) {
  src s = {run->results_path, e};
  if (!(run->results_doc = cd_json_parse_file(s.path, MAX_FILE, e))) return -1;
  const cd_json *root = cd_json_root(run->results_doc);
  if (root->type != CD_JSON_OBJECT) return cd_fail(e, "%s: not a JSON object", s.path);
  long n_groups;
  if (read_str(s, root, "dataset", "(unnamed)", &run->dataset) || read_str(s, root, "model", NULL, &run->model) ||
      read_str(s, root, "cache", NULL, &run->cache) || read_str(s, root, "head", NULL, &run->head) ||
      read_str(s, root, "select", NULL, &run->select) ||
      read_num(s, root, "", "wall_seconds", 0, 1e12, "a duration", &run->wall_seconds) ||
      read_strings(s, root, "classnames", &run->classnames, &run->n_cls) ||
      read_strings(s, root, "attr_names", &run->attr_names, &run->n_attr) ||
      read_longs(s, root, "", "seeds", MAX_COUNT, &run->seeds, &run->n_seeds))
    return -1;
  if (run->n_cls == 0) return cd_fail(e, "%s: no \"classnames\"", s.path);
  if (read_int(s, root, "", "n_groups", 1, MAX_COUNT, 0, &n_groups)) return -1;
  run->n_groups = (int)n_groups;
  int n_counts;
  if (read_longs(s, root, "", "train_group_counts", MAX_IMAGES, &run->train_counts, &n_counts)) return -1;
  if (n_counts && n_counts != run->n_groups)
    return cd_fail(e, "%s: train_group_counts has %d entries for %d groups", s.path, n_counts, run->n_groups);
  file_date(s.path, run->date, sizeof run->date);
  return read_pseudo(s, run, root) || read_methods(s, run, root);
}

/* ---- metrics.jsonl ---- */

static int read_line_split(src s, const cd_json *line, const char *name, double *avg, double *worst,
                           double *worst_pseudo) {
  const cd_json *v = cd_json_get(line, name);
  *avg = *worst = NAN;
  if (worst_pseudo) *worst_pseudo = NAN;
  if (is_null(v)) return 0;
  if (want_object(s, v, name)) return -1;
  return read_frac(s, v, name, "avg_acc", avg) || read_frac(s, v, name, "worst_group_acc", worst) ||
         (worst_pseudo && read_frac(s, v, name, "worst_group_acc_pseudo", worst_pseudo));
}

static int read_line(src s, cd_rp_run *run, const cd_json *v, cd_rp_line *l) {
  const char *method, *wg;
  long seed, epoch;
  if (v->type != CD_JSON_OBJECT) return cd_fail(s.e, "%s: not a JSON object", s.path);
  if (read_str(s, v, "method", NULL, &method) || read_str(s, v, "weight_groups", NULL, &wg)) return -1;
  if (!method) return cd_fail(s.e, "%s: no \"method\"", s.path);
  l->method = method_index(run, method);
  if (read_int(s, v, "", "seed", 0, MAX_COUNT, -1, &seed) || read_int(s, v, "", "epoch", 0, MAX_COUNT, -1, &epoch))
    return -1;
  if (epoch < 0) return cd_fail(s.e, "%s: no \"epoch\"", s.path);
  l->seed = (int)seed;
  l->epoch = (int)epoch;
  l->weight_groups = !wg ? CD_RP_WG_NONE : !strcmp(wg, "pseudo") ? CD_RP_WG_PSEUDO : !strcmp(wg, "true") ? CD_RP_WG_TRUE : -1;
  if (l->weight_groups < 0) return cd_fail(s.e, "%s: weight_groups \"%s\" is not \"pseudo\", \"true\" or null", s.path, wg);
  return read_num(s, v, "", "loss", 0, 1e30, "a loss (>= 0)", &l->loss) ||
         read_num(s, v, "", "lr", 0, 1e30, "a learning rate (>= 0)", &l->lr) ||
         read_doubles(s, v, "", "group_weights", 0, 1e30, &l->weights, &l->n_weights) ||
         read_doubles(s, v, "", "p_bar", 0, 1.0 + 1e-9, &l->p_bar, &l->n_p_bar) ||
         read_line_split(s, v, "val", &l->val_avg, &l->val_worst, &l->val_worst_pseudo) ||
         read_line_split(s, v, "test", &l->test_avg, &l->test_worst, NULL);
}

static void free_line(cd_rp_line *l) {
  free(l->weights);
  free(l->p_bar);
}

/* The parser numbers lines within the one line it was given ("path:1:col: ..."); name the
 * file's line instead ("path:LINE:col: ..."). */
static void relabel_line(cd_error *e, const char *path, int line_no) {
  size_t n = strlen(path);
  if (!e || strncmp(e->msg, path, n) != 0 || strncmp(e->msg + n, ":1:", 3) != 0) return;
  char rest[sizeof e->msg], num[16];
  snprintf(rest, sizeof rest, "%s", e->msg + n + 2); /* ":col: message" */
  snprintf(num, sizeof num, ":%d", line_no);
  /* path is already at the start of msg: keep it, write ":LINE" + rest after it. */
  size_t at = n;
  for (const char *part = num; at < sizeof e->msg - 1 && *part; part++) e->msg[at++] = *part;
  for (const char *part = rest; at < sizeof e->msg - 1 && *part; part++) e->msg[at++] = *part;
  e->msg[at] = 0;
}

static int read_metrics(cd_rp_run *run, cd_error *e) {
  uint8_t *data;
  size_t size;
  if (cd_file_read(run->metrics_path, MAX_FILE, &data, &size, e)) return -1;
  size_t cap = 1;
  for (size_t i = 0; i < size; i++) cap += data[i] == '\n';
  if (!(run->lines = cd_calloc(cap, sizeof *run->lines, e))) return free(data), -1;
  const char *p = (const char *)data, *end = p + size;
  int rc = 0;
  for (int line_no = 1; p < end && rc == 0; line_no++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *stop = nl ? nl : end;
    const char *q = p;
    while (q < stop && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
    if (q < stop) {
      char what[4300];
      snprintf(what, sizeof what, "%s:%d", run->metrics_path, line_no);
      src s = {what, e};
      cd_json_doc *doc = cd_json_parse(p, (size_t)(stop - p), run->metrics_path, e);
      if (!doc) relabel_line(e, run->metrics_path, line_no);
      cd_rp_line *l = &run->lines[run->n_lines];
      if (!doc || read_line(s, run, cd_json_root(doc), l)) rc = -1;
      /* Lines of a method the results do not list have nothing to be plotted against. */
      if (rc == 0 && l->method >= 0) {
        run->n_lines++;
      } else {
        free_line(l);
        memset(l, 0, sizeof *l);
      }
      cd_json_free(doc);
    }
    p = nl ? nl + 1 : end;
  }
  free(data);
  return rc;
}

/* ---- args.json, flattened to "key.sub" = "value" rows ---- */

static int add_arg(cd_rp_run *run, size_t *cap, const char *key, const char *value, cd_error *e) {
  if ((size_t)run->n_args == *cap) {
    size_t nc = *cap ? *cap * 2 : 32;
    cd_rp_arg *na = realloc(run->args, nc * sizeof *na);
    if (!na) return cd_fail(e, "%s: out of memory", run->args_path);
    run->args = na;
    *cap = nc;
  }
  cd_rp_arg *a = &run->args[run->n_args];
  a->key = strdup(key);
  a->value = strdup(value);
  if (!a->key || !a->value) {
    free(a->key);
    free(a->value);
    return cd_fail(e, "%s: out of memory", run->args_path);
  }
  run->n_args++;
  return 0;
}

/* Appends the text of a scalar (or of an array of scalars, comma-joined) to buf. */
static void scalar_text(const cd_json *v, char *buf, size_t cap) {
  size_t used = strlen(buf);
  if (used >= cap - 1) return;
  switch (v->type) {
  case CD_JSON_NULL: snprintf(buf + used, cap - used, "null"); break;
  case CD_JSON_BOOL: snprintf(buf + used, cap - used, "%s", v->boolean ? "true" : "false"); break;
  case CD_JSON_NUMBER: snprintf(buf + used, cap - used, "%.10g", v->number); break;
  case CD_JSON_STRING: snprintf(buf + used, cap - used, "%s", v->str); break;
  case CD_JSON_ARRAY:
    for (size_t i = 0; i < v->n; i++) {
      if (i) scalar_text(&(cd_json){.type = CD_JSON_STRING, .str = ", "}, buf, cap);
      const cd_json *it = &v->items[i];
      /* Quoted, or "a, b" in a list would read as two items. */
      const char *q = it->type == CD_JSON_STRING && v->n > 1 ? "\"" : "";
      scalar_text(&(cd_json){.type = CD_JSON_STRING, .str = q}, buf, cap);
      if (it->type == CD_JSON_ARRAY || it->type == CD_JSON_OBJECT)
        scalar_text(&(cd_json){.type = CD_JSON_STRING, .str = "…"}, buf, cap);
      else
        scalar_text(it, buf, cap);
      scalar_text(&(cd_json){.type = CD_JSON_STRING, .str = q}, buf, cap);
    }
    if (v->n == 0) scalar_text(&(cd_json){.type = CD_JSON_STRING, .str = "[]"}, buf, cap);
    break;
  case CD_JSON_OBJECT: snprintf(buf + used, cap - used, "{…}"); break;
  }
}

static int flatten_args(cd_rp_run *run, size_t *cap, const cd_json *obj, const char *prefix, int depth, cd_error *e) {
  for (size_t i = 0; i < obj->n; i++) {
    char key[512], value[2048] = "";
    snprintf(key, sizeof key, "%.250s%s%.250s", prefix, *prefix ? "." : "", obj->keys[i]);
    const cd_json *v = &obj->items[i];
    if (v->type == CD_JSON_OBJECT && depth < 4) {
      if (flatten_args(run, cap, v, key, depth + 1, e)) return -1;
      continue;
    }
    scalar_text(v, value, sizeof value);
    if (add_arg(run, cap, key, value, e)) return -1;
  }
  return 0;
}

static int read_args(cd_rp_run *run, cd_error *e) {
  size_t cap = 0;
  if (!(run->args_doc = cd_json_parse_file(run->args_path, MAX_FILE, e))) return -1;
  const cd_json *root = cd_json_root(run->args_doc);
  if (root->type != CD_JSON_OBJECT) return cd_fail(e, "%s: not a JSON object (expected the run's options)", run->args_path);
  return flatten_args(run, &cap, root, "", 0, e);
}

int cd_rp_run_load(const char *run_dir, cd_rp_run *run, cd_error *e) {
  memset(run, 0, sizeof *run);
  run->pseudo_acc = run->wall_seconds = NAN;
  if (cd_path_join(run->results_path, sizeof run->results_path, run_dir, "results.json") ||
      cd_path_join(run->metrics_path, sizeof run->metrics_path, run_dir, "metrics.jsonl") ||
      cd_path_join(run->args_path, sizeof run->args_path, run_dir, "args.json"))
    return cd_fail(e, "%s: path too long", run_dir);
  if (read_results(run, e) || read_metrics(run, e) || read_args(run, e)) {
    cd_rp_run_free(run);
    return -1;
  }
  return 0;
}

static void free_split(cd_rp_split *s) {
  free(s->groups);
  free(s->pred_hist);
  free(s->warnings);
}

void cd_rp_run_free(cd_rp_run *run) {
  for (int i = 0; i < run->n_methods; i++) {
    free(run->methods[i].selected);
    free_split(&run->methods[i].test);
    free_split(&run->methods[i].val);
  }
  free(run->methods);
  for (int i = 0; i < run->n_lines; i++) free_line(&run->lines[i]);
  free(run->lines);
  for (int i = 0; i < run->n_args; i++) {
    free(run->args[i].key);
    free(run->args[i].value);
  }
  free(run->args);
  free(run->seeds);
  free(run->classnames);
  free(run->attr_names);
  free(run->train_counts);
  free(run->pseudo_splits);
  free(run->pseudo_per_class);
  free(run->confusion);
  cd_json_free(run->results_doc);
  cd_json_free(run->args_doc);
  memset(run, 0, sizeof *run);
}

int cd_rp_several_seeds(const cd_rp_run *run, const cd_rp_method *m) {
  return m->n_selected ? m->n_selected > 1 : run->n_seeds > 1;
}

void cd_rp_group_label(const cd_rp_run *run, int y, int a, char *buf, size_t cap) {
  const char *cls = y >= 0 && y < run->n_cls ? run->classnames[y] : "?";
  if (a < 0) snprintf(buf, cap, "%s", cls);
  else if (a < run->n_attr) snprintf(buf, cap, "%s · %s", cls, run->attr_names[a]);
  else snprintf(buf, cap, "%s · a=%d", cls, a);
}
