/* clipdebias dataset : reads a data set in whatever layout it sits on disk and prints where
 * each file was found, the split x group counts, and how they compare with the official
 * release. */
#include <stdio.h>

#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/dataset_args.h"

static void print_help(void) {
  printf("usage: clipdebias dataset --dataset waterbirds|celeba|metashift|csv --root DIR [--csv F]\n"
         "                          [--target ATTR --spurious ATTR] [--classnames A,B] [--attr-names A,B]\n\n"
         "Finds the data set's metadata and images under DIR (every layout of the usual code bases),\n"
         "checks that every listed image exists, and prints the split x group table.\n" CD_DATASET_HELP);
}

int cd_cmd_dataset(int argc, char **argv) {
  if (cd_args_want_help(argc, argv)) return print_help(), 0;
  cd_dataset_opts o = {0};
  for (int i = 1; i < argc; i++) {
    int r = cd_dataset_arg(argc, argv, &i, &o);
    if (r < 0) return 1;
    if (r == 0) return cd_cli_fail("dataset: unknown option '%s' (see --help)", argv[i]);
  }
  cd_dataset d;
  cd_error e;
  if (cd_dataset_load(&o, &d, &e)) return cd_cli_fail("%s", e.msg);
  cd_dataset_print(stdout, &d);
  cd_dataset_free(&d);
  return 0;
}
