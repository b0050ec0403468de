/* Cached image features with their labels, optional per-sample weights and optional
 * attribute labels, loaded from .npy files and checked against each other, the model's
 * embedding width and the class count. Every problem fails with one message naming the file. */
#ifndef CD_FEATURE_SET_H
#define CD_FEATURE_SET_H

#include <stdint.h>

#include "core/error.h"

typedef struct {
  int N, E;
  float *x;          /* [N, E] features as stored (not normalised; owned) */
  int32_t *labels;   /* [N] in [0, n_cls) (owned) */
  float *weights;    /* [N] finite, >= 0, positive sum; NULL when not given (owned) */
  int32_t *attrs;    /* [N] in [0, n_attr) or NULL (owned) */
  int n_attr;        /* max attribute + 1 (0 without attrs) */
} cd_feature_set;

/* features: float [N, embed]; labels: integer [N] in [0, n_cls); weights, attrs: optional
 * (NULL paths). */
int cd_feature_set_load(const char *features, const char *labels, const char *weights,
                        const char *attrs, int embed, int n_cls, cd_feature_set *d, cd_error *e);
void cd_feature_set_free(cd_feature_set *d);

#endif
