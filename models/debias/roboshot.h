/* RoboShot-style rejection (Adila et al., "Zero-Shot Robustification of Zero-Shot Models",
 * ICLR 2024, arXiv 2309.04344), after SprocketLab/roboshot run.py:
 *   v_k = e(p_k) − e(q_k) for spurious concept pairs, u_m likewise for useful ones;
 *   Q_s, Q_u orthonormal bases of the v's and of the u's (np.linalg.qr; Q_u is not
 *   orthogonalised against Q_s);
 *   x ← n(x); for q in Q_s: x ← n(x − (x·q) q); then for q in Q_u: x ← n(x + (x·q) q);
 *   ŷ = argmax_c n(x)·n(t_c), text unchanged.
 * No language model here: the concept pairs are the attribute prompts (given or discovered),
 * and a run has no useful pairs (with two classes the class direction's boost never changes a
 * prediction). Shapes: N images, d width, Ks / Ku basis rows. */
#ifndef CD_ROBOSHOT_H
#define CD_ROBOSHOT_H

#include "core/error.h"

/* Q [n_pairs, d] (r rows used; returns r): orthonormal basis of the differences
 * P[pairs[2i]] − P[pairs[2i+1]] of rows of P [*, d]. Returns -1 on allocation failure. */
int cd_roboshot_basis(const float *P, int d, const int *pairs, int n_pairs, double *Q, cd_error *e);
/* x [N, d] in place, rows normalised first (a zero row stays zero). */
int cd_roboshot_transform(float *x, int N, int d, const double *Qs, int ks, const double *Qu, int ku,
                          cd_error *e);

#endif
