/* Looking up a sweep's collected results (see sweep_results.h): used by the collect step
 * and by sweep.html alike. */
#include <stdlib.h>
#include <string.h>

#include "models/sweep/sweep_results.h"

int cd_sweep_method_index(const cd_sweep_results *r, const char *name) {
  for (int k = 0; k < r->n_methods; k++)
    if (!strcmp(r->methods[k], name)) return k;
  return -1;
}

const cd_sweep_method_row *cd_sweep_row(const cd_sweep_results *r, int cell, int method) {
  const cd_sweep_cell_result *c = &r->cells[cell];
  for (int k = 0; c->state == CD_CELL_DONE && k < c->n_methods; k++)
    if (!strcmp(c->m[k].method, r->methods[method])) return &c->m[k];
  return NULL;
}

void cd_sweep_results_free(cd_sweep_results *r) {
  free(r->cells);
  r->cells = NULL;
}
