/* A list of image files worked through in batches: the shard slice of the list (shard i of n
 * takes the i-th of n contiguous slices, so shards concatenate back in list order), batched
 * parallel decoding with skipping of unreadable files, a progress line, the JSON sidecar that
 * records which file each output row came from, and the progress checkpoints that let an
 * interrupted run resume.
 *
 * Used by `preprocess`, `embed-image` and `embed`; the per-batch work (writing pixels,
 * encoding them) is the caller's callback. */
#ifndef CD_IMAGE_LIST_H
#define CD_IMAGE_LIST_H

#include <stdio.h>

#include "core/error.h"

typedef struct {
  const char *const *paths; /* the whole list (not owned) */
  int total;                /* length of the whole list */
  const char *name;         /* what the list is ("files.txt", "dataset ..."); "" for loose files */
  int shard_index, shard_count; /* 0/1 = everything */
  int begin, end;           /* this shard's slice [begin, end), set by cd_image_list_slice */
  int resume_at;            /* files of the slice already done by an earlier run */
} cd_image_list;

/* Sets begin/end from the shard; fails on an empty list or a bad shard. */
int cd_image_list_slice(cd_image_list *l, cd_error *e);

/* Per batch: pixels [n_ok, 3, S, S] of the batch's files that decoded, in list order;
 * done = files of the slice finished so far. Returns 0 to go on, -1 (e filled) to stop. */
typedef int (*cd_image_batch_fn)(void *ctx, const float *pixels, int n_ok, int done, cd_error *e);

typedef struct {
  int S;             /* image size */
  int batch;         /* files decoded per batch */
  int skip_bad;      /* 1: report unreadable files and go on; 0: the first one stops the run */
  const char *label; /* progress line label */
  FILE *log;         /* skipped files and the summary; NULL = quiet */
} cd_image_run_opts;

/* Decodes the slice from resume_at on and calls fn per batch. ok[k] (end-begin entries,
 * caller-allocated) records which files produced a row; when reasons is non-NULL,
 * reasons[k] receives a malloc'd message for each file that failed (caller frees). */
int cd_image_list_run(const cd_image_list *l, const cd_image_run_opts *o, unsigned char *ok, char **reasons,
                      cd_image_batch_fn fn, void *ctx, cd_error *e);

/* <out>.json: {"output", "model", "image_size", "list", "total", "shard": [i, n], "begin",
 * "end", "rows", "paths": [...rows' files...], "skipped": [...]}, atomically. */
int cd_image_list_write_sidecar(const cd_image_list *l, const char *out, const char *model, int S,
                                const unsigned char *ok, cd_error *e);

/* Progress checkpoints. The rows of a run in progress are appended to <prefix>.partial.npy
 * (core/npy_rows.h); <prefix>.partial.json vouches for its first `rows` rows: the first `done`
 * files of the slice, with the skipped ones and why. The caller makes the rows durable before
 * writing the .json, so after a crash the .json describes a prefix of the rows file. */
int cd_image_list_write_partial(const cd_image_list *l, const char *prefix, const char *model, const unsigned char *ok,
                                char *const *reasons, int done, int rows, cd_error *e);
/* Reads <prefix>.partial.json when it exists and belongs to the same model, list and slice:
 * returns the files done (restoring ok[0..done) and reasons), sets *rows; 0 when there is
 * nothing to resume (a checkpoint of another run is reported to log and ignored); -1 when
 * it exists but is unreadable or inconsistent. */
int cd_image_list_read_partial(const cd_image_list *l, const char *prefix, const char *model, unsigned char *ok,
                               char **reasons, int *rows, FILE *log, cd_error *e);
/* Removes <prefix>.partial.json (the rows file is the caller's). */
void cd_image_list_drop_partial_json(const char *prefix);
/* "<prefix>.partial.npy" into out. */
void cd_image_list_partial_npy(const char *prefix, char *out, size_t cap);

/* Joins outputs of --shard runs (each SHARD.npy with its SHARD.npy.json sidecar) in shard
 * order into out (+ out.json), after checking that they are the complete set from the same
 * list and model, with no shard twice. */
int cd_image_list_merge(const char *out, const char *const *shards, int n, cd_error *e);

#endif
