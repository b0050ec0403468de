/* clipdebias discover : the spurious attribute found from the classifier's own mistakes
 * (B2T's CLIP score over a vocabulary), written as attribute prompts for run --attr-from. */
#include <stdio.h>
#include <stdlib.h>

#include "models/discover/discover.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/discover_args.h"
#include "tools/cli/stage_args.h"
#include "tools/report/discover_report.h"

static void print_help(void) {
  printf("usage: clipdebias discover --cache CACHE --model M --out discover.json\n"
         "         [--words FILE] [--attr-template \"a photo of {}.\"] [--errors zeroshot|erm]\n"
         "         [--split train|val] [--classnames a,b] [--template T]... [--class-filter T]\n"
         "         [--top K] [--vocab V] [--threads N]\n\n"
         "Finds the spurious attribute without naming it (B2T, Kim et al., CVPR 2024): for every\n"
         "candidate word w and class c, score_c(w) = 100 x (mean cosine of the image features with\n"
         "the prompt of w over the class's misclassified images - over its correctly classified\n"
         "ones). Words that come up when the classifier fails describe what those images share\n"
         "besides their class. Candidates whose prompt is as close to a class prompt as the class\n"
         "prompts are to each other (or that name a class) are marked as describing the class and\n"
         "propose nothing. For each class its best remaining word becomes one attribute value\n"
         "(value k = the word most similar to class k's training images), at least two.\n"
         "Writes discover.json (ranked candidates with their per-class scores and supports, and\n"
         "attr_prompts in attribute order) and discover.html (top words per class with thumbnails\n"
         "of the images that score highest); prints the table. Use the prompts with\n"
         "run --attr-from discover.json (or run --attr auto to discover and run at once).\n" CD_DISCOVER_HELP);
}

int cd_cmd_discover(int argc, char **argv) {
  if (cd_args_want_help(argc, argv)) return print_help(), 0;
  cd_discover_opts o;
  cd_discover_opts_default(&o);
  o.write_page = cd_discover_write_html;
  char **rest = malloc(sizeof(char *) * (size_t)(argc + 1));
  if (!rest) return cd_cli_fail("out of memory");
  int n_rest = 0;
  rest[n_rest++] = argv[0];
  for (int i = 1; i < argc; i++) {
    int r = cd_cli_discover_arg(argc, argv, &i, &o);
    if (r < 0) return free(rest), 1;
    if (r == 1) continue;
    rest[n_rest++] = argv[i];
    if (i + 1 < argc) rest[n_rest++] = argv[++i]; /* every other option takes a value */
  }
  cd_run_config c;
  const char *unused;
  int rc = cd_stage_parse(n_rest, rest, "discover", CD_STAGE_CLASSNAMES | CD_STAGE_TEMPLATES, &c, &unused);
  cd_error e;
  if (!rc && cd_discover_command(&c, &o, c.out_dir, stdout, &e)) rc = cd_cli_fail("%s", e.msg);
  free(rest);
  return rc ? 1 : 0;
}
