/* Split x group counts of a labelled set (a loaded data set, a feature cache) and the table
 * every command prints of them, with class and attribute names:
 *
 *   group                 train   val  test  total
 *   g0 landbird/land       3498   467  2255   6220
 *   ...
 *   total                  4795  1199  5794  11788
 *
 * Groups are rows so any number of classes fits. g = n_attr * y + a; with n_attr = 0 (the
 * attribute unknown everywhere) the rows are the classes. Rows whose attribute is unknown
 * while others know it get rows "y landbird/?" of their own. */
#ifndef CD_GROUP_TABLE_H
#define CD_GROUP_TABLE_H

#include <stdint.h>
#include <stdio.h>

#include "core/error.h"

typedef struct {
  int n_cls, n_attr;
  int n_groups;       /* n_cls * n_attr, or n_cls when n_attr = 0 */
  long *count;        /* [n_groups][3]: rows of group g in split s */
  long *unknown;      /* [n_cls][3]: rows of class y in split s whose a is unknown (n_attr > 0) */
  long split_total[3];
  long total;
  int any_unknown;
} cd_group_counts;

/* Counts n rows; fails (naming the row) when a label is out of range. */
int cd_group_counts_make(cd_group_counts *gc, int n, const int32_t *y, const int32_t *a, const int32_t *split,
                         int n_cls, int n_attr, cd_error *e);
void cd_group_counts_free(cd_group_counts *gc);

/* "g2 waterbird/land" (or "waterbird" when n_attr = 0) into out. */
void cd_group_name(char *out, size_t cap, int g, int n_attr, char *const *classnames, char *const *attr_names);

/* Prints the table; names may be NULL (then indices are shown). */
void cd_group_counts_print(FILE *fp, const cd_group_counts *gc, char *const *classnames, char *const *attr_names);

#endif
