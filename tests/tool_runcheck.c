/* Helper for the CLI test scripts (not a test itself):
 *
 *   tool_runcheck RUN_DIR
 *       checks a directory written by `clipdebias run` against the documented schema:
 *       results.json (every key and its type, one entry per method and group, accuracies in
 *       [0, 1] or null, selected epochs in range, std present), metrics.jsonl (every line's keys;
 *       one line per method, seed and epoch 0..epochs, one line for a seedless method: zeroshot and
 *       the training-free baselines; one per seed for a fitted one, epochs 0), args.json, and each
 *       finished pair's files. A method with "status": "diverged" has null test and val, no
 *       selected epochs, and a "diverged" list (seed, epoch, loss, likely_flag, message); its
 *       diverged seeds have no metrics lines. Prints "schema ok: M methods, S seeds, L metrics
 *       lines".
 *
 *   tool_runcheck --beats METHOD OTHER[,OTHER...] RUN_DIR
 *       after the schema check, requires METHOD's mean test worst-group accuracy to be
 *       strictly above each OTHER's (the demo's claim, checked by CI); prints the numbers.
 *
 * Exit 0 on success, 1 with one message on stderr naming the file and the key otherwise. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"

static char g_where[4400];
static int fail(const char *fmt, const char *key) {
  fprintf(stderr, "%s: ", g_where);
  fprintf(stderr, fmt, key);
  fputc('\n', stderr);
  return 1;
}

static const cd_json *need(const cd_json *o, const char *key, cd_json_type t, int nullable) {
  const cd_json *v = cd_json_get(o, key);
  if (!v) return fail("no \"%s\"", key), NULL;
  if (v->type == CD_JSON_NULL && nullable) return v;
  if (v->type != t) return fail("\"%s\" has the wrong type", key), NULL;
  return v;
}

static int fraction(const cd_json *o, const char *key) {
  const cd_json *v = need(o, key, CD_JSON_NUMBER, 1);
  if (!v) return 1;
  if (v->type == CD_JSON_NUMBER && !(v->number >= 0 && v->number <= 1)) return fail("\"%s\" is not in [0, 1]", key);
  return 0;
}

static int check_split(const cd_json *s, int n_groups) {
  const char *keys[4] = {"avg_acc", "avg_acc_adjusted", "worst_group_acc", "gap"};
  const cd_json *std = need(s, "std", CD_JSON_OBJECT, 0), *groups = need(s, "groups", CD_JSON_ARRAY, 0);
  if (!std || !groups || !need(s, "pred_hist", CD_JSON_ARRAY, 0) || !need(s, "warnings", CD_JSON_ARRAY, 0)) return 1;
  for (int k = 0; k < 4; k++)
    if ((k < 3 && fraction(s, keys[k])) || !need(s, keys[k], CD_JSON_NUMBER, 1) || !need(std, keys[k], CD_JSON_NUMBER, 1))
      return 1;
  if ((int)groups->n != n_groups) return fail("%s has another count than n_groups", "groups");
  for (size_t g = 0; g < groups->n; g++) {
    const cd_json *e = &groups->items[g];
    if (!need(e, "g", CD_JSON_NUMBER, 0) || !need(e, "y", CD_JSON_NUMBER, 0) || !need(e, "a", CD_JSON_NUMBER, 1) ||
        !need(e, "n", CD_JSON_NUMBER, 0) || fraction(e, "acc") || !need(e, "acc_std", CD_JSON_NUMBER, 1))
      return 1;
    if (cd_json_get_int(e, "g", -1) != (int64_t)g) return fail("%s out of order", "groups[].g");
    if (cd_json_get_int(e, "n", 0) == 0 && cd_json_get(e, "acc")->type != CD_JSON_NULL)
      return fail("an empty group must have %s null", "acc");
  }
  return 0;
}

/* A diverged method: its "diverged" entries; *n = how many seeds diverged. */
static int check_diverged(const cd_json *x, int n_seeds, int *n) {
  const cd_json *list = need(x, "diverged", CD_JSON_ARRAY, 0), *sel = need(x, "selected_epoch", CD_JSON_ARRAY, 0);
  if (!list || !sel || !need(x, "test", CD_JSON_NULL, 0) || !need(x, "val", CD_JSON_NULL, 0)) return 1;
  if (list->n < 1 || (int)list->n > n_seeds) return fail("%s must list 1 to seeds entries", "diverged");
  if (sel->n != 0) return fail("%s must be empty for a diverged method", "selected_epoch");
  for (size_t i = 0; i < list->n; i++) {
    const cd_json *d = &list->items[i];
    if (!need(d, "seed", CD_JSON_NUMBER, 0) || !need(d, "epoch", CD_JSON_NUMBER, 0) || !need(d, "loss", CD_JSON_NUMBER, 1) ||
        !need(d, "likely_flag", CD_JSON_STRING, 0) || !need(d, "message", CD_JSON_STRING, 0))
      return 1;
    if (cd_json_get_int(d, "epoch", 0) < 1) return fail("%s must be an epoch >= 1", "diverged[].epoch");
  }
  *n = (int)list->n;
  return 0;
}

static int check_results(const cd_json *r, int *n_methods, int *n_seeds, int *epochs, int *n_diverged, int *want) {
  const char *strs[5] = {"dataset", "model", "cache", "head", "select"};
  for (int k = 0; k < 5; k++)
    if (!need(r, strs[k], CD_JSON_STRING, 0)) return 1;
  const cd_json *seeds = need(r, "seeds", CD_JSON_ARRAY, 0), *methods = need(r, "methods", CD_JSON_OBJECT, 0);
  const cd_json *order = need(r, "method_order", CD_JSON_ARRAY, 0), *pl = need(r, "pseudo_labels", CD_JSON_OBJECT, 0);
  if (!seeds || !methods || !order || !pl || !need(r, "classnames", CD_JSON_ARRAY, 0) ||
      !need(r, "attr_names", CD_JSON_ARRAY, 0) || !need(r, "n_groups", CD_JSON_NUMBER, 0) ||
      !need(r, "train_group_counts", CD_JSON_ARRAY, 0) || fraction(r, "pseudo_label_acc") ||
      !need(r, "wall_seconds", CD_JSON_NUMBER, 0) || !need(pl, "splits", CD_JSON_ARRAY, 0) || fraction(pl, "acc") ||
      !need(pl, "per_class", CD_JSON_ARRAY, 1) || !need(pl, "confusion", CD_JSON_ARRAY, 1))
    return 1;
  int G = (int)cd_json_get_int(r, "n_groups", 0);
  if ((int)cd_json_get(r, "train_group_counts")->n != G) return fail("%s has another count than n_groups", "train_group_counts");
  if (order->n != methods->n) return fail("%s does not list every method", "method_order");
  *n_methods = (int)methods->n;
  *n_seeds = (int)seeds->n;
  *n_diverged = 0;
  *want = 0;
  for (size_t m = 0; m < methods->n; m++) {
    const cd_json *x = &methods->items[m], *status = need(x, "status", CD_JSON_STRING, 0);
    if (!status) return 1;
    if (!strcmp(status->str, "diverged")) {
      int n = 0;
      snprintf(g_where + strlen(g_where), 64, " methods.%s", methods->keys[m]);
      if (check_diverged(x, *n_seeds, &n)) return 1;
      *strrchr(g_where, ' ') = 0;
      *n_diverged += n;
      if (!strcmp(methods->keys[m], "zeroshot")) return fail("%s cannot diverge", "zeroshot");
      *epochs = (int)cd_json_get_int(x, "epochs", -1);
      *want += (*n_seeds - n) * (*epochs + 1);
      continue;
    }
    if (strcmp(status->str, "finished")) return fail("%s must be \"finished\" or \"diverged\"", "status");
    const cd_json *sel = need(x, "selected_epoch", CD_JSON_ARRAY, 0);
    const cd_json *test = need(x, "test", CD_JSON_OBJECT, 0), *val = need(x, "val", CD_JSON_OBJECT, 0);
    if (!sel || !test || !val || !need(x, "epochs", CD_JSON_NUMBER, 0)) return 1;
    if (strcmp(order->items[m].str, methods->keys[m])) return fail("%s differs from the methods' order", "method_order");
    /* seedless: zeroshot and the training-free baselines ("seeds": null, one metrics line);
     * epochs 0: a head fitted per seed (dfr), one line per seed with selected epoch 0 */
    const cd_json *ms = cd_json_get(x, "seeds");
    int seedless = !ms || ms->type == CD_JSON_NULL, E = (int)cd_json_get_int(x, "epochs", -1);
    if (!strcmp(methods->keys[m], "zeroshot") && !seedless) return fail("%s must have \"seeds\": null", "zeroshot");
    if (E > 0) *epochs = E;
    *want += seedless ? 1 : *n_seeds * (E + 1);
    if ((int)sel->n != (seedless ? 1 : *n_seeds)) return fail("%s needs one entry per seed", "selected_epoch");
    for (size_t s = 0; s < sel->n; s++)
      if (sel->items[s].number < (E == 0 ? 0 : 1) || sel->items[s].number > E) return fail("%s out of range", "selected_epoch");
    snprintf(g_where + strlen(g_where), 64, " methods.%s", methods->keys[m]);
    if (check_split(test, G) || check_split(val, G)) return 1;
    *strrchr(g_where, ' ') = 0;
  }
  return 0;
}

static int check_line(const cd_json *l) {
  const cd_json *val = need(l, "val", CD_JSON_OBJECT, 0), *test = need(l, "test", CD_JSON_OBJECT, 0);
  if (!need(l, "method", CD_JSON_STRING, 0) || !need(l, "seed", CD_JSON_NUMBER, 1) || !need(l, "epoch", CD_JSON_NUMBER, 0) ||
      !need(l, "loss", CD_JSON_NUMBER, 1) || !need(l, "lr", CD_JSON_NUMBER, 1) ||
      !need(l, "weight_groups", CD_JSON_STRING, 1) || !need(l, "group_weights", CD_JSON_ARRAY, 1) ||
      !need(l, "p_bar", CD_JSON_ARRAY, 1) || !val || !test || fraction(val, "avg_acc") ||
      fraction(val, "worst_group_acc") || fraction(val, "worst_group_acc_pseudo") ||
      !need(val, "groups", CD_JSON_ARRAY, 0) || fraction(test, "avg_acc") || fraction(test, "worst_group_acc") ||
      !need(test, "groups", CD_JSON_ARRAY, 0))
    return 1;
  return 0;
}

static int check_metrics(const char *dir, int want, int *lines) {
  char path[4200];
  uint8_t *buf;
  size_t n;
  cd_error e;
  snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
  if (cd_file_read(path, (size_t)1 << 30, &buf, &n, &e)) return fprintf(stderr, "%s\n", e.msg), 1;
  int rc = 0;
  *lines = 0;
  for (char *p = (char *)buf, *nl; !rc && p < (char *)buf + n; p = nl + 1) {
    nl = strchr(p, '\n');
    if (!nl) return free(buf), fail("%s: last line has no newline", path);
    snprintf(g_where, sizeof g_where, "%s line %d", path, *lines + 1);
    cd_json_doc *d = cd_json_parse(p, (size_t)(nl - p), g_where, &e);
    if (!d) rc = (fprintf(stderr, "%s\n", e.msg), 1);
    else rc = check_line(cd_json_root(d)), cd_json_free(d);
    ++*lines;
  }
  free(buf);
  if (!rc && *lines != want) {
    fprintf(stderr, "%s: %d lines, expected %d (1 per seedless method + (seeds - diverged pairs) x (epochs + 1) per other)\n", path,
            *lines, want);
    rc = 1;
  }
  return rc;
}

/* Mean test worst-group accuracy of a method in results.json, or NAN when absent. */
static double test_worst_group(const cd_json *root, const char *method) {
  const cd_json *m = cd_json_get(cd_json_get(root, "methods"), method);
  const cd_json *w = cd_json_get(cd_json_get(m, "test"), "worst_group_acc");
  return w && w->type == CD_JSON_NUMBER ? w->number : NAN;
}

/* METHOD's test worst group must beat every method of the comma-separated list. */
static int check_beats(const char *run_dir, const char *method, const char *others) {
  char path[4200], name[128];
  cd_error e;
  snprintf(path, sizeof path, "%s/results.json", run_dir);
  cd_json_doc *doc = cd_json_parse_file(path, 1 << 26, &e);
  if (!doc) return fprintf(stderr, "%s\n", e.msg), 1;
  double wg = test_worst_group(cd_json_root(doc), method);
  int rc = isnan(wg) ? (fprintf(stderr, "%s: no test worst-group accuracy for %s\n", path, method), 1) : 0;
  printf("test worst-group accuracy: %s %.4f", method, wg);
  for (const char *p = others; !rc && *p;) {
    size_t n = strcspn(p, ",");
    snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), p);
    double other = test_worst_group(cd_json_root(doc), name);
    printf("  %s %.4f", name, other);
    if (!(wg > other)) rc = (fprintf(stderr, "\n%s: %s's worst group (%.4f) does not beat %s's (%.4f)\n", path, method, wg, name, other), 1);
    p += n + (p[n] == ',');
  }
  printf("\n");
  cd_json_free(doc);
  return rc;
}

static int check_schema(const char *run_dir) {
  char path[4200];
  cd_error e;
  snprintf(path, sizeof path, "%s/results.json", run_dir);
  snprintf(g_where, sizeof g_where, "%s", path);
  cd_json_doc *doc = cd_json_parse_file(path, 1 << 26, &e);
  if (!doc) return fprintf(stderr, "%s\n", e.msg), 1;
  int n_methods = 0, n_seeds = 0, epochs = 0, lines = 0, n_diverged = 0, want = 0;
  int rc = check_results(cd_json_root(doc), &n_methods, &n_seeds, &epochs, &n_diverged, &want);
  cd_json_free(doc);
  if (!rc) rc = check_metrics(run_dir, want, &lines);
  snprintf(path, sizeof path, "%s/args.json", run_dir);
  snprintf(g_where, sizeof g_where, "%s", path);
  if (!rc && !(doc = cd_json_parse_file(path, 1 << 24, &e))) rc = (fprintf(stderr, "%s\n", e.msg), 1);
  else if (!rc) {
    rc = !need(cd_json_root(doc), "training", CD_JSON_OBJECT, 0) || !need(cd_json_root(doc), "methods", CD_JSON_ARRAY, 0);
    cd_json_free(doc);
  }
  if (!rc)
    printf("schema ok: %d methods, %d seeds, %d epochs, %d metrics lines, %d diverged pairs\n", n_methods, n_seeds, epochs,
           lines, n_diverged);
  return rc;
}

int main(int argc, char **argv) {
  if (argc == 5 && !strcmp(argv[1], "--beats")) return check_schema(argv[4]) || check_beats(argv[4], argv[2], argv[3]);
  if (argc != 2) return fprintf(stderr, "usage: tool_runcheck [--beats METHOD OTHER[,OTHER...]] RUN_DIR\n"), 1;
  return check_schema(argv[1]);
}
