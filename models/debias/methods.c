/* The method table (see methods.h). */
#include "models/debias/methods.h"

#include <string.h>

typedef struct {
  const char *name;
  cd_method_kind kind;
  cd_method_labels labels;
  int attr_prompts; /* reads the attribute prompts */
  const char *groups; /* weight groups of a tuned method */
  const char *citation;
} method_info;

static const method_info TABLE[CD_METHOD_COUNT] = {
    [CD_METHOD_ZEROSHOT] = {"zeroshot", CD_KIND_TEXT, CD_LABELS_NONE, 0, NULL, "Radford et al., ICML 2021"},
    [CD_METHOD_ERM] = {"erm", CD_KIND_TUNE, CD_LABELS_NONE, 0, NULL, "CoOp: Zhou et al., IJCV 2022"},
    [CD_METHOD_DPT] = {"dpt", CD_KIND_TUNE, CD_LABELS_NONE, 1, "pseudo", "arXiv 2503.08368"},
    [CD_METHOD_ORACLE] = {"oracle", CD_KIND_TUNE, CD_LABELS_TRAIN_GROUPS, 0, "true", "inverse group frequency"},
    [CD_METHOD_GDRO] = {"gdro", CD_KIND_TUNE, CD_LABELS_TRAIN_GROUPS, 0, "true", "Sagawa et al., ICLR 2020"},
    [CD_METHOD_GDRO_PSEUDO] = {"gdro-pseudo", CD_KIND_TUNE, CD_LABELS_NONE, 1, "pseudo",
                               "B2T: Kim et al., CVPR 2024, arXiv 2301.11104"},
    [CD_METHOD_JTT] = {"jtt", CD_KIND_TUNE, CD_LABELS_NONE, 0, NULL, "Liu et al., ICML 2021, arXiv 2107.09044"},
    [CD_METHOD_DFR] = {"dfr", CD_KIND_FIT, CD_LABELS_VAL_GROUPS, 0, NULL,
                       "Kirichenko et al., ICLR 2023, arXiv 2204.02937"},
    [CD_METHOD_DFR_PSEUDO] = {"dfr-pseudo", CD_KIND_FIT, CD_LABELS_NONE, 1, NULL,
                              "Kirichenko et al., ICLR 2023, on pseudo groups"},
    [CD_METHOD_ORTH_PROJ] = {"orth-proj", CD_KIND_TEXT, CD_LABELS_NONE, 1, NULL, "Chuang et al. 2023, arXiv 2302.00070"},
    [CD_METHOD_ORTH_CALI] = {"orth-cali", CD_KIND_TEXT, CD_LABELS_NONE, 1, NULL, "Chuang et al. 2023, arXiv 2302.00070"},
    [CD_METHOD_ROBOSHOT] = {"roboshot", CD_KIND_TEXT, CD_LABELS_NONE, 1, NULL,
                            "Adila et al., ICLR 2024, arXiv 2309.04344"},
};

void cd_debias_params_default(cd_debias_params *p) {
  memset(p, 0, sizeof *p);
  p->eta = 2.0;
  p->ema = 0.9;
  p->update = CD_DPT_EPOCH;
  p->gdro_eta = 0.01; /* group_DRO's default robust_step_size */
  p->gdro_adj = 0.0;
  p->jtt_epochs = 0;
  p->jtt_up = -1;
  /* PolinaKirichenko/deep_feature_reweighting dfr_evaluate_spurious.py: C_OPTIONS, 20 fits */
  static const double C[] = {1, 0.7, 0.3, 0.1, 0.07, 0.03, 0.01};
  p->n_dfr_c = (int)(sizeof C / sizeof C[0]);
  memcpy(p->dfr_c, C, sizeof C);
  p->dfr_fits = 20;
  p->orth_lambda = 1000; /* chingyaoc/debias_vl discriminative/main.py: --lam default */
}

const char *cd_method_name(cd_method m) { return m >= 0 && m < CD_METHOD_COUNT ? TABLE[m].name : "?"; }

int cd_method_parse(const char *s) {
  for (int i = 0; i < CD_METHOD_COUNT; i++)
    if (!strcmp(s, TABLE[i].name)) return i;
  return -1;
}

const char *cd_method_names(void) {
  return "zeroshot, erm, dpt, oracle, gdro, gdro-pseudo, jtt, dfr, dfr-pseudo, orth-proj, orth-cali, roboshot";
}

cd_method_kind cd_method_kind_of(cd_method m) { return TABLE[m].kind; }

const char *cd_method_weight_groups(cd_method m) { return TABLE[m].groups; }

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

cd_method_labels cd_method_labels_used(cd_method m, int val_true_selection) {
  cd_method_labels l = TABLE[m].labels;
  if (l == CD_LABELS_NONE && val_true_selection && TABLE[m].kind == CD_KIND_TUNE) l = CD_LABELS_VAL_GROUPS;
  return l;
}

const char *cd_method_labels_name(cd_method_labels l) {
  static const char *const N[] = {"none", "validation group labels", "training group labels"};
  return N[l];
}

int cd_method_uses_attr_prompts(cd_method m) { return TABLE[m].attr_prompts; }

const char *cd_method_citation(cd_method m) { return TABLE[m].citation; }
