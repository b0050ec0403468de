/* The methods a run compares, and how each one weighs its training samples:
 *   zeroshot     no training: class text features from templates
 *   erm          CoOp, uniform weights
 *   dpt          reweighting on pseudo groups (y, pseudo a) with η, EMA m (Debiased Prompt Tuning)
 *   oracle       the same on true groups with η = 0 (inverse group frequency; uses annotations)
 *   gdro         GroupDRO on true groups (uses annotations)
 *   gdro-pseudo  GroupDRO on pseudo groups */
#ifndef CD_METHODS_H
#define CD_METHODS_H

#include "models/debias/reweight.h"

typedef enum {
  CD_METHOD_ZEROSHOT = 0,
  CD_METHOD_ERM,
  CD_METHOD_DPT,
  CD_METHOD_ORACLE,
  CD_METHOD_GDRO,
  CD_METHOD_GDRO_PSEUDO,
  CD_METHOD_COUNT
} cd_method;

/* The debiasing hyper-parameters shared by every method (flags --eta --ema --dpt-update
 * --gdro-eta --gdro-adj). */
typedef struct {
  double eta, ema;
  cd_dpt_update update;
  double gdro_eta, gdro_adj;
} cd_debias_params;

void cd_debias_params_default(cd_debias_params *p); /* η 2, m 0.9, per epoch, η_q 0.01, C 0 */
const char *cd_method_name(cd_method m);
int cd_method_parse(const char *s);                 /* -1 if unknown */
/* "pseudo", "true" or NULL (no groups: zeroshot, erm). */
const char *cd_method_weight_groups(cd_method m);
void cd_method_reweight(cd_method m, const cd_debias_params *p, cd_reweight_params *out);

#endif
