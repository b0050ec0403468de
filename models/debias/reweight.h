/* Per-sample loss weights of a debiasing method during training, kept per group:
 *   none   every sample weighs 1; batch loss Σ CE_i / B (ERM)
 *   dpt    sample i weighs w_{g_i}; batch loss Σ w_i CE_i / Σ w_i. w starts at the target ŵ
 *          computed from the initial model's probabilities over the whole training set, then
 *          follows w ← m·w + (1 − m)·ŵ after every epoch, ŵ from the mean true-class
 *          probabilities p̄_g seen during that epoch's batches (per step from running
 *          estimates with CD_DPT_STEP: p̄_g ← m·p̄_g + (1 − m)·batch mean, then the same EMA
 *          on w). The oracle is dpt on true groups with η = 0.
 *   gdro   GroupDRO: q updated on every batch from the batch's group losses, then sample i
 *          weighs q_{g_i} / (batch samples of g_i); batch loss Σ w_i CE_i = Σ_g q_g loss_g.
 * See group_weights.h for the formulas. Groups are fixed per training sample (pseudo groups
 * for dpt, true groups for the oracle and GroupDRO). */
#ifndef CD_REWEIGHT_H
#define CD_REWEIGHT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef enum { CD_REWEIGHT_NONE = 0, CD_REWEIGHT_DPT = 1, CD_REWEIGHT_GDRO = 2 } cd_reweight_kind;
typedef enum { CD_DPT_EPOCH = 0, CD_DPT_STEP = 1 } cd_dpt_update;

typedef struct {
  cd_reweight_kind kind;
  double eta;          /* dpt: η of exp(η (1 − p̄)); 0 gives inverse group frequency */
  double ema;          /* dpt: m of w ← m w + (1 − m) ŵ */
  cd_dpt_update update;
  double gdro_eta;     /* GroupDRO step size η_q */
  double gdro_adj;     /* GroupDRO generalisation adjustment C (loss_g + C / sqrt(N_g)) */
} cd_reweight_params;

typedef struct {
  cd_reweight_params par;
  int G, N;
  const int32_t *group; /* [N] group of each training sample (not owned; -1: none) */
  int64_t *count;       /* [G] training samples per group */
  double *w;            /* [G] dpt weights or GroupDRO q */
  double *p_bar;        /* [G] last estimate of the mean true-class probability */
  double *p_sum;        /* [G] this epoch's sums (epoch mode) / batch sums (step mode) */
  int64_t *p_n;         /* [G] */
  double *scratch;      /* [2G] */
  int64_t *batch_n;     /* [G] */
  double *saved;        /* [2G] w and p̄ of the last saved epoch (for the state file) */
  int saved_epoch;      /* -1: none */
  const char *state_path; /* cd_reweight_epoch_hook saves the state here (NULL: not saved) */
} cd_reweight;

/* group [N] must outlive r. Fails when a sample has no group under dpt/gdro. */
int cd_reweight_init(cd_reweight *r, const cd_reweight_params *par, const int32_t *group,
                     int N, int G, cd_error *e);
void cd_reweight_free(cd_reweight *r);
/* Initial weights from the initial model's true-class probabilities p_true [N] of all
 * training samples (dpt); GroupDRO starts uniform; none ignores it. */
void cd_reweight_start(cd_reweight *r, const double *p_true);
/* Weights w [B] and the batch loss denominator for training samples idx [B] given their
 * cross-entropies and true-class probabilities under the current model. Updates GroupDRO's q
 * (and dpt's running estimates in step mode). */
void cd_reweight_batch(cd_reweight *r, const int *idx, int B, const double *ce,
                       const double *p_true, float *w, double *denom);
/* End of an epoch: p̄ of the groups seen during the epoch (every kind, for logging), then
 * dpt's EMA step on w (epoch mode). */
void cd_reweight_epoch_end(cd_reweight *r);
/* State file for resuming: the weights and p̄ at the end of the last two saved epochs (two,
 * so that a run interrupted between this file and the prompt checkpoint still finds the
 * epoch the checkpoint names). Written atomically. */
int cd_reweight_save(cd_reweight *r, const char *path, int epoch, cd_error *e);
/* Restores w and p̄ of `epoch` from the state file; fails when it is not there. */
int cd_reweight_load(cd_reweight *r, const char *path, int epoch, cd_error *e);
const char *cd_reweight_kind_name(cd_reweight_kind k);
/* "<base>.weights.json" beside a context checkpoint "<base>.npy"; -1 if it does not fit. */
int cd_reweight_state_path(const char *ctx_path, char *out, size_t cap);
/* cd_reweight_batch and cd_reweight_epoch_end (+ cd_reweight_save to r->state_path) with the
 * signatures of cd_tune_hooks.batch_weights and .epoch_end (user = the cd_reweight). */
void cd_reweight_batch_hook(void *user, const int *idx, int B, const double *ce,
                            const double *p_true, float *w, double *denom);
int cd_reweight_epoch_hook(void *user, int epoch, double mean_loss, cd_error *e);

#endif
