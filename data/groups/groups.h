/* Group bookkeeping for spurious-correlation benchmarks. A sample's group is
 *   g = n_attr * y + a        (group_DRO, WILDS, SubpopBench, DFR all number groups this way)
 * so with two classes and a binary attribute g0 = (y0,a0), g1 = (y0,a1), g2 = (y1,a0),
 * g3 = (y1,a1). When the attribute is unknown for a whole dataset (n_attr = 0) the groups
 * are the classes (g = y), so worst-group accuracy degrades to worst-class accuracy instead of
 * being undefined. A row whose attribute is unknown (a < 0) while n_attr > 0 has no group
 * (g = -1). */
#ifndef CD_GROUPS_H
#define CD_GROUPS_H

#include <stdint.h>

static inline int cd_group_count_of(int n_cls, int n_attr) {
  return n_attr > 0 ? n_cls * n_attr : n_cls;
}

static inline int cd_group_of(int y, int a, int n_attr) {
  if (n_attr <= 0) return y;
  return a >= 0 && a < n_attr ? n_attr * y + a : -1;
}

/* y and a of group g (a = -1 when n_attr = 0). */
static inline int cd_group_y(int g, int n_attr) { return n_attr > 0 ? g / n_attr : g; }
static inline int cd_group_a(int g, int n_attr) { return n_attr > 0 ? g % n_attr : -1; }

/* group[i] = cd_group_of(y[rows[i]], a[rows[i]]) for i < n (rows NULL: rows 0..n-1).
 * a may be NULL (treated as unknown everywhere). */
void cd_groups_assign(const int32_t *y, const int32_t *a, const int *rows, int n, int n_attr,
                      int32_t *group);
/* counts[g] = number of i < n with group[i] == g (counts has G entries, zeroed here). */
void cd_groups_count(const int32_t *group, int n, int G, int64_t *counts);

#endif
