/* Method names and their sample weighting (see methods.h). */
#include "models/debias/methods.h"

#include <string.h>

static const char *const NAMES[CD_METHOD_COUNT] = {"zeroshot", "erm", "dpt", "oracle", "gdro",
                                                   "gdro-pseudo"};

void cd_debias_params_default(cd_debias_params *p) {
  p->eta = 2.0;
  p->ema = 0.9;
  p->update = CD_DPT_EPOCH;
  p->gdro_eta = 0.01; /* group_DRO's default robust_step_size */
  p->gdro_adj = 0.0;
}

const char *cd_method_name(cd_method m) { return m >= 0 && m < CD_METHOD_COUNT ? NAMES[m] : "?"; }

int cd_method_parse(const char *s) {
  for (int i = 0; i < CD_METHOD_COUNT; i++)
    if (!strcmp(s, NAMES[i])) return i;
  return -1;
}

const char *cd_method_weight_groups(cd_method m) {
  switch (m) {
    case CD_METHOD_DPT:
    case CD_METHOD_GDRO_PSEUDO: return "pseudo";
    case CD_METHOD_ORACLE:
    case CD_METHOD_GDRO: return "true";
    default: return NULL;
  }
}

void cd_method_reweight(cd_method m, const cd_debias_params *p, cd_reweight_params *out) {
  memset(out, 0, sizeof *out);
  out->eta = p->eta;
  out->ema = p->ema;
  out->update = p->update;
  out->gdro_eta = p->gdro_eta;
  out->gdro_adj = p->gdro_adj;
  if (m == CD_METHOD_DPT || m == CD_METHOD_ORACLE) out->kind = CD_REWEIGHT_DPT;
  else if (m == CD_METHOD_GDRO || m == CD_METHOD_GDRO_PSEUDO) out->kind = CD_REWEIGHT_GDRO;
  else out->kind = CD_REWEIGHT_NONE;
  if (m == CD_METHOD_ORACLE) out->eta = 0; /* inverse group frequency */
}
