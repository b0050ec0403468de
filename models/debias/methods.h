/* The methods a run compares: one table (methods.c) says how each is computed, which labels
 * and which attribute prompts it uses, and how it weighs its training samples.
 *   zeroshot     no training: class text features from templates
 *   erm          CoOp, uniform weights
 *   dpt          reweighting on pseudo groups (y, pseudo a) with η, EMA m (Debiased Prompt Tuning)
 *   oracle       the same on true groups with η = 0 (inverse group frequency; uses annotations)
 *   gdro         GroupDRO on true groups (uses annotations)
 *   gdro-pseudo  GroupDRO on pseudo groups (the attribute prompts' groups: B2T-DRO's recipe)
 *   jtt          Just Train Twice (Liu et al., ICML 2021): ERM for T epochs, its training
 *                errors weighted 1 + λ_up, retrained (jtt.h)
 *   dfr          Deep Feature Reweighting (Kirichenko et al., ICLR 2023): L1 logistic
 *                regression on group-balanced validation features (dfr.h)
 *   dfr-pseudo   the same on pseudo groups of the validation set
 *   orth-proj    class text features projected away from the attribute prompts (Chuang et
 *                al. 2023, arXiv 2302.00070; orth_proj.h)
 *   orth-cali    the same with calibration pairs and λ
 *   roboshot     image features with the attribute directions rejected (Adila et al., ICLR
 *                2024, arXiv 2309.04344; roboshot.h) */
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
  CD_METHOD_JTT,
  CD_METHOD_DFR,
  CD_METHOD_DFR_PSEUDO,
  CD_METHOD_ORTH_PROJ,
  CD_METHOD_ORTH_CALI,
  CD_METHOD_ROBOSHOT,
  CD_METHOD_COUNT
} cd_method;

/* How a method is computed in a run. */
typedef enum {
  CD_KIND_TEXT = 0, /* training-free, seed-independent: a classifier from text (and a fixed
                     * transform of the image features) */
  CD_KIND_TUNE,     /* the prompt learner (or linear probe) trained per seed */
  CD_KIND_FIT       /* a closed-form head fitted per seed (DFR) */
} cd_method_kind;

/* The group labels a method reads. */
typedef enum {
  CD_LABELS_NONE = 0,
  CD_LABELS_VAL_GROUPS,   /* validation group labels */
  CD_LABELS_TRAIN_GROUPS  /* training group labels */
} cd_method_labels;

enum { CD_DFR_MAX_C = 16 };

/* The debiasing hyper-parameters shared by every method (flags --eta --ema --dpt-update
 * --gdro-eta --gdro-adj, and the baselines' --jtt-epochs --jtt-up --dfr-c --dfr-fits
 * --orth-lambda). */
typedef struct {
  double eta, ema;
  cd_dpt_update update;
  double gdro_eta, gdro_adj;
  int jtt_epochs;          /* 0: the data set's default (cd_jtt_defaults) */
  double jtt_up;           /* < 0: the data set's default */
  double dfr_c[CD_DFR_MAX_C];
  int n_dfr_c;
  int dfr_fits;
  double orth_lambda;
} cd_debias_params;

/* η 2, m 0.9, per epoch, η_q 0.01, C 0; JTT from the data set; DFR's C grid (1, 0.7, 0.3,
 * 0.1, 0.07, 0.03, 0.01) and 20 fits; Orth-Cali λ 1000. */
void cd_debias_params_default(cd_debias_params *p);
const char *cd_method_name(cd_method m);
int cd_method_parse(const char *s);                 /* -1 if unknown */
/* "zeroshot, erm, ..." every name, for messages. */
const char *cd_method_names(void);
cd_method_kind cd_method_kind_of(cd_method m);
/* "pseudo", "true" or NULL (no groups: zeroshot, erm, jtt, the text methods). */
const char *cd_method_weight_groups(cd_method m);
void cd_method_reweight(cd_method m, const cd_debias_params *p, cd_reweight_params *out);
/* The group labels the method reads; a trained method selected by validation worst-group
 * accuracy over true groups (val_true_selection) reads the validation group labels too. */
cd_method_labels cd_method_labels_used(cd_method m, int val_true_selection);
/* "none", "validation group labels", "training group labels" */
const char *cd_method_labels_name(cd_method_labels l);
/* 1 when the method reads the attribute prompts (their names: given or discovered). */
int cd_method_uses_attr_prompts(cd_method m);
/* The paper a baseline comes from ("" for zeroshot, erm). */
const char *cd_method_citation(cd_method m);

#endif
