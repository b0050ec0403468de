/* Image-file inputs shared by `preprocess` and `embed-image`: --images / --list, sharding
 * (--shard i/n takes the i-th of n contiguous slices, so shards concatenate back in list
 * order), batched parallel decoding with --skip-bad, and the JSON sidecar that records which
 * file each output row came from. */
#ifndef CD_IMAGE_INPUTS_H
#define CD_IMAGE_INPUTS_H

#include <stdio.h>

typedef struct {
  const char **images;   /* --images values (argv) */
  int n_images;
  char **list_lines;     /* --list file lines (owned) */
  int n_list;
  const char *list_path;
  int shard_index, shard_count; /* 0/1 = everything */
  int skip_bad;
  /* resolved selection */
  const char **paths;    /* the whole list (argv or list lines) */
  int total;             /* length of the whole list */
  int begin, end;        /* this shard's slice [begin, end) */
  int resume_at;         /* files of the slice already done by an earlier run (skipped) */
} cd_image_inputs;

/* Handles --images / --list / --shard / --skip-bad at argv[*i]: 1 consumed, 0 not ours, -1 error. */
int cd_image_inputs_arg(int argc, char **argv, int *i, cd_image_inputs *in);
/* Resolves the list and this shard's slice; -1 (message printed) if no input was given. */
int cd_image_inputs_resolve(cd_image_inputs *in);
void cd_image_inputs_free(cd_image_inputs *in);
int cd_image_inputs_given(const cd_image_inputs *in);

/* Per-batch callback: pixels [n_ok, 3, S, S] of the batch's files that decoded, in list
 * order; done = files of the slice finished so far (ok[0..done) is final). Returns 0 to
 * continue, non-zero (after printing its error) to stop. */
typedef int (*cd_image_batch_fn)(void *ctx, const float *pixels, int n_ok, int done);

/* Decodes this shard's files from resume_at on in batches of `batch`, calling fn for each
 * batch's good images.
 * ok[k] (end-begin entries, caller-allocated) records which files produced a row. With
 * skip_bad, failures are reported on stderr and skipped; otherwise the first stops the run.
 * Shows a progress line on a terminal. Returns 0, or 1 after printing the error. */
int cd_image_inputs_run(const cd_image_inputs *in, int S, int batch, const char *label,
                        unsigned char *ok, cd_image_batch_fn fn, void *ctx);

/* Writes <out>.json: {"output", "model", "image_size", "list", "total", "shard": [i, n],
 * "begin", "end", "rows", "paths": [...rows' files...], "skipped": [...]} atomically. */
int cd_image_inputs_write_sidecar(const cd_image_inputs *in, const char *out, const char *model,
                                  int S, const unsigned char *ok);

/* Progress checkpoints for long runs: <out>.partial.json records the first `done` files of
 * the slice (their ok flags) next to <out>.partial.npy holding their rows. */
int cd_image_inputs_write_partial(const cd_image_inputs *in, const char *out, const char *model,
                                  const unsigned char *ok, int done, int rows);
/* Reads <out>.partial.json if it exists and belongs to the same model, list and slice:
 * returns the files done (restoring ok[0..done)) and sets *rows; 0 when there is nothing to
 * resume; -1 (message printed) when it exists but is unreadable. */
int cd_image_inputs_read_partial(const cd_image_inputs *in, const char *out, const char *model,
                                 unsigned char *ok, int *rows);
void cd_image_inputs_remove_partial(const char *out);

#endif
