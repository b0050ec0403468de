/* A data set's records as the loaders build them: growing the record arrays, class and
 * attribute names, notes and warnings for the printed summary, the options recorded in a
 * cache, and split names. Shared by every loader (dataset_internal.h). */
#include "data/datasets/dataset.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/json_write.h"
#include "data/datasets/dataset_internal.h"

static const char *const SPLIT_NAMES[3] = {"train", "val", "test"};

const char *cd_split_name(int split) { return split >= 0 && split < 3 ? SPLIT_NAMES[split] : "?"; }

int cd_parse_splits(const char *s, int want[3], cd_error *e) {
  want[0] = want[1] = want[2] = 0;
  const char *p = s;
  while (*p) {
    size_t k = strcspn(p, ",");
    if (k == 0 || (p[k] == ',' && p[k + 1] == 0))
      return cd_fail(e, "--splits \"%s\": an empty item (give a comma-separated list such as train,val,test)", s);
    int found = -1;
    for (int i = 0; i < 3; i++)
      if (strlen(SPLIT_NAMES[i]) == k && !strncmp(p, SPLIT_NAMES[i], k)) found = i;
    if (found < 0) return cd_fail(e, "--splits: '%.*s' is not train, val or test", (int)k, p);
    want[found] = 1;
    p += k;
    if (*p == ',') p++;
  }
  if (!want[0] && !want[1] && !want[2]) return cd_fail(e, "--splits: no split given (e.g. train,val,test)");
  return 0;
}

/* ---- records and text ------------------------------------------------------------------ */

void cd_ds_free_strings(char **s, int n) {
  for (int i = 0; s && i < n; i++) free(s[i]);
  free(s);
}

void cd_dataset_free(cd_dataset *d) {
  cd_ds_free_strings(d->filenames, d->n);
  free(d->y);
  free(d->a);
  free(d->split);
  cd_ds_free_strings(d->classnames, d->n_cls);
  cd_ds_free_strings(d->attr_names, d->n_attr);
  free(d->options_json);
  free(d->notes);
  free(d->warnings);
  memset(d, 0, sizeof *d);
}

static int grow(cd_dataset *d, cd_error *e) {
  int cap = d->cap ? d->cap * 2 : 1024;
  char **f = realloc(d->filenames, sizeof(char *) * (size_t)cap);
  if (f) d->filenames = f;
  int32_t *y = realloc(d->y, sizeof(int32_t) * (size_t)cap);
  if (y) d->y = y;
  int32_t *a = realloc(d->a, sizeof(int32_t) * (size_t)cap);
  if (a) d->a = a;
  int32_t *s = realloc(d->split, sizeof(int32_t) * (size_t)cap);
  if (s) d->split = s;
  if (!f || !y || !a || !s) return cd_fail(e, "out of memory for %d records", cap);
  d->cap = cap;
  return 0;
}

int cd_ds_add(cd_dataset *d, const char *filename, int y, int a, int split, cd_error *e) {
  if (d->n == d->cap && grow(d, e)) return -1;
  if (!(d->filenames[d->n] = strdup(filename))) return cd_fail(e, "out of memory");
  d->y[d->n] = y;
  d->a[d->n] = a;
  d->split[d->n] = split;
  d->n++;
  return 0;
}

static char **dup_list(const char *const *s, int *n) {
  int k = 0;
  while (s && s[k]) k++;
  char **out = calloc((size_t)k + 1, sizeof(char *));
  for (int i = 0; out && i < k; i++) out[i] = strdup(s[i]);
  *n = out ? k : 0;
  return out;
}

int cd_ds_set_names(cd_dataset *d, const char *const *classnames, const char *const *attr_names, cd_error *e) {
  d->classnames = dup_list(classnames, &d->n_cls);
  d->attr_names = attr_names ? dup_list(attr_names, &d->n_attr) : NULL;
  if (!d->classnames || (attr_names && !d->attr_names)) return cd_fail(e, "out of memory");
  return 0;
}

int cd_ds_split_names(const char *list, const char *opt, char ***out, int *n, cd_error *e) {
  *out = NULL;
  *n = 0;
  int k = 1;
  for (const char *p = list; *p; p++) k += *p == ',';
  char **names = calloc((size_t)k + 1, sizeof(char *));
  if (!names) return cd_fail(e, "out of memory");
  const char *p = list;
  for (int i = 0; i < k; i++) {
    size_t len = strcspn(p, ",");
    while (len && *p == ' ') p++, len--;
    while (len && p[len - 1] == ' ') len--;
    if (!len) {
      cd_ds_free_strings(names, i);
      return cd_fail(e, "%s: name %d of '%s' is empty", opt, i + 1, list);
    }
    names[i] = strndup(p, len);
    p += strcspn(p, ",");
    if (*p == ',') p++;
  }
  *out = names;
  *n = k;
  return 0;
}

static void append(char **buf, const char *prefix, const char *fmt, va_list ap) {
  char line[2048];
  vsnprintf(line, sizeof line, fmt, ap);
  size_t old = *buf ? strlen(*buf) : 0, add = strlen(prefix) + strlen(line) + 1;
  char *grown = realloc(*buf, old + add + 1);
  if (!grown) return; /* a lost note is not worth failing a load for */
  snprintf(grown + old, add + 1, "%s%s\n", prefix, line);
  *buf = grown;
}

void cd_ds_note(cd_dataset *d, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  append(&d->notes, "  ", fmt, ap);
  va_end(ap);
}

void cd_ds_warn(cd_dataset *d, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  append(&d->warnings, "warning: ", fmt, ap);
  va_end(ap);
}

int cd_ds_set_options(cd_dataset *d, const char *json, cd_error *e) {
  free(d->options_json);
  if (!(d->options_json = strdup(json))) return cd_fail(e, "out of memory");
  return 0;
}

int cd_ds_set_options_kv(cd_dataset *d, const char *const *kv, cd_error *e) {
  char *text = NULL;
  size_t len = 0;
  FILE *fp = open_memstream(&text, &len);
  if (!fp) return cd_fail(e, "out of memory");
  cd_jw w;
  cd_jw_init(&w, fp);
  cd_jw_obj(&w);
  for (int i = 0; kv[i] && kv[i + 1]; i += 2) cd_jw_kstr(&w, kv[i], kv[i + 1]);
  cd_jw_end(&w);
  fclose(fp);
  free(d->options_json);
  d->options_json = text;
  return text ? 0 : cd_fail(e, "out of memory");
}
