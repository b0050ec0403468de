/* The public API's group metrics: of predictions on a cache, or read back from the files the
 * commands write (a run's results.json, a stage command's metrics.json). Both hold the same
 * split object (models/debias/eval.c: cd_eval_write_split), read here field by field. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/file.h"
#include "core/json.h"
#include "models/api/api_internal.h"

static const char *const SPLITS[3] = {"train", "val", "test"};

static cd_api_entry *add_entry(clipdebias_metrics *r, const char *name, cd_error *e) {
  cd_api_entry *grown = realloc(r->entries, sizeof *grown * (size_t)(r->n + 1));
  if (!grown) return cd_fail(e, "out of memory"), NULL;
  r->entries = grown;
  cd_api_entry *x = &grown[r->n];
  memset(x, 0, sizeof *x);
  x->name = strdup(name);
  x->acc = cd_calloc((size_t)3 * (size_t)(r->G > 0 ? r->G : 1), sizeof(double), e);
  x->n = cd_calloc((size_t)3 * (size_t)(r->G > 0 ? r->G : 1), sizeof(int64_t), e);
  r->n++; /* counted before the checks so that free releases it */
  if (!x->name || !x->acc || !x->n) return cd_fail(e, "out of memory"), NULL;
  return x;
}

void clipdebias_metrics_free(clipdebias_metrics *r) {
  if (!r) return;
  for (int i = 0; i < r->n; i++) free(r->entries[i].name), free(r->entries[i].acc), free(r->entries[i].n);
  free(r->entries);
  if (r->has_eval) cd_eval_free(&r->eval);
  free(r);
}

static void set_split(cd_api_entry *x, int s, int G, const cd_group_metrics *m) {
  x->present[s] = 1;
  x->avg[s] = m->avg_acc, x->worst[s] = m->worst_group_acc, x->gap[s] = m->gap;
  for (int g = 0; g < G && g < m->G; g++) x->acc[s * G + g] = m->acc[g], x->n[s * G + g] = m->n[g];
}

clipdebias_metrics *clipdebias_evaluate(const clipdebias_cache *c, const int32_t *pred, char *err, size_t errcap) {
  cd_error e;
  clipdebias_metrics *r = cd_calloc(1, sizeof *r, &e);
  if (!r) return cd_api_report(&e, err, errcap), NULL;
  if (cd_eval_predictions(&c->cache, pred, &r->eval, &e)) {
    free(r);
    return cd_api_report(&e, err, errcap), NULL;
  }
  r->has_eval = 1;
  r->G = r->eval.G;
  cd_api_entry *x = add_entry(r, "predictions", &e);
  if (!x) return clipdebias_metrics_free(r), cd_api_report(&e, err, errcap), NULL;
  for (int s = 0; s < 3; s++)
    if (r->eval.split[s].n_rows > 0) set_split(x, s, r->G, &r->eval.split[s]);
  return r;
}

/* A split object of results.json / metrics.json; null or absent: not present. where names it
 * in messages ("results.json: erm"). */
static int read_split(cd_api_entry *x, int s, int G, const cd_json *parent, const char *where, cd_error *e) {
  const cd_json *o, *groups;
  if (!cd_json_has(parent, SPLITS[s])) return 0;
  if (cd_json_field(parent, SPLITS[s], CD_JSON_OBJECT, &o, where, e) || cd_json_field(o, "groups", CD_JSON_ARRAY, &groups, where, e))
    return -1;
  if ((int)groups->n != G)
    return cd_fail(e, "%s: field \"%s\": %zu groups, expected %d", where, SPLITS[s], groups->n, G);
  x->present[s] = 1;
  x->avg[s] = cd_json_get_num(o, "avg_acc", NAN);
  x->worst[s] = cd_json_get_num(o, "worst_group_acc", NAN);
  x->gap[s] = cd_json_get_num(o, "gap", NAN);
  for (int g = 0; g < G; g++) {
    x->acc[s * G + g] = cd_json_get_num(&groups->items[g], "acc", NAN);
    x->n[s * G + g] = cd_json_get_int(&groups->items[g], "n", 0);
  }
  return 0;
}

static int read_splits(clipdebias_metrics *r, const char *name, const cd_json *o, const char *where, cd_error *e) {
  cd_api_entry *x = add_entry(r, name, e);
  if (!x) return -1;
  for (int s = 0; s < 3; s++)
    if (read_split(x, s, r->G, o, where, e)) return -1;
  return 0;
}

/* results.json: "n_groups", "methods": {name: {"val": {...}, "test": {...}}} in method_order. */
static int read_results(clipdebias_metrics *r, const cd_json *root, const char *path, cd_error *e) {
  const cd_json *methods;
  if (cd_json_field_int(root, "n_groups", 1, INT32_MAX, &r->G, path, e) ||
      cd_json_field(root, "methods", CD_JSON_OBJECT, &methods, path, e))
    return -1;
  for (size_t k = 0; k < methods->n; k++) {
    char where[4400];
    snprintf(where, sizeof where, "%s: method \"%s\"", path, methods->keys[k]);
    if (read_splits(r, methods->keys[k], &methods->items[k], where, e)) return -1;
  }
  return 0;
}

/* metrics.json: "what", "train_group_counts" [G], and the split objects at the top. */
static int read_metrics(clipdebias_metrics *r, const cd_json *root, const char *path, cd_error *e) {
  const cd_json *counts;
  if (cd_json_field(root, "train_group_counts", CD_JSON_ARRAY, &counts, path, e)) return -1;
  r->G = (int)counts->n;
  return read_splits(r, cd_json_get_str(root, "what", "predictions"), root, path, e);
}

clipdebias_metrics *clipdebias_metrics_read(const char *path, char *err, size_t errcap) {
  cd_error e;
  char file[4200];
  struct stat st;
  int is_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
  /* a folder: its results.json (a run), else its metrics.json (zeroshot, eval) */
  if (is_dir ? cd_path_join(file, sizeof file, path, "results.json") ||
                   (stat(file, &st) != 0 && cd_path_join(file, sizeof file, path, "metrics.json"))
             : snprintf(file, sizeof file, "%s", path) >= (int)sizeof file) {
    cd_fail(&e, "%s: path too long", path);
    cd_api_report(&e, err, errcap);
    return NULL;
  }
  clipdebias_metrics *r = cd_calloc(1, sizeof *r, &e);
  cd_json_doc *doc = r ? cd_json_parse_file(file, 1 << 26, &e) : NULL;
  const cd_json *root = doc ? cd_json_root(doc) : NULL;
  int rc = -1;
  if (root && root->type != CD_JSON_OBJECT) cd_fail(&e, "%s: not a JSON object", file);
  else if (root && cd_json_get(root, "methods")) {
    rc = read_results(r, root, file, &e);
  } else if (root) {
    rc = read_metrics(r, root, file, &e);
  }
  cd_json_free(doc);
  if (rc) {
    clipdebias_metrics_free(r);
    cd_api_report(&e, err, errcap);
    return NULL;
  }
  return r;
}

int clipdebias_metrics_count(const clipdebias_metrics *r) { return r->n; }
int clipdebias_metrics_groups(const clipdebias_metrics *r) { return r->G; }
const char *clipdebias_metrics_name(const clipdebias_metrics *r, int entry) {
  return entry >= 0 && entry < r->n ? r->entries[entry].name : NULL;
}

int clipdebias_metrics_split(const clipdebias_metrics *r, int entry, int split, double *avg, double *worst, double *gap,
                             double *group_acc, int64_t *group_n) {
  if (entry < 0 || entry >= r->n || split < 0 || split > 2 || !r->entries[entry].present[split]) return -1;
  const cd_api_entry *x = &r->entries[entry];
  if (avg) *avg = x->avg[split];
  if (worst) *worst = x->worst[split];
  if (gap) *gap = x->gap[split];
  for (int g = 0; g < r->G; g++) {
    if (group_acc) group_acc[g] = x->acc[split * r->G + g];
    if (group_n) group_n[g] = x->n[split * r->G + g];
  }
  return 0;
}

int clipdebias_metrics_write(const clipdebias_metrics *r, const clipdebias_cache *c, const char *path, const char *what,
                             char *err, size_t errcap) {
  cd_error e;
  if (!r->has_eval) {
    cd_fail(&e, "%s: only metrics of clipdebias_evaluate are written", path);
    return cd_api_report(&e, err, errcap);
  }
  return cd_eval_write_json(path, what, &c->cache, &r->eval, &e) ? cd_api_report(&e, err, errcap) : 0;
}

void clipdebias_metrics_print(const clipdebias_metrics *r, const clipdebias_cache *c, FILE *fp) {
  if (r->has_eval) cd_eval_print(fp, &c->cache, &r->eval);
}
