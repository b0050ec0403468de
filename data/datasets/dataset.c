/* Data set loading: dispatch to the per-data-set loaders, then the checks every data set
 * gets (images present, no empty group, counts against the official release), and the
 * printed summary. */
#include "data/datasets/dataset.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/datasets/dataset_internal.h"
#include "data/datasets/group_table.h"

/* ---- checks after loading ---------------------------------------------------------------- */

/* "<path> is a symbolic link to <target>, which does not exist" when path is a broken link. */
static int describe_broken_link(const char *path, char *out, size_t cap) {
  struct stat st;
  if (lstat(path, &st) != 0 || !S_ISLNK(st.st_mode)) return 0;
  char target[4096];
  ssize_t k = readlink(path, target, sizeof target - 1);
  if (k < 0) return 0;
  target[k] = 0;
  snprintf(out, cap, "%.560s is a symbolic link to %.560s, which does not exist", path, target);
  return 1;
}

static int check_images(const cd_dataset *d, cd_error *e) {
  int missing = 0, shown = 0;
  char list[1400] = "", link[1200] = "", path[8192];
  for (int i = 0; i < d->n; i++) {
    if (cd_ds_join(path, sizeof path, d->filenames[i][0] == '/' ? "" : d->root, d->filenames[i]) || !cd_ds_is_file(path)) {
      if (!link[0]) describe_broken_link(path, link, sizeof link);
      if (shown < 5) {
        size_t at = strlen(list);
        snprintf(list + at, sizeof list - at, "%s%s", shown ? ", " : "", d->filenames[i]);
        shown++;
      }
      missing++;
    }
  }
  if (!missing) return 0;
  if (link[0])
    return cd_fail(e, "%s: %s%s; %d of %d listed images are unreadable (first: %s)", d->name, link,
                   strcmp(d->name, "metashift") ? ""
                                                : " (MetaShift was generated with symlinks into the GQA image folder; "
                                                  "copy the images or fix the links)",
                   missing, d->n, list);
  return cd_fail(e, "%s: %d of %d images listed in %s are missing under %s/: %s%s", d->name, missing, d->n, d->metadata,
                 d->root, list, missing > 5 ? ", ... (first 5 shown)" : "");
}

/* A group empty everywhere means the labels are wrong (or the wrong columns were used);
 * empty in one split leaves its worst-group accuracy undefined. */
static int check_groups(cd_dataset *d, const cd_group_counts *gc, cd_error *e) {
  if (!gc->n_attr) return 0;
  char name[300];
  for (int g = 0; g < gc->n_groups; g++) {
    const long *c = gc->count + (size_t)g * 3;
    cd_group_name(name, sizeof name, g, gc->n_attr, d->classnames, d->attr_names);
    if (c[0] + c[1] + c[2] == 0)
      return cd_fail(e, "%s: group %s has no images in %s (every class x attribute combination needs some; are the y "
                        "and a columns the intended ones?)", d->name, name, d->metadata);
    for (int s = 0; s < 3; s++)
      if (!c[s] && gc->split_total[s])
        cd_ds_warn(d, "%s: group %s has no %s images (worst-group accuracy on %s is undefined)",
                   d->name, name, cd_split_name(s), cd_split_name(s));
  }
  return 0;
}

static void compare_official(cd_dataset *d, const cd_group_counts *gc) {
  if (d->official_total && gc->total != d->official_total) {
    char exp[200] = "";
    if (d->official)
      for (int s = 0; s < 3; s++) {
        long t = 0;
        for (int g = 0; g < 4; g++) t += d->official[s * 4 + g];
        size_t at = strlen(exp);
        snprintf(exp + at, sizeof exp - at, "%s%s %ld", s ? ", " : "", cd_split_name(s), t);
      }
    cd_ds_warn(d, "%s: found %ld images (train %ld, val %ld, test %ld); the official release has %ld%s%s%s", d->name, gc->total,
               gc->split_total[0], gc->split_total[1], gc->split_total[2], d->official_total, exp[0] ? " (" : "", exp,
               exp[0] ? ")" : "");
    return;
  }
  if (!d->official || gc->n_groups != 4) return;
  char name[300];
  for (int s = 0; s < 3; s++)
    for (int g = 0; g < 4; g++)
      if (gc->count[(size_t)g * 3 + (size_t)s] != d->official[s * 4 + g]) {
        cd_group_name(name, sizeof name, g, 2, d->classnames, d->attr_names);
        cd_ds_warn(d, "%s: %s %s: expected %ld (official), found %ld", d->name, cd_split_name(s), name, d->official[s * 4 + g],
                   gc->count[(size_t)g * 3 + (size_t)s]);
      }
}

/* ---- data sanity: rows that would be counted silently --------------------------------------- */

typedef struct {
  const char *f;
  int i;
} named_row;

static int by_name(const void *a, const void *b) {
  const named_row *x = a, *y = b;
  int c = strcmp(x->f, y->f);
  return c ? c : x->i - y->i;
}

/* Duplicated rows (same file, labels and split), one file with two labels, one file in two
 * splits, no validation split: a warning each with its count and first example, or (strict)
 * one error listing them all. */
static int check_sanity(cd_dataset *d, int strict, cd_error *e) {
  named_row *r = cd_malloc(sizeof *r * (size_t)d->n, e);
  if (!r) return -1;
  for (int i = 0; i < d->n; i++) r[i] = (named_row){d->filenames[i], i};
  qsort(r, (size_t)d->n, sizeof *r, by_name);
  int dup = 0, labels = 0, splits = 0, val = 0;
  char ex_dup[600] = "", ex_lab[600] = "", ex_split[600] = "", msg[2400] = "";
  for (int i = 0; i < d->n; i++) val += d->split[i] == 1;
  for (int g = 0, end; g < d->n; g = end) {
    int first = r[g].i, two_labels = 0, two_splits = 0;
    for (end = g + 1; end < d->n && !strcmp(r[end].f, r[g].f); end++) {
      int k = r[end].i, same_label = d->y[k] == d->y[first] && d->a[k] == d->a[first];
      if (same_label && d->split[k] == d->split[first]) dup++;
      if (!same_label && !two_labels++ && !ex_lab[0])
        snprintf(ex_lab, sizeof ex_lab, "%.400s: y %d, a %d and y %d, a %d", r[g].f, d->y[first], d->a[first], d->y[k], d->a[k]);
      if (d->split[k] != d->split[first] && !two_splits++ && !ex_split[0])
        snprintf(ex_split, sizeof ex_split, "%.400s in %s and %s", r[g].f, cd_split_name(d->split[first]), cd_split_name(d->split[k]));
    }
    if (end - g > 1 && dup && !ex_dup[0]) snprintf(ex_dup, sizeof ex_dup, "%.400s", r[g].f);
    labels += two_labels > 0, splits += two_splits > 0;
  }
  free(r);
  size_t at = 0;
#define SAY(...) (at += (size_t)snprintf(msg + at, at < sizeof msg ? sizeof msg - at : 0, __VA_ARGS__), at = at < sizeof msg ? at : sizeof msg - 1)
  if (dup) SAY("%s%d duplicated row%s (the same file, labels and split listed again; first: %s)", at ? "; " : "", dup, dup == 1 ? "" : "s", ex_dup);
  if (labels) SAY("%s%d file%s listed with two labels (first: %s)", at ? "; " : "", labels, labels == 1 ? "" : "s", ex_lab);
  if (splits) SAY("%s%d file%s in two splits, so trained or selected on and tested on (first: %s)", at ? "; " : "", splits, splits == 1 ? "" : "s", ex_split);
  if (!val) SAY("%sno validation split (run selects epochs and measures pseudo labels on it)", at ? "; " : "");
#undef SAY
  if (!at) return 0;
  if (strict) return cd_fail(e, "%s: %s: %s (--strict)", d->name, d->metadata, msg);
  cd_ds_warn(d, "%s: %s (--strict makes this an error)", d->name, msg);
  return 0;
}

static int finish(cd_dataset *d, int strict, cd_error *e) {
  if (d->n == 0) return cd_fail(e, "%s: %s lists no images", d->name, d->metadata);
  if (check_images(d, e) || check_sanity(d, strict, e)) return -1;
  cd_group_counts gc;
  if (cd_group_counts_make(&gc, d->n, d->y, d->a, d->split, d->n_cls, d->n_attr, e)) return cd_fail_prefix(e, "%s", d->metadata);
  int rc = check_groups(d, &gc, e);
  if (rc == 0) compare_official(d, &gc);
  cd_group_counts_free(&gc);
  return rc;
}

/* --classnames / --attr-names on a benchmark: other words for the same classes (prompts). */
static int rename_classes(cd_dataset *d, const char *list, const char *opt, char ***names, int *n, cd_error *e) {
  char **given;
  int k;
  if (!list) return 0;
  if (cd_ds_split_names(list, opt, &given, &k, e)) return -1;
  if (k != *n) {
    cd_ds_free_strings(given, k);
    return cd_fail(e, "%s: %s has %d of them, %d given", opt, d->name, *n, k);
  }
  cd_ds_free_strings(*names, *n);
  *names = given;
  return 0;
}

int cd_dataset_load(const cd_dataset_opts *o, cd_dataset *d, cd_error *e) {
  memset(d, 0, sizeof *d);
  if (!o->name) return cd_fail(e, "--dataset is required (waterbirds, celeba, metashift or csv)");
  if (!o->root && !o->csv) return cd_fail(e, "--root DIR is required (the folder holding the %s data)", o->name);
  if (o->root && !cd_ds_is_dir(o->root))
    return cd_fail(e, "%s: %s", o->root, cd_ds_is_file(o->root) ? "is a file; --root expects the data set folder" : "no such folder");
  snprintf(d->name, sizeof d->name, "%s", o->name);
  int rc;
  if (!strcmp(o->name, "waterbirds")) rc = cd_waterbirds_load(o, d, e);
  else if (!strcmp(o->name, "celeba")) rc = cd_celeba_load(o, d, e);
  else if (!strcmp(o->name, "metashift")) rc = cd_metashift_load(o, d, e);
  else if (!strcmp(o->name, "csv")) rc = cd_csv_dataset_load(o, d, e);
  else rc = cd_fail(e, "--dataset '%s' is not one of waterbirds, celeba, metashift, csv", o->name);
  if (rc == 0 && !d->options_json) rc = cd_ds_set_options(d, "{}", e);
  if (rc == 0 && strcmp(o->name, "csv"))
    rc = rename_classes(d, o->classnames, "--classnames", &d->classnames, &d->n_cls, e) ||
                 rename_classes(d, o->attr_names, "--attr-names", &d->attr_names, &d->n_attr, e) ? -1 : 0;
  if (rc == 0) rc = finish(d, o->strict, e);
  if (rc) cd_dataset_free(d);
  return rc;
}

void cd_dataset_print(FILE *fp, const cd_dataset *d) {
  fprintf(fp, "%s: %d images\n", d->name, d->n);
  if (d->notes) fputs(d->notes, fp);
  cd_group_counts gc;
  if (cd_group_counts_make(&gc, d->n, d->y, d->a, d->split, d->n_cls, d->n_attr, NULL) == 0) {
    cd_group_counts_print(fp, &gc, d->classnames, d->attr_names);
    cd_group_counts_free(&gc);
  }
  if (d->warnings) fputs(d->warnings, fp);
}
