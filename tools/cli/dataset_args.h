/* Data set options shared by `dataset` and `embed`: --dataset, --root, --csv, --target,
 * --spurious, --classnames, --attr-names, --split-csv, --seed. */
#ifndef CD_DATASET_ARGS_H
#define CD_DATASET_ARGS_H

#include "data/datasets/dataset.h"

/* Handles one of the options at argv[*i]: 1 consumed, 0 not ours, -1 error (printed). */
int cd_dataset_arg(int argc, char **argv, int *i, cd_dataset_opts *o);

/* The option lines of --help. */
#define CD_DATASET_HELP                                                                                   \
  "  --dataset NAME    waterbirds, celeba, metashift or csv\n"                                          \
  "  --root DIR        the folder holding the data set (any of the usual layouts; see README)\n"       \
  "  --csv FILE        the metadata file to use instead of searching (required for csv:\n"             \
  "                    columns filename,y,split and optionally a)\n"                                   \
  "  --target ATTR     celeba: the class attribute (default Blond_Hair; any of the 40)\n"              \
  "  --spurious ATTR   celeba: the spurious attribute (default Male)\n"                                \
  "  --classnames A,B  class names (csv; renames the benchmark classes for prompts)\n"                 \
  "  --attr-names A,B  attribute value names (csv; renames the benchmark ones)\n"                      \
  "  --split-csv FILE  metashift without metadata_metashift.csv: where the tool's own split is\n"     \
  "                    saved and reused (default: inside the MetaShift folder)\n"                      \
  "  --seed S          metashift own split: shuffle seed (default 42)\n"                            \
  "  --strict          duplicated rows, a file with two labels or in two splits, no validation\n"  \
  "                    split: errors instead of warnings\n"

#endif
