/* Group assignment and counting (see groups.h). */
#include "data/groups/groups.h"

#include <string.h>

void cd_groups_assign(const int32_t *y, const int32_t *a, const int *rows, int n, int n_attr,
                      int32_t *group) {
  for (int i = 0; i < n; i++) {
    int r = rows ? rows[i] : i;
    group[i] = cd_group_of(y[r], a ? a[r] : -1, n_attr);
  }
}

void cd_groups_count(const int32_t *group, int n, int G, int64_t *counts) {
  memset(counts, 0, sizeof(int64_t) * (size_t)G);
  for (int i = 0; i < n; i++)
    if (group[i] >= 0 && group[i] < G) counts[group[i]]++;
}
