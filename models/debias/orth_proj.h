/* Orth-Proj and Orth-Cali (Chuang et al., "Debiasing Vision-Language Models via Biased
 * Prompts", arXiv 2302.00070): training-free projections of the class text features away
 * from the spurious prompts' directions. After chingyaoc/debias_vl discriminative/main.py
 * (get_proj_matrix, get_M and the closed form in main()):
 *   A [K, d]   normalised spurious prompt features a_k; V [r, d] an orthonormal basis of
 *              their span (r = rank; the repository takes a TruncatedSVD with K components,
 *              any exact basis spans the same space);
 *   P₀ = I − VᵀV;
 *   M = (1/|S|) Σ_{(i,j)∈S} (z_i − z_j)(z_i − z_j)ᵀ over calibration pairs of normalised
 *              candidate prompts z (same class, other spurious value);
 *   G = I + λM;  P = P₀ G⁻¹;  t'_c = n(P t_c).
 * Orth-Proj is λ = 0 (or no pairs): t'_c = n(P₀ t_c). Images are only normalised. Shapes:
 * d = embedding width, K spurious prompts, C classes. Everything in double. */
#ifndef CD_ORTH_PROJ_H
#define CD_ORTH_PROJ_H

#include "core/error.h"

/* Orthonormal basis of the rows of A [K, d] by modified Gram-Schmidt, twice (rows whose
 * remainder is below 1e-6 of their norm are dependent and dropped). V [K, d] receives the
 * r basis rows; returns r. */
int cd_orth_basis(const float *A, int K, int d, double *V);
/* out [d] = x − Vᵀ(V x) (out may alias x). */
void cd_orth_reject(const double *V, int r, int d, const double *x, double *out);

typedef struct {
  int d, r;
  double *V;   /* [K, d], r rows used */
  double *L;   /* [d, d] Cholesky factor of G = I + λM (lower); NULL when λ = 0 or no pairs */
} cd_orth_cali;

/* Z [n_z, d] candidate prompt features, pairs [n_pairs, 2] indices into Z. */
int cd_orth_cali_init(cd_orth_cali *o, const float *A, int K, int d, const float *Z, const int *pairs,
                      int n_pairs, double lambda, cd_error *e);
void cd_orth_cali_free(cd_orth_cali *o);
/* out [d] = P x = P₀ G⁻¹ x, unnormalised (out may alias x). */
void cd_orth_cali_apply(const cd_orth_cali *o, const double *x, double *out);
/* out [C, d] = n(P t_c) for class features T [C, d]. */
int cd_orth_cali_classes(const cd_orth_cali *o, const float *T, int C, float *out, cd_error *e);

#endif
