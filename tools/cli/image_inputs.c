#include "tools/cli/image_inputs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli/args.h"

int cd_parse_shard(const char *v, int *index, int *count) {
  int idx, cnt, used = 0;
  if (!v || sscanf(v, "%d/%d%n", &idx, &cnt, &used) != 2 || v[used] || cnt < 1 || idx < 0 || idx >= cnt)
    return cd_cli_fail("--shard expects i/n with 0 <= i < n (e.g. 0/4), got '%s'", v ? v : ""), -1;
  *index = idx;
  *count = cnt;
  return 0;
}

int cd_image_inputs_arg(int argc, char **argv, int *i, cd_image_inputs *in) {
  const char *a = argv[*i];
  if (cd_arg_is(a, "--images")) return cd_arg_values(argc, argv, i, &in->images, &in->n_images) ? -1 : 1;
  if (cd_arg_is(a, "--list")) {
    if (!(in->list_path = cd_arg_value(argc, argv, i))) return -1;
    return cd_read_lines(in->list_path, &in->list_lines, &in->n_list) ? -1 : 1;
  }
  if (cd_arg_is(a, "--skip-bad")) return in->skip_bad = 1;
  if (cd_arg_is(a, "--shard")) return cd_parse_shard(cd_arg_value(argc, argv, i), &in->shard_index, &in->shard_count) ? -1 : 1;
  return 0;
}

int cd_image_inputs_given(const cd_image_inputs *in) { return in->n_images > 0 || in->list_path; }

int cd_image_inputs_resolve(cd_image_inputs *in) {
  if (in->n_images && in->list_path) return cd_cli_fail("give either --images or --list, not both"), -1;
  if (in->list_path && in->n_list == 0) return cd_cli_fail("%s: the list has no paths", in->list_path), -1;
  if (!in->n_images && !in->list_path) return cd_cli_fail("no images given (--images or --list)"), -1;
  cd_image_list *l = &in->list;
  l->paths = in->list_path ? (const char *const *)in->list_lines : in->images;
  l->total = in->list_path ? in->n_list : in->n_images;
  l->name = in->list_path ? in->list_path : "";
  l->shard_index = in->shard_index;
  l->shard_count = in->shard_count;
  cd_error e;
  if (cd_image_list_slice(l, &e)) return cd_cli_fail("%s", e.msg), -1;
  return 0;
}

void cd_image_inputs_free(cd_image_inputs *in) {
  free((void *)in->images);
  if (in->list_lines) cd_free_lines(in->list_lines, in->n_list);
  memset(in, 0, sizeof *in);
}
