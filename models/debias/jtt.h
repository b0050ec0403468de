/* Just Train Twice (Liu et al., "Just Train Twice: Improving Group Robustness without
 * Training Group Information", ICML 2021, arXiv 2107.09044), after anniesch/jtt
 * (process_training.py, generate_downstream.py, README.md):
 *  1. ERM for T epochs; E = training rows it misclassifies, scored after the T-th epoch (the
 *     repository logs each batch's predictions during epoch T before its update; on frozen
 *     features the end of the epoch is the same model one step later);
 *  2. a fresh model trained with every row of E counted 1 + λ_up times (the repository copies
 *     them λ_up extra times into the training set; here: loss weight 1 + λ_up).
 * Defaults (README, full ResNet-50 runs): Waterbirds T = 60, λ_up = 100; CelebA T = 1,
 * λ_up = 50; other data sets take Waterbirds'. */
#ifndef CD_JTT_H
#define CD_JTT_H

#include <stdint.h>

/* T and λ_up of a data set ("celeba", "waterbirds", ...). */
void cd_jtt_defaults(const char *dataset, int *epochs, double *up);
/* T and λ_up of a run: the flags (epochs 0, up < 0: unset) or the data set's defaults. */
void cd_jtt_resolve(int epochs_flag, double up_flag, const char *dataset, int *epochs, double *up);
/* w [n] = 1 + up where pred != y, else 1; returns |E|. */
int cd_jtt_weights(const int32_t *pred, const int32_t *y, int n, double up, float *w);

#endif
