/* Model selection by validation worst-group accuracy or last epoch (see selection.h). */
#include "models/debias/selection.h"

#include <math.h>
#include <string.h>

static const char *const NAMES[CD_SELECT_COUNT] = {"val-pseudo", "val-true", "last"};

const char *cd_select_name(cd_select_kind k) { return k >= 0 && k < CD_SELECT_COUNT ? NAMES[k] : "?"; }

int cd_select_parse(const char *s) {
  for (int k = 0; k < CD_SELECT_COUNT; k++)
    if (!strcmp(s, NAMES[k])) return k;
  return -1;
}

void cd_selector_init(cd_selector *s) {
  for (int k = 0; k < CD_SELECT_COUNT; k++) s->best[k] = -INFINITY, s->epoch[k] = -1;
  s->last = -1;
}

int cd_selector_offer(cd_selector *s, int epoch, double val_worst_pseudo, double val_worst_true) {
  double v[CD_SELECT_COUNT] = {val_worst_pseudo, val_worst_true, (double)epoch};
  int mask = 0;
  s->last = epoch;
  for (int k = 0; k < CD_SELECT_COUNT; k++) {
    if (!(v[k] > s->best[k])) continue; /* NaN and ties never win */
    s->best[k] = v[k];
    s->epoch[k] = epoch;
    mask |= 1 << k;
  }
  /* a criterion with nothing defined yet follows the last epoch */
  for (int k = 0; k < CD_SELECT_COUNT; k++)
    if (s->epoch[k] < 0) mask |= 1 << k;
  return mask;
}

int cd_selector_epoch(const cd_selector *s, cd_select_kind k) {
  return s->epoch[k] >= 0 ? s->epoch[k] : s->last;
}
