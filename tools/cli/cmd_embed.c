/* clipdebias embed : a data set, read where it sits on disk, embedded once into a feature
 * cache (features.npy + index.csv + cache.json) for the debiasing commands. */
#include <stdio.h>
#include <string.h>

#include "models/embed/embed_dataset.h"
#include "tools/cli/args.h"
#include "tools/cli/cli_common.h"
#include "tools/cli/commands.h"
#include "tools/cli/dataset_args.h"
#include "tools/cli/image_inputs.h"

static void print_help(void) {
  printf("usage: clipdebias embed --dataset NAME --root DIR --model M --out CACHE [--splits train,val,test]\n"
         "                        [--shard i/n] [--skip-bad] [--dtype f32|f16] [--batch B] [--checkpoint-every S]\n"
         "                        [--threads N]\n\n"
         "Writes CACHE/features.npy (float32 [N, D], upstream encode_image, not normalised),\n"
         "CACHE/index.csv (id,filename,y,a,split; row i = feature row i) and CACHE/cache.json (the\n"
         "model and its weights checksum, preprocessing, data set and options). Running it again:\n"
         "a complete matching cache returns at once, an interrupted one resumes, a cache made with\n"
         "another model, preprocessing or data set options is refused.\n"
         "  --model M         the CLIP checkpoint (any layout; see clipdebias --help)\n"
         "  --out CACHE       the cache folder (one per shard with --shard)\n"
         "  --splits LIST     which splits to embed (default train,val,test)\n"
         "  --shard i/n       only the i-th of n contiguous slices of the images, so n machines can\n"
         "                    share the work; join the caches with `clipdebias merge --out CACHE ...`\n"
         "  --skip-bad        report unreadable images, list them in cache.json, leave them out\n"
         "  --dtype f16       store the features as float16: half the disk and page cache, read back\n"
         "                    as float32 (default f32)\n"
         "  --batch B         images per forward pass (default 32)\n"
         "  --checkpoint-every S  save progress every S seconds (default 60; 0 = never)\n" CD_DATASET_HELP);
}

typedef struct {
  cd_cli_opts model;
  cd_dataset_opts ds;
  cd_embed_dataset_opts eo;
  const char *out;
} embed_args;

static int parse(int argc, char **argv, embed_args *a) {
  a->eo.embed = (cd_embed_opts){32, 0, 60, NULL, "embed", stderr, 0, CD_F32};
  for (int i = 1; i < argc; i++) {
    int r = cd_cli_common_arg(argc, argv, &i, &a->model);
    if (r == 0) r = cd_dataset_arg(argc, argv, &i, &a->ds);
    if (r < 0) return -1;
    if (r == 1) continue;
    const char *v = NULL;
    cd_error e;
    if (cd_arg_is(argv[i], "--out")) {
      if (!(a->out = cd_arg_value(argc, argv, &i))) return -1;
    } else if (cd_arg_is(argv[i], "--splits")) {
      if (!(v = cd_arg_value(argc, argv, &i))) return -1;
      if (cd_parse_splits(v, a->eo.splits, &e)) return cd_cli_fail("%s", e.msg), -1;
    } else if (cd_arg_is(argv[i], "--shard")) {
      if (cd_parse_shard(cd_arg_value(argc, argv, &i), &a->eo.shard_index, &a->eo.shard_count)) return -1;
    } else if (cd_arg_is(argv[i], "--skip-bad")) {
      a->eo.embed.skip_bad = 1;
    } else if (cd_arg_is(argv[i], "--dtype")) {
      if (!(v = cd_arg_value(argc, argv, &i))) return -1;
      if (!strcmp(v, "f16") || !strcmp(v, "float16")) a->eo.embed.dtype = CD_F16;
      else if (!strcmp(v, "f32") || !strcmp(v, "float32")) a->eo.embed.dtype = CD_F32;
      else return cd_cli_fail("embed: --dtype must be f32 or f16, got '%s'", v), -1;
    } else if (cd_arg_is(argv[i], "--batch")) {
      if (!(v = cd_arg_value(argc, argv, &i)) || cd_arg_int("--batch", v, 1, 4096, &a->eo.embed.batch)) return -1;
    } else if (cd_arg_is(argv[i], "--checkpoint-every")) {
      if (!(v = cd_arg_value(argc, argv, &i)) || cd_arg_float("--checkpoint-every", v, &a->eo.embed.checkpoint_every)) return -1;
    } else {
      return cd_cli_fail("embed: unknown option '%s' (see --help)", argv[i]), -1;
    }
  }
  if (!a->out) return cd_cli_fail("embed: --out CACHE is required"), -1;
  cd_error e;
  if (cd_embed_opts_check(&a->eo.embed, &e)) return cd_cli_fail("%s", e.msg), -1;
  return 0;
}

int cd_cmd_embed(int argc, char **argv) {
  if (cd_args_want_help(argc, argv)) return print_help(), 0;
  embed_args a = {0};
  cd_dataset d;
  cd_clip m;
  cd_error e;
  int rc = 1;
  if (parse(argc, argv, &a)) goto done;
  if (cd_dataset_load(&a.ds, &d, &e)) {
    cd_cli_fail("%s", e.msg);
    goto done;
  }
  cd_dataset_print(stderr, &d);
  a.model.towers = CD_TOWER_VISION; /* the text tower is not used: not loaded */
  if (cd_cli_load_model(&a.model, 0, &m) == 0) {
    cd_embed_dataset_result r;
    if (cd_embed_dataset(&m, &d, a.out, &a.eo, &r, &e)) cd_cli_fail("%s", e.msg);
    else if (r.reused)
      printf("%s: already a complete cache of the same model, data set and options; nothing to do%s\n", a.out,
             r.upgraded ? " (its checksums are now recorded in cache.json)" : ""), rc = 0;
    else {
      printf("%s: wrote %d x %d features of images [%d, %d) of %d%s, %d skipped as unreadable\n", a.out, r.rows, m.embed_dim,
             r.begin, r.end, r.total, r.resumed_from ? " (resumed)" : r.repaired ? " (repaired: embedded again)" : "", r.skipped);
      rc = 0;
    }
    cd_clip_free(&m);
  }
  cd_dataset_free(&d);
done:
  cd_cli_opts_free(&a.model);
  return rc;
}
