/* What the collect step read from every cell of a sweep (sweep_collect.c), for the CSV, the
 * JSON and the page the commands draw from it (tools/report/sweep_html.h). */
#ifndef CD_SWEEP_RESULTS_H
#define CD_SWEEP_RESULTS_H

#include "models/sweep/sweep.h"

enum { CD_SWEEP_MAX_METHODS = 8 };
enum { CD_SW_AVG, CD_SW_ADJ, CD_SW_WORST, CD_SW_GAP, CD_SW_STATS };

typedef struct {
  char method[32];
  double test[CD_SW_STATS], test_std[CD_SW_STATS]; /* test split, mean and std over seeds */
  double val_worst, val_worst_pseudo;             /* at the selected epochs, mean over seeds */
} cd_sweep_method_row;

typedef enum { CD_CELL_NOT_RUN, CD_CELL_DONE, CD_CELL_FAILED, CD_CELL_UNFINISHED } cd_sweep_cell_state;

typedef struct {
  cd_sweep_cell_state state;
  char error[1024];
  double seconds;
  long long rss_bytes;
  int n_methods;
  cd_sweep_method_row m[CD_SWEEP_MAX_METHODS];
} cd_sweep_cell_result;

typedef struct cd_sweep_results {
  const cd_sweep_plan *plan;
  cd_sweep_cell_result *cells; /* [plan->n_cells] */
  int n_methods;               /* the methods in order of first appearance */
  char methods[CD_SWEEP_MAX_METHODS][32];
} cd_sweep_results;

/* The dims of cell i as a number for plots: K, or the cache's D for "full". */
double cd_sweep_cell_dims(const cd_sweep_plan *p, int i);
/* The text of axis a for cell i ("" when not applicable). */
const char *cd_sweep_cell_value(const cd_sweep_plan *p, int i, int a);
/* The value of run flag --name given once for every cell (not an axis), or NULL. */
const char *cd_sweep_base_flag(const cd_sweep_plan *p, const char *name);
/* Index of method name in r->methods, -1 when absent. */
int cd_sweep_method_index(const cd_sweep_results *r, const char *name);
const cd_sweep_method_row *cd_sweep_row(const cd_sweep_results *r, int cell, int method);
void cd_sweep_results_free(cd_sweep_results *r);

#endif
