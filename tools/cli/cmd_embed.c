/* clipdebias embed : a data set, read where it sits on disk, embedded once into a feature
 * cache (features.npy + index.csv + cache.json) for the debiasing commands. */
#include <stdio.h>
#include <string.h>

#include "clipdebias.h"
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
  clipdebias_embed_options eo;
  const char *out;
} embed_args;

static int parse(int argc, char **argv, embed_args *a) {
  char err[1024];
  a->eo = (clipdebias_embed_options){.batch = 32, .checkpoint_every = 60, .progress = 1};
  for (int i = 1; i < argc; i++) {
    int r = cd_cli_common_arg(argc, argv, &i, &a->model);
    if (r == 0) r = cd_dataset_arg(argc, argv, &i, &a->ds);
    if (r < 0) return -1;
    if (r == 1) continue;
    const char *v = NULL;
    if (cd_arg_is(argv[i], "--out")) {
      if (!(a->out = cd_arg_value(argc, argv, &i))) return -1;
    } else if (cd_arg_is(argv[i], "--splits")) {
      if (!(v = cd_arg_value(argc, argv, &i))) return -1;
      a->eo.splits = v;
      if (clipdebias_embed_options_check(&a->eo, err, sizeof err)) return cd_cli_fail("%s", err), -1;
    } else if (cd_arg_is(argv[i], "--shard")) {
      if (cd_parse_shard(cd_arg_value(argc, argv, &i), &a->eo.shard_index, &a->eo.shard_count)) return -1;
    } else if (cd_arg_is(argv[i], "--skip-bad")) {
      a->eo.skip_bad = 1;
    } else if (cd_arg_is(argv[i], "--dtype")) {
      if (!(v = cd_arg_value(argc, argv, &i))) return -1;
      if (!strcmp(v, "f16") || !strcmp(v, "float16")) a->eo.float16 = 1;
      else if (!strcmp(v, "f32") || !strcmp(v, "float32")) a->eo.float16 = 0;
      else return cd_cli_fail("embed: --dtype must be f32 or f16, got '%s'", v), -1;
    } else if (cd_arg_is(argv[i], "--batch")) {
      if (!(v = cd_arg_value(argc, argv, &i)) || cd_arg_int("--batch", v, 1, 4096, &a->eo.batch)) return -1;
    } else if (cd_arg_is(argv[i], "--checkpoint-every")) {
      if (!(v = cd_arg_value(argc, argv, &i)) || cd_arg_float("--checkpoint-every", v, &a->eo.checkpoint_every)) return -1;
    } else {
      return cd_cli_fail("embed: unknown option '%s' (see --help)", argv[i]), -1;
    }
  }
  if (!a->out) return cd_cli_fail("embed: --out CACHE is required"), -1;
  if (clipdebias_embed_options_check(&a->eo, err, sizeof err)) return cd_cli_fail("%s", err), -1;
  return 0;
}

int cd_cmd_embed(int argc, char **argv) {
  if (cd_args_want_help(argc, argv)) return print_help(), 0;
  embed_args a = {0};
  clipdebias_dataset *d = NULL;
  clipdebias_model *m = NULL;
  char err[1024];
  int rc = 1;
  if (parse(argc, argv, &a)) goto done;
  const cd_dataset_opts *ds = &a.ds;
  clipdebias_dataset_options dso = {ds->csv, ds->target, ds->spurious, ds->classnames, ds->attr_names, ds->split_csv,
                                    ds->seed, ds->strict};
  if (!(d = clipdebias_dataset_open(ds->name, ds->root, &dso, err, sizeof err))) {
    cd_cli_fail("%s", err);
    goto done;
  }
  clipdebias_dataset_print(d, stderr);
  a.model.towers = CLIPDEBIAS_IMAGE; /* the text tower is not used: not loaded */
  if ((m = cd_cli_load(&a.model, 0))) {
    clipdebias_embed_report r;
    if (clipdebias_embed_dataset(m, d, a.out, &a.eo, &r, err, sizeof err)) cd_cli_fail("%s", err);
    else if (r.reused)
      printf("%s: already a complete cache of the same model, data set and options; nothing to do%s\n", a.out,
             r.upgraded ? " (its checksums are now recorded in cache.json)" : ""), rc = 0;
    else {
      printf("%s: wrote %d x %d features of images [%d, %d) of %d%s, %d skipped as unreadable\n", a.out, r.rows,
             clipdebias_embed_dim(m), r.begin, r.end, r.total,
             r.resumed_from ? " (resumed)" : r.repaired ? " (repaired: embedded again)" : "", r.skipped);
      rc = 0;
    }
    clipdebias_free(m);
  }
  clipdebias_dataset_close(d);
done:
  cd_cli_opts_free(&a.model);
  return rc;
}
