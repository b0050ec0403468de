/* The handles of the public API (clipdebias.h) over the engine's internals, shared by the
 * files of models/api. Nothing here is part of the public header. */
#ifndef CD_API_INTERNAL_H
#define CD_API_INTERNAL_H

#include <stddef.h>

#include "clipdebias.h"
#include "core/error.h"
#include "data/datasets/feature_cache.h"
#include "models/clip/clip.h"
#include "models/debias/eval.h"

struct clipdebias_model {
  cd_clip clip;
};

struct clipdebias_cache {
  cd_feature_cache cache;
  char dir[4096];
};

/* One entry of a metrics handle: a method of a run, or one evaluation. */
typedef struct {
  char *name;
  int present[3];            /* per split: 1 when the split has metrics */
  double avg[3], worst[3], gap[3];
  double *acc;               /* [3 * G] */
  int64_t *n;                /* [3 * G] */
} cd_api_entry;

struct clipdebias_metrics {
  int n, G;
  cd_api_entry *entries;
  cd_eval_result eval;       /* from clipdebias_evaluate (what write and print need) */
  int has_eval;
};

/* Copies e's message into err[errcap] (err may be NULL); returns -1. */
int cd_api_report(const cd_error *e, char *err, size_t errcap);

#endif
