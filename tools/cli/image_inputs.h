/* Image-file options shared by `preprocess` and `embed-image`: --images / --list, --shard i/n
 * and --skip-bad, turned into a cd_image_list (data/image/image_list.h) for the library. */
#ifndef CD_IMAGE_INPUTS_H
#define CD_IMAGE_INPUTS_H

#include "data/image/image_list.h"

typedef struct {
  const char **images;   /* --images values (argv) */
  int n_images;
  char **list_lines;     /* --list file lines (owned) */
  int n_list;
  const char *list_path;
  int shard_index, shard_count; /* 0/1 = everything */
  int skip_bad;
  cd_image_list list;    /* resolved by cd_image_inputs_resolve */
} cd_image_inputs;

/* Handles --images / --list / --shard / --skip-bad at argv[*i]: 1 consumed, 0 not ours, -1 error. */
int cd_image_inputs_arg(int argc, char **argv, int *i, cd_image_inputs *in);
/* Parses "i/n" (0 <= i < n); -1 with the message printed. */
int cd_parse_shard(const char *v, int *index, int *count);
/* Builds in->list and this shard's slice; -1 (message printed) if no input was given. */
int cd_image_inputs_resolve(cd_image_inputs *in);
void cd_image_inputs_free(cd_image_inputs *in);
int cd_image_inputs_given(const cd_image_inputs *in);

#endif
