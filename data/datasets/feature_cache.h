/* The feature cache: a data set embedded once by `clipdebias embed`, then trained on and
 * evaluated many times. A cache directory holds
 *
 *   features.npy  float32 [N, D], upstream encode_image output (not normalised); or float16
 *                 (`embed --dtype f16`: half the bytes), read back as float32
 *   index.csv     header exactly "id,filename,y,a,split"; row i describes feature row i;
 *                 id = the record's position in the full data set listing (rows of one
 *                 cache are in increasing id order; gaps are images skipped as unreadable),
 *                 filename relative to the data set root, y class, a spurious attribute
 *                 (empty when unknown), split 0 train / 1 val / 2 test
 *   cache.json    {"version": 1, "complete": true, "model": {...}, "preprocess": {...},
 *                  "dataset": {"name", "classnames", "attr_names", ...}, "splits", "rows",
 *                  "skipped": [...], "features_dtype": "float16" only for a float16 cache}
 *                 -- what made the features, so a cache made with another
 *                 model, preprocessing or data set options is never silently reused.
 *
 * Loading is strict: the three files must agree on the row count, the header must be exact,
 * every label must be in range, and each problem is reported as one message naming the file
 * (and the row). cache.json's "index_checksum" (cache_meta.h: the rows of index.csv) and
 * "features_checksum" (the float32 values of features.npy) are verified, so an edit that
 * keeps the row count (a label flipped, two rows swapped) or a damaged features file is
 * refused; a cache written before they were recorded falls back to dataset.records_checksum
 * when it covers exactly the rows (whole cache, nothing skipped), else loads unverified. A cache whose cache.json says "complete": false (an interrupted run) or
 * that is one shard of a sharded run is refused with what to do about it.
 *
 * features.npy is memory-mapped, not read into memory: float32 features are used in place,
 * and every consumer copies rows into its own working buffer with cd_feature_cache_rows,
 * which converts float16 on the way and releases the pages it read, so a cache costs no
 * resident memory of its own beyond the copy.
 *
 * Group of a row: g = n_attr * y + a (n_attr = 2 for Waterbirds, CelebA, MetaShift). */
#ifndef CD_FEATURE_CACHE_H
#define CD_FEATURE_CACHE_H

#include <stdint.h>

#include "core/dtype.h"
#include "core/error.h"
#include "core/npy.h"

typedef struct {
  int N, D;
  float *features;          /* [N, D] float32, owned; in a loaded cache it points into the map
                             * (float32) or is NULL (float16): read with cd_feature_cache_rows */
  cd_dtype dtype;           /* features.npy's element type: CD_F16, or float32 (CD_F32 or 0) */
  cd_npy_map map;           /* the mapped features.npy of a loaded cache (zeroed otherwise) */
  int32_t *y, *a, *split;   /* [N] owned; a[i] = -1 where unknown */
  char **filenames;         /* [N] owned */
  int n_cls, n_attr;        /* n_attr = 0 when the attribute is unknown for every row */
  char **classnames;        /* [n_cls] */
  char **attr_names;        /* [n_attr] (NULL when n_attr = 0) */
  char dataset[64];         /* "waterbirds" | "celeba" | "metashift" | "csv" | ... */
  char model_path[4096];
  char model_checksum[80];
  int32_t *ids;             /* [N] owned, the index.csv ids; may be NULL when writing
                             * (then row i gets id i) */
  /* Filled by loading: the checksums of the rows and feature values read (verified against
   * cache.json's "index_checksum" / "features_checksum"), for the provenance of what is
   * made from the cache; unverified = 1 when cache.json predates them (nothing to check
   * against: the files were read as they are). */
  char index_checksum[40], features_checksum[40];
  int unverified;
} cd_feature_cache;

/* Rows [first, first + n) as float32 into out [n, D], whatever the stored dtype (float16 is
 * widened exactly). For a loaded cache the pages read are then dropped from the resident set
 * (they stay in the page cache). The one way the debiasing code reads features. */
void cd_feature_cache_rows(const cd_feature_cache *c, int first, int n, float *out);

/* Reads DIR/cache.json, maps DIR/features.npy and reads DIR/index.csv into c (zeroed first). */
int cd_feature_cache_load(const char *dir, cd_feature_cache *c, cd_error *e);
void cd_feature_cache_free(cd_feature_cache *c);
/* Same, but also accepts one shard of a sharded embedding (for joining shards). */
int cd_feature_cache_load_shard(const char *dir, cd_feature_cache *c, cd_error *e);
/* Joins the shard caches dirs[0..n) (any order) into out_dir after checking that they are
 * the complete set of one embedding: same model, preprocessing, data set, options and
 * splits, every shard exactly once, contiguous slices. The result equals an unsharded run. */
int cd_feature_cache_merge(const char *out_dir, const char *const *dirs, int n, cd_error *e);

/* Writes the three files atomically (features.npy as c->dtype: float16 values rounded to
 * nearest even), cache.json last (and any old cache.json is removed
 * first, so a crash in between never leaves an old cache.json vouching for new features).
 * meta_json is the cache.json text; its "rows" must equal c->N and its classnames must be
 * c->classnames. With meta_json NULL a minimal cache.json is built from c's fields. The
 * directory is created if missing. Fails without writing when a label is out of range. */
int cd_feature_cache_write(const char *dir, const cd_feature_cache *c, const char *meta_json, cd_error *e);

/* Checks the labels of c (y in [0, n_cls), a in [-1, n_attr), split in 0..2, filenames
 * non-empty); `what` names the source in the message. */
int cd_feature_cache_check(const cd_feature_cache *c, const char *what, cd_error *e);

/* Writes index.csv rows for c to path atomically (used by write and by the embed pipeline). */
int cd_feature_cache_write_index(const char *path, const cd_feature_cache *c, cd_error *e);

/* Creates dir (and missing parents); 0 when it exists already. */
int cd_make_dirs(const char *dir, cd_error *e);

/* ---- features given as loose .npy files (feature_import.c) ------------------------------- */

/* Imports loose files into an in-memory cache c (zeroed first): features float [N, D] (D =
 * the model's embedding), labels integer [N] in [0, n_cls), attrs (NULL: unknown, a = -1)
 * integer [N] in [0, 1024); every row in split 0 (train); no filenames, class or attribute
 * names. Each problem is one message naming the file. cd_feature_cache_free releases it. */
int cd_feature_cache_import_npy(const char *features, const char *labels, const char *attrs, int D,
                                int n_cls, cd_feature_cache *c, cd_error *e);
/* Per-sample loss weights float [N] from path (caches store none): finite, >= 0, positive
 * sum. *w is owned by the caller. */
int cd_feature_weights_load(const char *path, int N, float **w, cd_error *e);

/* Features for training: a cache folder, or loose .npy files imported as above. */
typedef struct {
  const char *cache;              /* a cache folder (NULL: the loose files below) */
  const char *features, *labels;  /* loose files */
  const char *attrs;              /* optional integer attributes, replacing the cache's */
  const char *weights;            /* optional float per-sample weights */
  int split;                      /* with a cache: the rows used (0 train, 1 val, 2 test; < 0 all) */
} cd_feature_input;

/* The rows in use as one in-memory cache c (loose files: every row; a cache: its rows of
 * in->split, class names kept) and their weights *w (NULL when not given). With a cache, attrs
 * and weights hold one value per cache row (as `pseudolabel` writes them), its features must
 * be D wide and, with n_cls > 0, it must have n_cls classes. */
int cd_feature_input_load(const cd_feature_input *in, int D, int n_cls, cd_feature_cache *c, float **w,
                          cd_error *e);

/* "train", "val", "test" -> 0, 1, 2; -1 otherwise. */
int cd_feature_cache_split_parse(const char *name);
/* Rows in split (0 train, 1 val, 2 test; < 0: every row). */
int cd_feature_cache_split_count(const cd_feature_cache *c, int split);
/* The rows of split, in cache order, copied into caller buffers sized by split_count: features
 * float32 x [n, D] as stored (not normalised), labels y [n], attributes a [n] (-1 unknown; a
 * may be NULL). */
void cd_feature_cache_gather(const cd_feature_cache *c, int split, float *x, int32_t *y, int32_t *a);

#endif
