/* A loaded data set embedded once into a feature cache (data/datasets/feature_cache.h):
 * the chosen splits' images encoded with the CLIP image tower, in data set order, optionally
 * one contiguous shard of them (join shards with cd_feature_cache_merge).
 *
 * The cache's cache.json records what made it (model weights checksum, preprocessing, data
 * set, options, the checksum of the embedded records, splits, shard). Embedding into a folder
 * that already holds a cache:
 *   - made differently: refused, naming the difference;
 *   - the same and complete: nothing to do (returns at once);
 *   - the same but interrupted ("complete": false): resumed from its progress checkpoint. */
#ifndef CD_EMBED_DATASET_H
#define CD_EMBED_DATASET_H

#include "data/datasets/dataset.h"
#include "data/datasets/feature_cache.h"
#include "models/clip/clip.h"
#include "models/embed/embed_images.h"

typedef struct {
  int splits[3];            /* which splits to embed (all zero = all three) */
  int shard_index, shard_count;
  cd_embed_opts embed;      /* batch, skip_bad, checkpoint_every, label, log (checkpoint is set here) */
} cd_embed_dataset_opts;

typedef struct {
  int reused;               /* 1: a matching complete cache was already there */
  int rows, skipped;        /* rows written, images skipped as unreadable */
  int total, begin, end;    /* selected images, and this shard's slice of them */
  int resumed_from;         /* images taken over from an interrupted run */
  int repaired;             /* 1: a matching cache was there but damaged, or its images were
                             * replaced since; it was embedded again (why in repair_reason) */
  int upgraded;             /* 1: a matching cache without checksums got them (nothing re-embedded) */
  char repair_reason[1200];
} cd_embed_dataset_result;

int cd_embed_dataset(const cd_clip *m, const cd_dataset *d, const char *out_dir, const cd_embed_dataset_opts *o,
                     cd_embed_dataset_result *r, cd_error *e);

/* "xxh64-16M:<16 hex>" of the model's weights file (cd_xxh64_chunked over all its bytes:
 * every tensor of both towers and the safetensors header). */
void cd_model_checksum(const cd_clip *m, char out[80]);

/* Refuses a cache embedded with other weights (checksum sum of m, from cd_model_checksum) or
 * to another width, naming the cache folder and the model as given (--model). */
int cd_cache_model_check(const cd_feature_cache *c, const char *cache_dir, const cd_clip *m, const char *sum,
                         cd_error *e);

#endif
