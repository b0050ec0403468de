/* Model selection over training epochs by one of three criteria, all tracked at once so every
 * run logs what each would have chosen:
 *   val-pseudo  highest validation worst-group accuracy over pseudo groups (y, pseudo a):
 *               needs no annotation, the default
 *   val-true    highest validation worst-group accuracy over true groups
 *   last        the last epoch
 * Ties keep the earlier epoch. An undefined value (NaN) never wins; a criterion that never saw
 * a defined value falls back to the last epoch. Only trained epochs (>= 1) are offered: the
 * initial prompt is reported separately (zero-shot). */
#ifndef CD_SELECTION_H
#define CD_SELECTION_H

typedef enum { CD_SELECT_VAL_PSEUDO = 0, CD_SELECT_VAL_TRUE = 1, CD_SELECT_LAST = 2, CD_SELECT_COUNT = 3 } cd_select_kind;

typedef struct {
  double best[CD_SELECT_COUNT];
  int epoch[CD_SELECT_COUNT];  /* -1 until chosen */
  int last;
} cd_selector;

const char *cd_select_name(cd_select_kind k);
int cd_select_parse(const char *s); /* -1 if unknown */
void cd_selector_init(cd_selector *s);
/* Offers an epoch; returns a bit mask (1 << kind) of the criteria it is now the choice of. */
int cd_selector_offer(cd_selector *s, int epoch, double val_worst_pseudo, double val_worst_true);
/* The chosen epoch of a criterion (the last epoch when nothing defined was seen). */
int cd_selector_epoch(const cd_selector *s, cd_select_kind k);

#endif
