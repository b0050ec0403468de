/* Deep Feature Reweighting, validation variant (Kirichenko et al., "Last Layer Re-Training is
 * Sufficient for Robustness to Spurious Correlations", ICLR 2023, arXiv 2204.02937), on frozen
 * image features, after PolinaKirichenko/deep_feature_reweighting dfr_evaluate_spurious.py
 * (dfr_on_validation_tune / dfr_on_validation_eval, balance_val, no train data added):
 *  tuning: shuffle val; the first ⌊n/2⌋ rows are held out (H), the rest (F) is balanced to
 *    m = min_g |F_g| random rows per group, standardised (mean, population std of balanced F;
 *    H with the same scaler); for each C of the grid an L1 logistic regression is fitted on F
 *    and scored by worst-group accuracy on H; the best C wins (ties: the first listed);
 *  final: the scaler refitted on the training features; n_fits times a random group-balanced
 *    subset of all val, standardised, fitted with that C; the weights and intercepts averaged.
 * Each fit minimises ‖w̃‖₁ + C Σ_i log(1 + exp(−y_i w̃ᵀ[x̃_i; 1])), y ∈ {±1}, the intercept
 * (last entry) penalised too (liblinear, intercept_scaling 1). Two classes: one fit (class 1
 * positive, as sklearn); more: one per class against the rest, argmax. Groups with no row are
 * left out of the balancing (the authors' min over groups would be 0). Shapes: n rows, d
 * features, k = 1 (two classes) or n_cls outputs. */
#ifndef CD_DFR_H
#define CD_DFR_H

#include <stdint.h>

#include "core/error.h"

/* The minimiser above by FISTA with gradient restarts, stopped when every coordinate's
 * optimality violation is below tol (or after max_iter iterations). X [n, d] row-major, y in
 * {-1, +1}; w [d + 1] receives the weights then the intercept. Returns iterations used. */
int cd_logreg_l1_fit(const double *X, const int8_t *y, int n, int d, double C, double tol, int max_iter,
                     double *w, cd_error *e);

typedef struct {
  const float *x_val;      /* [n_val, d] */
  const int32_t *y_val;    /* [n_val] */
  const int32_t *g_val;    /* [n_val] group (true or pseudo); < 0: left out */
  int n_val;
  const float *x_train;    /* [n_train, d]: the final scaler */
  int n_train;
  int d, n_cls, G;
} cd_dfr_data;

typedef struct {
  const double *c_grid;
  int n_c;
  int n_fits;
  uint64_t seed;
} cd_dfr_opts;

typedef struct {
  int d, k;
  double c;                /* chosen C */
  int c_index;
  double *held_out_wga;    /* [n_c] worst-group accuracy on H per C */
  int tune_per_group;      /* m of the tuning half */
  int final_per_group;     /* m of the final subsets */
  double *mean, *scale;    /* [d] the training features' scaler */
  double *w;               /* [k, d + 1] averaged weights, intercept last */
} cd_dfr_model;

int cd_dfr_fit(const cd_dfr_data *data, const cd_dfr_opts *o, cd_dfr_model *m, cd_error *e);
void cd_dfr_free(cd_dfr_model *m);
/* pred [N] for rows x [N, d]. */
int cd_dfr_predict(const cd_dfr_model *m, const float *x, int N, int32_t *pred, cd_error *e);

#endif
