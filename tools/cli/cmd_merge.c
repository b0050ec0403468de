/* clipdebias merge : joins the outputs of --shard i/n runs made on several machines: the
 * .npy outputs of `embed-image` / `preprocess`, or the cache folders of `embed`. The library
 * checks that the shards belong together and are the complete set. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/datasets/feature_cache.h"
#include "data/image/image_list.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"

static void print_help(void) {
  printf("usage: clipdebias merge --out OUT SHARD...\n\n"
         "Joins the outputs of runs with --shard i/n, in shard order, after checking that they are\n"
         "the complete set of one job (same list or data set, same model and options, every shard\n"
         "exactly once).\n"
         "  SHARD.npy   outputs of embed-image / preprocess (each with its SHARD.npy.json); writes\n"
         "              OUT (.npy) and OUT.json listing every row's file\n"
         "  SHARD_DIR   feature caches of `embed --shard i/n`; writes the cache folder OUT, the\n"
         "              same as one unsharded embed run\n"
         "Examples:\n"
         "  clipdebias merge --out all.npy part0.npy part1.npy part2.npy part3.npy\n"
         "  clipdebias merge --out wb_cache wb_cache.0 wb_cache.1 wb_cache.2\n");
}

static int is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int cd_cmd_merge(int argc, char **argv) {
  if (cd_args_want_help(argc, argv)) return print_help(), 0;
  const char *out = NULL;
  const char **shards = calloc((size_t)argc, sizeof(char *));
  int n = 0, rc = 1;
  if (!shards) return cd_cli_fail("out of memory");
  for (int i = 1; i < argc; i++) {
    if (cd_arg_is(argv[i], "--out")) {
      if (!(out = cd_arg_value(argc, argv, &i))) goto done;
    } else if (!strncmp(argv[i], "--", 2)) {
      cd_cli_fail("merge: unknown option '%s' (see --help)", argv[i]);
      goto done;
    } else shards[n++] = argv[i];
  }
  if (!out || n == 0) {
    cd_cli_fail("merge: --out and at least one shard are required");
    goto done;
  }
  int dirs = 0;
  char ro[PATH_MAX], rs[PATH_MAX];
  for (int k = 0; k < n; k++) {
    dirs += is_dir(shards[k]);
    if (realpath(out, ro) && realpath(shards[k], rs) && !strcmp(ro, rs)) {
      cd_cli_fail("merge: --out %s is one of the shards being joined; give the joined output a new name", out);
      goto done;
    }
  }
  if (dirs && dirs != n) {
    cd_cli_fail("merge: give either cache folders (from embed) or .npy files (from embed-image), not both");
    goto done;
  }
  cd_error e;
  int failed = dirs ? cd_feature_cache_merge(out, shards, n, &e) : cd_image_list_merge(out, shards, n, &e);
  rc = failed ? cd_cli_fail("%s", e.msg) : 0;
  if (!failed && dirs) printf("merged %d shard caches into %s\n", n, out);
done:
  free(shards);
  return rc;
}
