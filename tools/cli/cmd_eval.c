/* clipdebias eval : group metrics of a tuned context (or linear probe) on a feature cache. */
#include <stdio.h>
#include <stdlib.h>

#include "clipdebias.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/stage_args.h"

static void print_help(void) {
  printf("usage: clipdebias eval --cache CACHE --model M --ctx CTX.npy --out DIR [--classnames a,b]\n"
         "         [--vocab V] [--threads N]\n\n"
         "Evaluates a context written by tune or run (CTX.npy with its CTX.json sidecar, e.g.\n"
         "RUN_DIR/dpt/seed0/ctx_selected.npy; a linear probe from run --head linear works too)\n"
         "on every row of a feature cache: per split, per-group accuracy and count (true\n"
         "groups), average, adjusted average (weighted by training group counts), worst group,\n"
         "gap and the predicted-class histogram. Writes DIR/predictions.npy (int32 [N]) and\n"
         "DIR/metrics.json, and prints the summary. A context trained with other weights (the\n"
         "model checksum in its sidecar) or for other class names (the cache's, or --classnames)\n"
         "is refused.\n");
}

static int write_outputs(const char *dir, const char *ctx, const clipdebias_cache *cache, const clipdebias_metrics *r,
                         const int32_t *pred, char *err, size_t cap) {
  char path[4200];
  if (cd_stage_out_file(path, dir, "predictions.npy")) return 1;
  if (clipdebias_write_npy_i32(path, pred, clipdebias_cache_rows(cache), err, cap)) return -1;
  if (cd_stage_out_file(path, dir, "metrics.json")) return 1;
  return clipdebias_metrics_write(r, cache, path, ctx, err, cap);
}

int cd_cmd_eval(int argc, char **argv) {
  if (cd_args_want_help(argc, argv)) return print_help(), 0;
  cd_run_config c;
  const char *ctx;
  if (cd_stage_parse(argc, argv, "eval", CD_STAGE_CTX | CD_STAGE_CLASSNAMES, &c, &ctx)) return 1;
  cd_outdir_lock lock;
  if (cd_stage_lock_out(&lock, c.out_dir, 0, "eval")) return 1;
  cd_stage_inputs in;
  if (cd_stage_open(&in, &c, 0)) return cd_outdir_unlock(&lock), 1;
  int w = -1;
  clipdebias_metrics *r = NULL;
  char err[1024] = "out of memory";
  const char *kind = NULL;
  int32_t *pred = malloc(sizeof(int32_t) * (size_t)clipdebias_cache_rows(in.cache));
  if (pred &&
      !clipdebias_predict_saved(in.model, in.cache, ctx, (const char *const *)in.classnames, stderr, pred, &kind, err,
                                sizeof err) &&
      (r = clipdebias_evaluate(in.cache, pred, err, sizeof err)))
    w = write_outputs(c.out_dir, ctx, in.cache, r, pred, err, sizeof err);
  if (w == 0) {
    printf("%s (%s head)\n", ctx, kind);
    clipdebias_metrics_print(r, in.cache, stdout);
  } else if (w < 0) {
    cd_cli_fail("%s", err); /* w > 0: the output folder's message is printed */
  }
  clipdebias_metrics_free(r);
  free(pred);
  cd_stage_close(&in);
  cd_outdir_unlock(&lock);
  return w == 0 ? 0 : 1;
}
