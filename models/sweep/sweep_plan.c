/* The grid of a sweep: caches, axes, cells and their `run` command lines (see sweep.h). */
#include "models/sweep/sweep.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"
#include "data/datasets/feature_cache.h"
#include "models/debias/reduce.h"
#include "models/debias/selection.h"
#include "models/run/run.h"
#include "models/sweep/sweep_results.h"

const char *const CD_SWEEP_AXES[] = {"dims", "reduce", "n-ctx", "eta", "ema", "lr", "epochs", "batch", "select",
                                     "precision"};
const int CD_SWEEP_N_AXES = (int)(sizeof CD_SWEEP_AXES / sizeof CD_SWEEP_AXES[0]);

static char *dup_n(const char *s, size_t n, cd_error *e) {
  char *d = cd_malloc(n + 1, e);
  if (d) memcpy(d, s, n), d[n] = 0;
  return d;
}

/* Splits a comma list into owned, space-trimmed items; empty items are refused. */
static int split_list(const char *what, const char *list, char **out, int max, int *n, cd_error *e) {
  *n = 0;
  if (!*list) return cd_fail(e, "%s: an empty list (an empty grid has no cells)", what);
  for (const char *s = list;;) {
    const char *end = strchr(s, ',');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    while (len && *s == ' ') s++, len--;
    while (len && s[len - 1] == ' ') len--;
    if (!len) return cd_fail(e, "%s: an empty item in '%s'", what, list);
    if (*n == max) return cd_fail(e, "%s: more than %d values", what, max);
    if (!(out[(*n)++] = dup_n(s, len, e))) return -1;
    if (!end) return 0;
    s = end + 1;
  }
}

static int axis_index(const char *name) {
  for (int k = 0; k < CD_SWEEP_N_AXES; k++)
    if (!strcmp(name, CD_SWEEP_AXES[k])) return k;
  return -1;
}

static int is_number(const char *s, double lo, double hi, int integer) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  return !errno && end != s && !*end && isfinite(v) && v >= lo && v <= hi && (!integer || v == floor(v));
}

/* A value the axis can take; the full checks of numbers are run's own (cmd_run). */
static int check_value(const char *axis, const char *v, cd_error *e) {
  if (!strcmp(axis, "dims")) {
    if (!strcmp(v, "full")) return 0;
    if (!is_number(v, -1e9, 1e9, 1)) return cd_fail(e, "--dims: '%s' is not an integer or 'full'", v);
    if (atoi(v) < 2) return cd_fail(e, "--dims %s: an embedding needs at least 2 dimensions", v);
    return 0;
  }
  if (!strcmp(axis, "reduce"))
    return cd_reduce_parse(v) < 0 ? cd_fail(e, "--reduce: unknown '%s' (pca, random, truncate)", v) : 0;
  if (!strcmp(axis, "select"))
    return cd_select_parse(v) < 0 ? cd_fail(e, "--select: unknown '%s' (val-pseudo, val-true, last)", v) : 0;
  if (!strcmp(axis, "precision"))
    return strcmp(v, "fp32") && strcmp(v, "bf16") ? cd_fail(e, "--precision: unknown '%s' (fp32, bf16)", v) : 0;
  int integer = !strcmp(axis, "n-ctx") || !strcmp(axis, "epochs") || !strcmp(axis, "batch");
  if (!is_number(v, 0, 1e9, integer))
    return cd_fail(e, "--%s: '%s' is not %s", axis, v, integer ? "a positive integer" : "a number >= 0");
  return 0;
}

static const char *base_name(const char *path, char *buf, size_t cap) {
  size_t n = strlen(path);
  while (n > 1 && path[n - 1] == '/') n--;
  size_t s = n;
  while (s && path[s - 1] != '/') s--;
  snprintf(buf, cap, "%.*s", (int)(n - s), path + s);
  for (char *c = buf; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '.' || *c == '-'))
      *c = '_';
  return buf;
}

int cd_sweep_plan_init(cd_sweep_plan *p, const char *out_dir, const char *caches, const char *models,
                       char **base, int n_base, cd_error *e) {
  memset(p, 0, sizeof *p);
  p->out_dir = out_dir, p->base = base, p->n_base = n_base;
  int n_models = 0;
  if (split_list("--caches", caches, p->caches, CD_SWEEP_MAX_CACHES, &p->n_caches, e) ||
      split_list("--model", models, p->models, CD_SWEEP_MAX_CACHES, &n_models, e))
    return -1;
  if (n_models != 1 && n_models != p->n_caches)
    return cd_fail(e, "--model: %d models for %d caches (give one for all, or one per cache in order)", n_models,
                   p->n_caches);
  for (int k = 1; k < p->n_caches && n_models == 1; k++)
    if (!(p->models[k] = dup_n(p->models[0], strlen(p->models[0]), e))) return -1;
  for (int k = 0; k < p->n_caches; k++) {
    base_name(p->caches[k], p->cache_names[k], sizeof p->cache_names[k]);
    for (int j = 0; j < k; j++)
      if (!strcmp(p->cache_names[j], p->cache_names[k])) snprintf(p->cache_names[k], sizeof p->cache_names[k], "%d", k);
  }
  p->n_axes = 1;
  p->axes[0].name = "dims";
  return 0;
}

int cd_sweep_plan_axis(cd_sweep_plan *p, const char *name, const char *list, cd_error *e) {
  int k = axis_index(name);
  if (k < 0) return cd_fail(e, "unknown axis '%s' (dims, reduce, n-ctx, eta, ema, lr, epochs, batch, select, precision)", name);
  int slot = -1;
  for (int a = 0; a < p->n_axes; a++)
    if (!strcmp(p->axes[a].name, CD_SWEEP_AXES[k])) slot = a;
  if (slot >= 0 && p->axes[slot].n) return cd_fail(e, "axis '%s' is given twice", name);
  if (slot < 0) slot = p->n_axes++, p->axes[slot].name = CD_SWEEP_AXES[k];
  cd_sweep_axis *ax = &p->axes[slot];
  char what[64];
  snprintf(what, sizeof what, "--%s", name);
  if (split_list(what, list, ax->values, CD_SWEEP_MAX_VALUES, &ax->n, e)) return -1;
  for (int i = 0; i < ax->n; i++) {
    if (check_value(ax->name, ax->values[i], e)) return -1;
    for (int j = 0; j < i; j++)
      if (!strcmp(ax->values[i], ax->values[j])) return cd_fail(e, "--%s: '%s' is listed twice", name, ax->values[i]);
  }
  return 0;
}

int cd_sweep_plan_grid_file(cd_sweep_plan *p, const char *path, cd_error *e) {
  cd_json_doc *doc = cd_json_parse_file(path, 1 << 20, e);
  if (!doc) return -1;
  const cd_json *r = cd_json_root(doc);
  int rc = r->type == CD_JSON_OBJECT ? 0 : cd_fail(e, "%s: a sweep file is a JSON object {\"dims\": [8, 16, \"full\"], ...}", path);
  if (!rc && r->n == 0) rc = cd_fail(e, "%s: no axes (an empty grid)", path);
  for (size_t i = 0; !rc && i < r->n; i++) {
    const cd_json *v = &r->items[i];
    int n = v->type == CD_JSON_ARRAY ? (int)v->n : 1;
    const cd_json *items = v->type == CD_JSON_ARRAY ? v->items : v;
    char list[4096] = "";
    size_t len = 0;
    if (n == 0) rc = cd_fail(e, "%s: axis '%s' has no values (an empty grid)", path, r->keys[i]);
    for (int j = 0; !rc && j < n; j++) {
      const cd_json *x = &items[j];
      char one[256];
      if (x->type == CD_JSON_NUMBER) snprintf(one, sizeof one, "%.17g", x->number);
      else if (x->type == CD_JSON_STRING && x->len < sizeof one) snprintf(one, sizeof one, "%s", x->str);
      else rc = cd_fail(e, "%s: axis '%s': values are numbers or strings", path, r->keys[i]);
      if (!rc && x->type == CD_JSON_NUMBER) { /* shortest text that reads back the same */
        for (int prec = 1; prec <= 17; prec++) {
          snprintf(one, sizeof one, "%.*g", prec, x->number);
          if (strtod(one, NULL) == x->number) break;
        }
      }
      if (!rc) len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", j ? "," : "", one);
      if (!rc && len >= sizeof list) rc = cd_fail(e, "%s: axis '%s' is too long", path, r->keys[i]);
    }
    if (!rc && cd_sweep_plan_axis(p, r->keys[i], list, e)) rc = cd_fail_prefix(e, "%s", path);
  }
  cd_json_free(doc);
  return rc;
}

/* Same data set in every cache: same name, classes, rows, labels and splits. */
static int same_data(const cd_feature_cache *a, const cd_feature_cache *b, const char *pa, const char *pb, cd_error *e) {
  int same = !strcmp(a->dataset, b->dataset) && a->N == b->N && a->n_cls == b->n_cls && a->n_attr == b->n_attr;
  for (int i = 0; same && i < a->N; i++) same = a->y[i] == b->y[i] && a->split[i] == b->split[i];
  for (int c = 0; same && c < a->n_cls; c++) same = !strcmp(a->classnames[c], b->classnames[c]);
  if (same) return 0;
  return cd_fail(e, "--caches: %s (%s, %d rows) and %s (%s, %d rows) hold different data sets; a sweep compares "
                 "models on one data set", pa, a->dataset, a->N, pb, b->dataset, b->N);
}

/* --reduce given once (a setting of every cell), else pca; -1 when unknown */
static int base_reduce(const cd_sweep_plan *p) {
  const char *v = cd_sweep_base_flag(p, "reduce");
  return v ? cd_reduce_parse(v) : CD_REDUCE_PCA;
}

static int check_caches(cd_sweep_plan *p, cd_error *e) {
  if (base_reduce(p) < 0) return cd_fail(e, "--reduce: unknown kind (pca, random, truncate)");
  cd_feature_cache first, c;
  const cd_sweep_axis *dims = &p->axes[0], *reduce = NULL;
  for (int a = 0; a < p->n_axes; a++)
    if (!strcmp(p->axes[a].name, "reduce")) reduce = &p->axes[a];
  int rc = 0;
  memset(&first, 0, sizeof first);
  for (int k = 0; k < p->n_caches && !rc; k++) {
    if (cd_feature_cache_load(p->caches[k], k ? &c : &first, e)) return k ? (cd_feature_cache_free(&first), -1) : -1;
    const cd_feature_cache *x = k ? &c : &first;
    p->cache_dims[k] = x->D;
    if (k) rc = same_data(&first, x, p->caches[0], p->caches[k], e);
    int n_train = 0;
    for (int i = 0; i < x->N; i++) n_train += x->split[i] == 0;
    for (int d = 0; d < dims->n && !rc; d++) {
      if (!strcmp(dims->values[d], "full")) continue;
      for (int r = 0; r < (reduce ? reduce->n : 1) && !rc; r++) {
        int kind = reduce ? cd_reduce_parse(reduce->values[r]) : base_reduce(p);
        if (cd_reduce_check((cd_reduce_kind)kind, atoi(dims->values[d]), x->D, n_train, e))
          rc = cd_fail_prefix(e, "%s", p->caches[k]);
      }
    }
    if (k) cd_feature_cache_free(&c);
  }
  cd_feature_cache_free(&first);
  return rc;
}

static void cell_name(const cd_sweep_plan *p, cd_sweep_cell *c) {
  size_t n = 0;
  c->name[0] = 0;
  if (p->n_caches > 1) n += (size_t)snprintf(c->name, sizeof c->name, "cache-%s", p->cache_names[c->cache]);
  for (int a = 0; a < p->n_axes; a++) {
    if (c->value[a] < 0) continue;
    char v[128];
    base_name(p->axes[a].values[c->value[a]], v, sizeof v);
    n += (size_t)snprintf(c->name + n, n < sizeof c->name ? sizeof c->name - n : 0, "%s%s-%s", n ? "_" : "",
                          p->axes[a].name, v);
  }
}

int cd_sweep_plan_finish(cd_sweep_plan *p, int threads, cd_error *e) {
  p->threads = threads < 1 ? 1 : threads;
  cd_sweep_axis *dims = &p->axes[0];
  if (!dims->n && !(dims->values[dims->n++] = dup_n("full", 4, e))) return -1;
  if (check_caches(p, e)) return -1;
  int reduce = -1;
  for (int a = 0; a < p->n_axes; a++)
    if (!strcmp(p->axes[a].name, "reduce")) reduce = a;
  long total = p->n_caches;
  for (int a = 0; a < p->n_axes; a++) total *= p->axes[a].n;
  if (total > 100000) return cd_fail(e, "the grid has %ld cells; at most 100000", total);
  p->cells = cd_calloc((size_t)total, sizeof *p->cells, e);
  if (!p->cells) return -1;
  int idx[CD_SWEEP_MAX_AXES] = {0};
  for (long t = 0; t < total; t++) {
    long r = t;
    for (int a = p->n_axes - 1; a >= 0; a--) idx[a] = (int)(r % p->axes[a].n), r /= p->axes[a].n;
    int full = !strcmp(dims->values[idx[0]], "full");
    if (full && reduce >= 0 && idx[reduce] > 0) continue; /* the full embedding has nothing to reduce */
    cd_sweep_cell *c = &p->cells[p->n_cells++];
    c->cache = (int)r;
    for (int a = 0; a < p->n_axes; a++) c->value[a] = full && a == reduce ? -1 : idx[a];
    cell_name(p, c);
    char sub[600];
    snprintf(sub, sizeof sub, "cells/%s", c->name);
    if (cd_path_join(c->dir, sizeof c->dir, p->out_dir, sub)) return cd_fail(e, "%s: path too long", p->out_dir);
  }
  return 0;
}

void cd_sweep_plan_free(cd_sweep_plan *p) {
  for (int k = 0; k < p->n_caches; k++) free(p->caches[k]), free(p->models[k]);
  for (int a = 0; a < p->n_axes; a++)
    for (int i = 0; i < p->axes[a].n; i++) free(p->axes[a].values[i]);
  free(p->cells);
  memset(p, 0, sizeof *p);
}

/* One allocation: the pointer vector, then the flag texts it points into. */
char **cd_sweep_cell_argv(const cd_sweep_plan *p, int i, int *argc, cd_error *e) {
  const cd_sweep_cell *c = &p->cells[i];
  enum { TEXT = 32 };
  int cap = p->n_base + 2 * p->n_axes + 10, n = 0;
  char **v = cd_calloc(1, sizeof(char *) * (size_t)(cap + 1) + TEXT * (size_t)(p->n_axes + 1), e);
  if (!v) return NULL;
  char *text = (char *)(v + cap + 1);
  const char *fixed[] = {"run", "--cache", p->caches[c->cache], "--model", p->models[c->cache], "--out", c->dir};
  for (int k = 0; k < 7; k++) v[n++] = (char *)fixed[k];
  for (int k = 0; k < p->n_base; k++) v[n++] = p->base[k];
  for (int a = 0; a < p->n_axes; a++) {
    if (c->value[a] < 0) continue;
    snprintf(text, TEXT, "--%s", p->axes[a].name);
    v[n++] = text, text += TEXT;
    v[n++] = p->axes[a].values[c->value[a]];
  }
  v[n++] = "--threads";
  snprintf(text, TEXT, "%d", p->threads);
  v[n++] = text;
  *argc = n;
  return v;
}

void cd_sweep_argv_free(char **argv) { free(argv); }

/* ---- a cell's axis values ---- */

double cd_sweep_cell_dims(const cd_sweep_plan *p, int i) {
  const char *v = p->axes[0].values[p->cells[i].value[0]];
  return strcmp(v, "full") ? atof(v) : p->cache_dims[p->cells[i].cache];
}

const char *cd_sweep_cell_value(const cd_sweep_plan *p, int i, int a) {
  int k = p->cells[i].value[a];
  return k < 0 ? "" : p->axes[a].values[k];
}

/* ---- processes of a local sweep ---- */

const char *cd_sweep_base_flag(const cd_sweep_plan *p, const char *name) {
  for (int k = 0; k + 1 < p->n_base; k++)
    if (p->base[k][0] == '-' && p->base[k][1] == '-' && !strcmp(p->base[k] + 2, name)) return p->base[k + 1];
  return NULL;
}

/* The value cell i runs with for --name: its axis value, else the flag given once, else "". */
static const char *cell_setting(const cd_sweep_plan *p, int i, const char *name) {
  for (int a = 0; a < p->n_axes; a++)
    if (!strcmp(p->axes[a].name, name) && p->cells[i].value[a] >= 0) return p->axes[a].values[p->cells[i].value[a]];
  const char *v = cd_sweep_base_flag(p, name);
  return v ? v : "";
}

/* Whether the cells' runs can share a tower pass at all: prompt-tuned pairs in lockstep, the
 * attribute prompts given (a discovery makes its own per cell). */
static int can_share(const cd_sweep_plan *p) {
  const char *lockstep = cd_sweep_base_flag(p, "lockstep"), *head = cd_sweep_base_flag(p, "head");
  return !(lockstep && !strcmp(lockstep, "off")) && !(head && !strcmp(head, "linear")) &&
         !cd_sweep_base_flag(p, "attr") && !cd_sweep_base_flag(p, "attr-from");
}

/* The prompt-tuned (method, seed) pairs of every cell (the --methods and --seeds given once). */
static int pairs_per_cell(const cd_sweep_plan *p) {
  cd_run_config c;
  cd_run_config_default(&c);
  const char *m = cd_sweep_base_flag(p, "methods"), *s = cd_sweep_base_flag(p, "seeds");
  if ((m && cd_run_config_set_methods(&c, m, NULL)) || (s && cd_run_config_set_seeds(&c, s, NULL))) return 1;
  int n = 0;
  for (int k = 0; k < c.n_methods; k++) n += cd_method_kind_of(c.methods[k]) == CD_KIND_TUNE;
  return n * c.n_seeds > 0 ? n * c.n_seeds : 1;
}

static int same_pass(const cd_sweep_plan *p, int i, int j) {
  static const char *const key[] = {"precision", "n-ctx"};
  if (strcmp(p->models[p->cells[i].cache], p->models[p->cells[j].cache])) return 0;
  for (size_t k = 0; k < sizeof key / sizeof key[0]; k++)
    if (strcmp(cell_setting(p, i, key[k]), cell_setting(p, j, key[k]))) return 0;
  return 1;
}

int cd_sweep_plan_groups(const cd_sweep_plan *p, const int *cells, int n, int jobs, int *group) {
  int share = can_share(p), per_group = CD_RUN_LOCKSTEP_MAX_PAIRS / pairs_per_cell(p), groups = 0;
  if (per_group > CD_SWEEP_MAX_GROUP_CELLS) per_group = CD_SWEEP_MAX_GROUP_CELLS;
  if (per_group < 1) per_group = 1;
  int *size = calloc((size_t)(n ? n : 1), sizeof *size);
  if (!size) share = 0;
  for (int k = 0; k < n; k++) {
    group[k] = -1;
    for (int j = 0; share && j < k && group[k] < 0; j++)
      if (size[group[j]] < per_group && same_pass(p, cells[j], cells[k])) group[k] = group[j];
    if (group[k] < 0) group[k] = groups++;
    if (size) size[group[k]]++;
  }
  while (share && groups < jobs) { /* every process busy: halve the largest group */
    int big = 0;
    for (int g = 1; g < groups; g++) big = size[g] > size[big] ? g : big;
    if (size[big] < 2) break;
    int move = size[big] / 2, seen = 0;
    for (int k = 0; k < n; k++)
      if (group[k] == big && ++seen > size[big] - move) group[k] = groups;
    size[big] -= move, size[groups++] = move;
  }
  free(size);
  return groups;
}
