/* Any image data set described by a CSV with filename, y, split and optionally a (SubpopBench's
 * convention; the same header aliases as the benchmarks apply), plus --classnames and
 * --attr-names. File names are relative to --root (default: the CSV's folder) or absolute. */
#include <stdlib.h>
#include <string.h>

#include "data/datasets/dataset_internal.h"

static void free_names(char **s, int n) {
  for (int i = 0; s && i < n; i++) free(s[i]);
  free(s);
}

/* Names given, or name0, name1, ... up to the largest label found. */
static int names_for(char ***names, int *n, const char *given, const char *opt, const char *prefix, int max_label,
                     cd_error *e) {
  if (given) return cd_ds_split_names(given, opt, names, n, e);
  *n = max_label + 1;
  *names = calloc((size_t)*n + 1, sizeof(char *));
  if (!*names) return cd_fail(e, "out of memory");
  for (int i = 0; i < *n; i++) {
    char buf[32];
    snprintf(buf, sizeof buf, "%s%d", prefix, i);
    (*names)[i] = strdup(buf);
  }
  return 0;
}

/* Absolute names under the root become relative, so the cache does not depend on it. */
static void relativise(cd_dataset *d) {
  size_t k = strlen(d->root);
  for (int i = 0; i < d->n; i++)
    if (!strncmp(d->filenames[i], d->root, k) && d->filenames[i][k] == '/')
      memmove(d->filenames[i], d->filenames[i] + k + 1, strlen(d->filenames[i] + k + 1) + 1);
}

int cd_csv_dataset_load(const cd_dataset_opts *o, cd_dataset *d, cd_error *e) {
  if (!o->csv) return cd_fail(e, "csv: --csv FILE is required (a CSV with columns filename,y,split and optionally a)");
  if (!cd_ds_is_file(o->csv)) return cd_fail(e, "csv: %s: no such file", o->csv);
  char **cls = NULL, **att = NULL;
  int n_cls = 0, n_att = 0;
  if (o->classnames && cd_ds_split_names(o->classnames, "--classnames", &cls, &n_cls, e)) return -1;
  if (o->attr_names && cd_ds_split_names(o->attr_names, "--attr-names", &att, &n_att, e)) return free_names(cls, n_cls), -1;
  free_names(cls, n_cls);
  free_names(att, n_att);
  cd_label_csv_opts lo = {0, o->classnames ? n_cls - 1 : -1, o->attr_names ? n_att - 1 : -1, NULL, NULL};
  if (cd_ds_absolute(d->metadata, sizeof d->metadata, o->csv, e) || cd_ds_read_label_csv(d, o->csv, &lo, e)) return -1;
  int max_y = 0, max_a = -1;
  for (int i = 0; i < d->n; i++) {
    if (d->y[i] > max_y) max_y = d->y[i];
    if (d->a[i] > max_a) max_a = d->a[i];
  }
  if (names_for(&d->classnames, &d->n_cls, o->classnames, "--classnames", "class", max_y, e)) return -1;
  if (max_a >= 0 && names_for(&d->attr_names, &d->n_attr, o->attr_names, "--attr-names", "attr", max_a, e)) return -1;
  if (max_a < 0 && o->attr_names) cd_ds_warn(d, "csv: --attr-names given, but %s has no attribute values", d->metadata);
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", d->metadata);
  *strrchr(dir, '/') = 0;
  if (cd_ds_absolute(d->root, sizeof d->root, o->root ? o->root : (dir[0] ? dir : "/"), e)) return -1;
  relativise(d);
  cd_ds_note(d, "metadata: %s", d->metadata);
  cd_ds_note(d, "images:   %s/", d->root);
  if (!o->classnames) cd_ds_note(d, "classes:  class0..class%d (give --classnames for readable prompts)", max_y);
  d->official_split = 1;
  return 0;
}
