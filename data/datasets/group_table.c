/* Split x group counting and the printed table. */
#include "data/datasets/group_table.h"

#include <stdlib.h>
#include <string.h>

static const char *const SPLITS[3] = {"train", "val", "test"};

void cd_group_counts_free(cd_group_counts *gc) {
  free(gc->count);
  free(gc->unknown);
  memset(gc, 0, sizeof *gc);
}

int cd_group_counts_make(cd_group_counts *gc, int n, const int32_t *y, const int32_t *a, const int32_t *split,
                         int n_cls, int n_attr, cd_error *e) {
  memset(gc, 0, sizeof *gc);
  if (n_cls < 1 || n_attr < 0 || n_cls > 100000 || n_attr > 100000) return cd_fail(e, "group table: %d classes, %d attribute values", n_cls, n_attr);
  gc->n_cls = n_cls;
  gc->n_attr = n_attr;
  gc->n_groups = n_attr ? n_cls * n_attr : n_cls;
  gc->count = cd_calloc((size_t)gc->n_groups * 3, sizeof(long), e);
  gc->unknown = cd_calloc((size_t)n_cls * 3, sizeof(long), e);
  if (!gc->count || !gc->unknown) return cd_group_counts_free(gc), -1;
  for (int i = 0; i < n; i++) {
    int ai = a ? a[i] : -1;
    if (y[i] < 0 || y[i] >= n_cls || split[i] < 0 || split[i] > 2 || ai < -1 || (n_attr && ai >= n_attr) || (!n_attr && ai >= 0)) {
      cd_group_counts_free(gc);
      return cd_fail(e, "group table: row %d has y=%d a=%d split=%d (classes %d, attribute values %d)", i, y[i], ai, split[i],
                     n_cls, n_attr);
    }
    if (n_attr == 0) gc->count[(size_t)y[i] * 3 + (size_t)split[i]]++;
    else if (ai < 0) gc->unknown[(size_t)y[i] * 3 + (size_t)split[i]]++, gc->any_unknown = 1;
    else gc->count[((size_t)n_attr * (size_t)y[i] + (size_t)ai) * 3 + (size_t)split[i]]++;
    gc->split_total[split[i]]++;
    gc->total++;
  }
  return 0;
}

void cd_group_name(char *out, size_t cap, int g, int n_attr, char *const *classnames, char *const *attr_names) {
  int y = n_attr ? g / n_attr : g, a = n_attr ? g % n_attr : -1;
  char cls[128], att[128];
  if (classnames) snprintf(cls, sizeof cls, "%s", classnames[y]);
  else snprintf(cls, sizeof cls, "y%d", y);
  if (a < 0) {
    snprintf(out, cap, "%s", cls);
    return;
  }
  if (attr_names) snprintf(att, sizeof att, "%s", attr_names[a]);
  else snprintf(att, sizeof att, "a%d", a);
  snprintf(out, cap, "g%d %s/%s", g, cls, att);
}

static void unknown_name(char *out, size_t cap, int y, char *const *classnames) {
  if (classnames) snprintf(out, cap, "%s/? (a unknown)", classnames[y]);
  else snprintf(out, cap, "y%d/? (a unknown)", y);
}

static void print_row(FILE *fp, int width, const char *label, const long c[3]) {
  fprintf(fp, "  %-*s %9ld %9ld %9ld %10ld\n", width, label, c[0], c[1], c[2], c[0] + c[1] + c[2]);
}

void cd_group_counts_print(FILE *fp, const cd_group_counts *gc, char *const *classnames, char *const *attr_names) {
  int width = 5;
  char name[300];
  for (int g = 0; g < gc->n_groups; g++) {
    cd_group_name(name, sizeof name, g, gc->n_attr, classnames, attr_names);
    if ((int)strlen(name) > width) width = (int)strlen(name);
  }
  for (int y = 0; gc->any_unknown && y < gc->n_cls; y++) {
    const long *u = gc->unknown + (size_t)y * 3;
    unknown_name(name, sizeof name, y, classnames);
    if ((u[0] || u[1] || u[2]) && (int)strlen(name) > width) width = (int)strlen(name);
  }
  if (width > 60) width = 60;
  fprintf(fp, "  %-*s %9s %9s %9s %10s\n", width, gc->n_attr ? "group" : "class", SPLITS[0], SPLITS[1], SPLITS[2], "total");
  for (int g = 0; g < gc->n_groups; g++) {
    cd_group_name(name, sizeof name, g, gc->n_attr, classnames, attr_names);
    print_row(fp, width, name, gc->count + (size_t)g * 3);
  }
  for (int y = 0; gc->any_unknown && y < gc->n_cls; y++) {
    const long *u = gc->unknown + (size_t)y * 3;
    if (!u[0] && !u[1] && !u[2]) continue;
    unknown_name(name, sizeof name, y, classnames);
    print_row(fp, width, name, u);
  }
  print_row(fp, width, "total", gc->split_total);
}
