#include "tools/cli/discover_args.h"

#include <math.h>

#include "tools/cli/args.h"

int cd_cli_discover_arg(int argc, char **argv, int *i, cd_discover_opts *o) {
  const char *opt = argv[*i];
  static const char *const OPTS[] = {"--words", "--attr-template", "--errors", "--split", "--class-filter", "--top"};
  int which = -1;
  for (int k = 0; k < 6 && which < 0; k++)
    if (cd_arg_is(opt, OPTS[k])) which = k;
  if (which < 0) return 0;
  const char *v = cd_arg_value(argc, argv, i);
  if (!v) return -1;
  int k;
  switch (which) {
  case 0: o->words = v; return 1;
  case 1: o->attr_template = v; return 1;
  case 2:
    if ((k = cd_discover_errors_parse(v)) < 0) return cd_cli_fail("--errors must be zeroshot or erm (got '%s')", v), -1;
    o->errors = (cd_discover_errors)k;
    return 1;
  case 3:
    if (cd_arg_is(v, "train") || cd_arg_is(v, "val")) return o->split = cd_arg_is(v, "val"), 1;
    return cd_cli_fail("--split must be train or val (got '%s')", v), -1;
  case 4:
    if (cd_arg_float(opt, v, &o->class_filter)) return -1;
    if (!(o->class_filter >= -1 && o->class_filter <= 1)) return cd_cli_fail("--class-filter must be a cosine in [-1, 1] (got '%s')", v), -1;
    return 1;
  default: return cd_arg_int(opt, v, 1, 100, &o->top) ? -1 : 1;
  }
}
