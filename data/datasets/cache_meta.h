/* What a feature cache's cache.json must agree on before its features can be reused or
 * joined with another's: the model (weights checksum, layout, dimensions, activation), the
 * preprocessing, the data set (name, options, class and attribute names, and a checksum of
 * the records that were embedded) and the splits. Paths are not compared: a data set or a
 * model moved to another folder or machine gives the same features. */
#ifndef CD_CACHE_META_H
#define CD_CACHE_META_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/json.h"
#include "core/json_write.h"

/* 0 when a and b (cache.json roots) agree. Otherwise -1 and `what` receives the first
 * difference, e.g. "another model: /m/a (xxh64:..) vs /m/b (xxh64:..)". */
int cd_cache_meta_differs(const cd_json *a, const cd_json *b, char *what, size_t cap);

/* The shard entry: {"index": i, "count": n, "total": T, "begin": b, "end": e}; a cache
 * without one is the whole (index 0 of 1, begin 0, end = total = rows). */
typedef struct {
  int index, count, total, begin, end;
} cd_cache_shard;
int cd_cache_meta_shard(const cd_json *root, const char *path, cd_cache_shard *s, cd_error *e);

/* Checksum of a record listing ("xxh64:<16 hex>") over "id \t filename \t y \t a \t split \n"
 * lines; the same records in the same order give the same text on every machine. */
void cd_records_checksum(int n, const int32_t *ids, char *const *filenames, const int32_t *y, const int32_t *a,
                         const int32_t *split, char out[40]);

/* Checksum of the stored feature values ("xxh64:<16 hex>", XXH64 of the bytes after the .npy
 * header: float32 or float16 as stored): what cache.json's "features_checksum" records and
 * every load verifies (streamed while the values are checked to be finite). */
void cd_features_checksum(const void *bytes, size_t nbytes, char out[40]);
void cd_features_checksum_text(uint64_t h, char out[40]);

/* cache.json text meta with its top-level "index_checksum" and "features_checksum" set to
 * the given values (replaced when present, else appended). malloc'd; NULL with e on failure. */
/* Starts cache.json's object on w, over fp: {"version": 1, "complete": ..., the members that
 * follow each on a line of their own (cd_jw_br before each), indented by one space. */
void cd_cache_meta_begin(cd_jw *w, FILE *fp, int complete);
char *cd_cache_meta_with_checksums(const char *meta, const char *index_sum, const char *features_sum, cd_error *e);

#endif
