/* Metadata tables with one row per image: a file-name column, y, split and (optionally) the
 * spurious attribute a, found by header name with the aliases used across the benchmark
 * code bases (group_DRO's img_filename/place, SubpopBench's filename/a, Kaggle's image_id,
 * CelebA's attribute names). */
#include <string.h>
#include <strings.h>

#include "data/datasets/csv.h"
#include "data/datasets/dataset_internal.h"

const char *const CD_ALIAS_FILE[] = {"filename", "img_filename", "image_id", "img_path", "image_path", "path", "image", NULL};
const char *const CD_ALIAS_Y[] = {"y", "label", "target", "Blond_Hair", NULL};
const char *const CD_ALIAS_A[] = {"a", "place", "Male", "attr", "attribute", "spurious", NULL};
const char *const CD_ALIAS_SPLIT[] = {"split", "partition", NULL};

int cd_ds_split_value(const char *s) {
  static const char *const names[][4] = {{"0", "train", "tr", NULL}, {"1", "val", "valid", "validation"}, {"2", "test", "te", NULL}};
  while (*s == ' ') s++;
  size_t n = strlen(s);
  while (n && s[n - 1] == ' ') n--;
  for (int k = 0; k < 3; k++)
    for (int j = 0; j < 4 && names[k][j]; j++)
      if (strlen(names[k][j]) == n && !strncasecmp(s, names[k][j], n)) return k;
  if (n == 2 && !strncasecmp(s, "va", 2)) return 1;
  return -1;
}

static void alias_list(const char *const *aliases, char *out, size_t cap) {
  size_t at = 0;
  out[0] = 0;
  for (int i = 0; aliases[i]; i++) {
    int k = snprintf(out + at, cap - at, "%s%s", i ? ", " : "", aliases[i]);
    if (k < 0 || (size_t)k >= cap - at) break;
    at += (size_t)k;
  }
}

typedef struct {
  int file, y, a, split;
  int y_pm1, a_pm1; /* CelebA's -1/1 coding (the column is an attribute name) */
} columns;

static int missing_column(const cd_csv *r, const char *role, const char *const *aliases, cd_error *e) {
  char want[256], found[1024];
  alias_list(aliases, want, sizeof want);
  cd_csv_header_text(r->fields, r->n_fields, found, sizeof found);
  return cd_fail(e, "%s: no column for %s (looked for %s); header found: %s", r->path, role, want, found);
}

static int find_columns(const cd_csv *r, int need_a, columns *c, cd_error *e) {
  c->file = cd_csv_column(r->fields, r->n_fields, CD_ALIAS_FILE);
  c->y = cd_csv_column(r->fields, r->n_fields, CD_ALIAS_Y);
  c->a = cd_csv_column(r->fields, r->n_fields, CD_ALIAS_A);
  c->split = cd_csv_column(r->fields, r->n_fields, CD_ALIAS_SPLIT);
  if (c->file < 0) return missing_column(r, "the image file name", CD_ALIAS_FILE, e);
  if (c->y < 0) return missing_column(r, "the class y", CD_ALIAS_Y, e);
  if (c->split < 0) return missing_column(r, "the split", CD_ALIAS_SPLIT, e);
  if (need_a && c->a < 0) return missing_column(r, "the spurious attribute a", CD_ALIAS_A, e);
  const char *pm1[] = {"Blond_Hair", "Male", NULL};
  c->y_pm1 = cd_csv_column(r->fields + c->y, 1, pm1) == 0;
  c->a_pm1 = c->a >= 0 && cd_csv_column(r->fields + c->a, 1, pm1) == 0;
  return 0;
}

static int label(const cd_csv *r, int col, int pm1, int max, int empty_ok, const char *what, int *out, cd_error *e) {
  const char *s = r->fields[col];
  long long v;
  if (empty_ok && !s[0]) return *out = -1, 0;
  if (cd_csv_int(s, &v))
    return cd_fail(e, "%s: row %d (line %d): %s '%s' is not an integer", r->path, r->record, r->line, what, s);
  if (pm1 && (v == -1 || v == 1)) v = v > 0;
  if (v < 0 || (max >= 0 && v > max) || v > 1000000)
    return cd_fail(e, "%s: row %d (line %d): %s = %lld is out of range (0..%d)", r->path, r->record, r->line, what, v,
                   max >= 0 ? max : 1000000);
  *out = (int)v;
  return 0;
}

static int read_row(cd_dataset *d, const cd_csv *r, const columns *c, int n_header, const cd_label_csv_opts *lo, cd_error *e) {
  if (r->n_fields != n_header)
    return cd_fail(e, "%s: row %d (line %d): has %d fields, the header has %d", r->path, r->record, r->line, r->n_fields, n_header);
  int y, a = -1, split;
  if (label(r, c->y, c->y_pm1, lo->y_max, 0, "y", &y, e)) return -1;
  if (c->a >= 0 && label(r, c->a, c->a_pm1, lo->a_max, !lo->need_a, "a", &a, e)) return -1;
  if ((split = cd_ds_split_value(r->fields[c->split])) < 0)
    return cd_fail(e, "%s: row %d (line %d): split '%s' is not 0/1/2 or train/val/test", r->path, r->record, r->line,
                   r->fields[c->split]);
  const char *file = r->fields[c->file];
  if (!file[0]) return cd_fail(e, "%s: row %d (line %d): empty file name", r->path, r->record, r->line);
  char moved[4096];
  if (lo->path_fn) {
    if (lo->path_fn(lo->path_ctx, file, moved, r->record, e)) return -1;
    file = moved;
  }
  return cd_ds_add(d, file, y, a, split, e);
}

int cd_ds_read_label_csv(cd_dataset *d, const char *path, const cd_label_csv_opts *lo, cd_error *e) {
  cd_csv r;
  if (cd_csv_open(&r, path, CD_CSV_COMMA, e)) return -1;
  columns c;
  int rc = cd_csv_next(&r, e);
  if (rc == 0) rc = cd_fail(e, "%s: the file holds no header line", path);
  if (rc > 0) rc = find_columns(&r, lo->need_a, &c, e);
  int n_header = r.n_fields;
  while (rc == 0 && (rc = cd_csv_next(&r, e)) == 1) rc = read_row(d, &r, &c, n_header, lo, e);
  cd_csv_close(&r);
  return rc ? -1 : 0;
}

int cd_ds_is_label_csv(const char *path) {
  cd_csv r;
  cd_error e;
  if (cd_csv_open(&r, path, CD_CSV_COMMA, &e)) return 0;
  columns c;
  int ok = cd_csv_next(&r, &e) == 1 && find_columns(&r, 0, &c, &e) == 0;
  cd_csv_close(&r);
  return ok;
}
