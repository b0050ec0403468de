/* Options of discovery, shared by `discover` and `run --attr auto`. */
#ifndef CD_DISCOVER_ARGS_H
#define CD_DISCOVER_ARGS_H

#include "models/discover/discover.h"

#define CD_DISCOVER_HELP                                                                              \
  "  --words FILE           candidates, one word or short phrase a line ('#' comments); default: the\n" \
  "                         shipped vocabulary (models/discover/words.txt, 2834 WordNet nouns)\n"       \
  "  --attr-template T      prompt of a candidate, {} = the word (default \"a photo of {}.\")\n"       \
  "  --errors zeroshot|erm  whose mistakes: zero-shot CLIP (default) or a quick ERM linear probe\n"      \
  "  --split train|val      images whose mistakes are read (default train)\n"                             \
  "  --class-filter T       filter candidates whose prompt has cosine >= T with the span of the class\n" \
  "                         prompts (default 0.97)\n"                                                     \
  "  --top K                candidates per class in the report (default 5)\n"

/* One of the options above at argv[*i]: 1 consumed, 0 not one of them, -1 on error (printed). */
int cd_cli_discover_arg(int argc, char **argv, int *i, cd_discover_opts *o);

#endif
