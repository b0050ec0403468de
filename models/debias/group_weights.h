/* Group weights of the debiasing methods, as pure functions over G groups.
 *
 * DPT (Debiased Prompt Tuning) target, with N_g training samples in group g and p̄_g the mean
 * probability the current model gives to the true class over the group's samples:
 *     ŵ_g ∝ (1 / N_g) · exp(η · (1 − p̄_g))
 * scaled so that the mean per-sample weight over the training set is 1:
 *     Σ_g N_g ŵ_g = Σ_g N_g.
 * Rare groups and groups the model gets wrong weigh more. With η = 0 this is inverse group
 * frequency (the "oracle" reweighting on true groups: every group carries the same total
 * weight). Groups with N_g = 0 get weight 0.
 * Smoothing: w ← m·w + (1 − m)·ŵ. A convex combination of two normalised weightings is
 * normalised, so w keeps a per-sample mean of 1.
 *
 * GroupDRO (Sagawa et al. 2020, group_DRO loss.py): per batch, with loss_g the mean loss of
 * the batch's samples of group g (0 when the batch has none) plus adj / sqrt(N_g),
 *     q_g ← q_g · exp(η_q · loss_g),  q ← q / Σ q,       batch loss Σ_g q_g · loss_g.
 * Groups without training samples start (and stay) at q_g = 0. */
#ifndef CD_GROUP_WEIGHTS_H
#define CD_GROUP_WEIGHTS_H

#include <stdint.h>

/* w_hat[g] from counts [G] and p_bar [G] (p_bar of an empty group is ignored; an unknown
 * p_bar (NaN) counts as 1, i.e. plain inverse frequency for that group). */
void cd_dpt_target(int G, const int64_t *counts, const double *p_bar, double eta, double *w_hat);
/* w = m w + (1 - m) w_hat. */
void cd_weights_ema(int G, double *w, const double *w_hat, double m);
/* q uniform over the groups with counts > 0. */
void cd_gdro_init(int G, const int64_t *counts, double *q);
/* One exponentiated-gradient step on q with the batch's group losses (already adjusted). */
void cd_gdro_update(int G, double *q, const double *group_loss, double eta_q);

#endif
