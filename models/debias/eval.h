/* The stage commands' building blocks: predictions of a head on every row of a feature cache,
 * their group metrics on each split (true groups, adjusted average weighted by the training
 * split's group counts), a JSON file and a plain-text summary of them, and loading a trained
 * head back from the files `tune` and `run` write. */
#ifndef CD_EVAL_H
#define CD_EVAL_H

#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "core/json_write.h"
#include "data/datasets/feature_cache.h"
#include "data/groups/group_metrics.h"
#include "models/clip/clip.h"
#include "models/tuning/tune_head.h"

typedef struct {
  int n_cls, n_attr, G;
  int64_t *train_counts;        /* [G] */
  cd_group_metrics split[3];    /* train, val, test (n_rows 0 when the cache has none) */
} cd_eval_result;

/* x [N, E]: the cache's features, L2-normalised (malloc'd). */
float *cd_cache_normalized(const cd_feature_cache *c, cd_error *e);
/* pred [N] for every row; logits [N, C] too when non-NULL (float). */
int cd_head_predict_rows(cd_head *h, const float *x, int N, int32_t *pred, float *logits, cd_error *e);

int cd_eval_predictions(const cd_feature_cache *c, const int32_t *pred, cd_eval_result *r, cd_error *e);
void cd_eval_free(cd_eval_result *r);
/* {"what": ..., "classnames": [...], "train_group_counts": [...], "val": {...}, "test": {...}}
 * (the split objects of results.json). */
int cd_eval_write_json(const char *path, const char *what, const cd_feature_cache *c,
                       const cd_eval_result *r, cd_error *e);
/* One line per split: rows, avg, adjusted avg, worst group (which), gap; then warnings. */
void cd_eval_print(FILE *fp, const cd_feature_cache *c, const cd_eval_result *r);
/* A split's metrics object of results.json. */
void cd_eval_write_split(cd_jw *w, const cd_group_metrics *m);

/* A head saved by `tune` or `run` (ctx .npy + its .json sidecar: "clipdebias-coop" prompts
 * or "clipdebias-linear" probes), checked against the model and the class count. The prompt
 * (when the head is a prompt head) is owned by the caller: free it after the head. */
int cd_head_load(cd_head *h, cd_prompt *p, const char *ctx_path, const cd_clip *m, int n_cls,
                 cd_error *e);

/* What a saved head was made from, against what it is about to be used with: refuses a head
 * trained with other weights (its sidecar's "model_checksum" vs model_checksum) or for other
 * class names (compared with '_' read as ' '), naming both. A sidecar from before the model
 * checksum was recorded is accepted with one warning line on warn (NULL: silent). */
int cd_head_check_origin(const char *ctx_path, const char *model_path, const char *model_checksum,
                         char *const *classnames, int n_cls, FILE *warn, cd_error *e);

#endif
