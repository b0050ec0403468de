/* Encoding image files with the CLIP image tower: the slice of an image list decoded in
 * batches (data/image/image_list.h), encoded batch by batch into one [rows, D] array, with
 * progress checkpoints every few seconds so that running the same job again after an
 * interruption resumes where it stopped and ends with the same bytes as an uninterrupted run.
 * Shared by `embed-image` (an .npy + sidecar) and `embed` (a feature cache). */
#ifndef CD_EMBED_IMAGES_H
#define CD_EMBED_IMAGES_H

#include <stdio.h>

#include "data/image/image_list.h"
#include "models/clip/clip.h"

typedef struct {
  int batch;               /* images per forward pass (default 32) */
  int skip_bad;            /* unreadable files are reported and left out instead of stopping */
  double checkpoint_every; /* seconds between progress checkpoints; <= 0: none */
  const char *checkpoint;  /* checkpoint files are <checkpoint>.partial.{npy,json}; NULL: none,
                            * and no resume */
  const char *label;       /* progress line label */
  FILE *log;               /* skipped files and resume notes; NULL = quiet */
} cd_embed_opts;

typedef struct {
  float *features;         /* [rows, D] owned, rows in list order */
  int rows, D;
  unsigned char *ok;       /* [end - begin] owned: 1 = the file produced a row */
  char **reasons;          /* [end - begin] owned: why a file was skipped (NULL when ok) */
  int n;                   /* end - begin */
  int resumed_from;        /* files of the slice taken over from a checkpoint */
} cd_embed_result;

/* Encodes l's slice (cd_image_list_slice must have been called). The checkpoint files are
 * left in place on failure (a rerun resumes) and on success (the caller removes them once
 * its own output is written: cd_image_list_remove_partial). */
int cd_embed_image_list(const cd_clip *m, cd_image_list *l, const cd_embed_opts *o, cd_embed_result *r, cd_error *e);
void cd_embed_result_free(cd_embed_result *r);

/* Already preprocessed pixels [N, 3, S, S] -> features [N, D] in batches, with a progress line. */
int cd_embed_pixels(const cd_clip *m, const float *pixels, int N, int batch, const char *label, float *features,
                    cd_error *e);

#endif
