#include "tools/cli/dataset_args.h"

#include <stddef.h>
#include <stdlib.h>

#include "tools/cli/args.h"

int cd_dataset_arg(int argc, char **argv, int *i, cd_dataset_opts *o) {
  static const struct {
    const char *flag;
    size_t offset;
  } strings[] = {{"--dataset", offsetof(cd_dataset_opts, name)},        {"--root", offsetof(cd_dataset_opts, root)},
                 {"--csv", offsetof(cd_dataset_opts, csv)},             {"--target", offsetof(cd_dataset_opts, target)},
                 {"--spurious", offsetof(cd_dataset_opts, spurious)},   {"--classnames", offsetof(cd_dataset_opts, classnames)},
                 {"--attr-names", offsetof(cd_dataset_opts, attr_names)}, {"--split-csv", offsetof(cd_dataset_opts, split_csv)}};
  for (size_t k = 0; k < sizeof strings / sizeof *strings; k++)
    if (cd_arg_is(argv[*i], strings[k].flag)) {
      const char *v = cd_arg_value(argc, argv, i);
      if (!v) return -1;
      *(const char **)((char *)o + strings[k].offset) = v;
      return 1;
    }
  if (cd_arg_is(argv[*i], "--strict")) return o->strict = 1, 1;
  if (cd_arg_is(argv[*i], "--seed")) {
    const char *v = cd_arg_value(argc, argv, i);
    char *end;
    if (!v) return -1;
    unsigned long long s = strtoull(v, &end, 10);
    if (*end || !*v || s == 0) return cd_cli_fail("--seed expects a positive integer, got '%s'", v), -1;
    o->seed = s;
    return 1;
  }
  return 0;
}
