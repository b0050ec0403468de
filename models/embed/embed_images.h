/* Encoding image files with the CLIP image tower: the slice of an image list decoded in
 * batches (data/image/image_list.h) and encoded batch by batch. Rows are not kept in memory:
 * each batch is appended to <partial_prefix>.partial.npy (core/npy_rows.h), which becomes the
 * output by a rename once the caller commits it, so memory stays O(batch) whatever the list
 * length and every feature byte is written once.
 *
 * Progress checkpoints: every checkpoint_every seconds the rows appended so far are made
 * durable (fdatasync) and then <partial_prefix>.partial.json is written atomically to vouch
 * for them. A checkpoint therefore costs the rows produced since the previous one plus a
 * small JSON file. Running the same job again after an interruption (same model, list and
 * slice) cuts the rows file back to what the .json vouches for and resumes there, ending
 * with the same bytes as an uninterrupted run. A run that stops on an error (an unreadable
 * image without skip_bad) checkpoints what it finished first.
 * Shared by `embed-image` (an .npy + sidecar) and `embed` (a feature cache). */
#ifndef CD_EMBED_IMAGES_H
#define CD_EMBED_IMAGES_H

#include <stdio.h>

#include "core/npy_rows.h"
#include "data/image/image_list.h"
#include "models/clip/clip.h"

typedef struct {
  int batch;               /* images per forward pass (default 32) */
  int skip_bad;            /* unreadable files are reported and left out instead of stopping */
  double checkpoint_every; /* seconds between progress checkpoints; <= 0: none, and no resume */
  const char *partial_prefix; /* work files are <partial_prefix>.partial.{npy,json} (required) */
  const char *label;       /* progress line label */
  FILE *log;               /* skipped files and resume notes; NULL = quiet */
  int normalize;           /* L2-normalise every row (part of what a checkpoint must match) */
  cd_dtype dtype;          /* how rows are stored: CD_F16 = float16 (half the bytes); anything
                            * else = float32 */
} cd_embed_opts;

typedef struct {
  cd_npy_rows file;        /* the rows [rows, D], in list order, until committed */
  int rows, D;
  unsigned char *ok;       /* [end - begin] owned: 1 = the file produced a row */
  char **reasons;          /* [end - begin] owned: why a file was skipped (NULL when ok) */
  int n;                   /* end - begin */
  int resumed_from;        /* files of the slice taken over from a checkpoint */
  int checkpoints;         /* checkpoints written by this run */
  int scratch;             /* the rows file was started here and no checkpoint vouches for
                            * it: removed when freed uncommitted */
  char prefix[4096];
} cd_embed_result;

/* Refuses options without a meaning (--checkpoint-every below 0). Called by
 * cd_embed_image_list; commands call it up front, before the model is loaded. */
int cd_embed_opts_check(const cd_embed_opts *o, cd_error *e);

/* Encodes l's slice (cd_image_list_slice must have been called). On success the rows are in
 * r->file; cd_embed_result_commit moves them to their destination. On failure the
 * checkpoint files stay (a rerun resumes) when checkpoints are on. */
int cd_embed_image_list(const cd_clip *m, cd_image_list *l, const cd_embed_opts *o, cd_embed_result *r, cd_error *e);
/* Makes the rows durable and renames the rows file to dest (a float32/16 [rows, D] .npy, the
 * same bytes cd_npy_save would write), then removes the checkpoint .json. */
int cd_embed_result_commit(cd_embed_result *r, const char *dest, cd_error *e);
/* Frees r; an uncommitted rows file is removed unless a checkpoint vouches for it. */
void cd_embed_result_free(cd_embed_result *r);

/* Already preprocessed pixels [N, 3, S, S] -> features [N, D] in batches, with a progress line. */
int cd_embed_pixels(const cd_clip *m, const float *pixels, int N, int batch, const char *label, float *features,
                    cd_error *e);

#endif
