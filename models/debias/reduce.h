/* Embedding-size reduction for `run --dims K --reduce pca|random|truncate`: a projection
 * P [D,K] fitted on the TRAINING split's image features only (never val or test), applied to
 * image and text features alike before the cosine (models/tuning/projection.h).
 *   pca       the top-K right singular vectors of the uncentred, L2-normalised training image
 *             features X [n,D] = the top-K eigenvectors of the Gram matrix XᵀX (cd_sym_eigen's
 *             sign convention); at K = D it is a rotation, so cosines are unchanged
 *   random    Gaussian entries N(0, 1/K) from a recorded seed (Johnson-Lindenstrauss)
 *   truncate  the first K coordinates (Matryoshka-style embeddings)
 * K = 0 means "full": no projection at all (the plain run). */
#ifndef CD_REDUCE_H
#define CD_REDUCE_H

#include <stdint.h>

#include "core/error.h"

typedef enum { CD_REDUCE_PCA = 0, CD_REDUCE_RANDOM = 1, CD_REDUCE_TRUNCATE = 2 } cd_reduce_kind;

const char *cd_reduce_name(cd_reduce_kind k);
int cd_reduce_parse(const char *s); /* -1 when unknown */

/* Checks K against the feature width D and the training rows (2 <= K <= D; pca: K <= n). */
int cd_reduce_check(cd_reduce_kind kind, int K, int D, int n_train, cd_error *e);

/* P [D,K] from the normalised training features x_train [n,D]. */
int cd_reduce_fit(cd_reduce_kind kind, const float *x_train, int n, int D, int K, uint64_t seed,
                  float *P, cd_error *e);

#endif
