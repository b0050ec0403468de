/* clipdebias eval : group metrics of a tuned context (or linear probe) on a feature cache. */
#include <stdio.h>
#include <stdlib.h>

#include "core/file.h"
#include "core/npy.h"
#include "models/debias/eval.h"
#include "models/run/run.h"
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

int cd_cmd_eval(int argc, char **argv) {
  if (cd_args_want_help(argc, argv)) return print_help(), 0;
  cd_run_config c;
  const char *ctx;
  if (cd_stage_parse(argc, argv, "eval", CD_STAGE_CTX | CD_STAGE_CLASSNAMES, &c, &ctx)) return 1;
  cd_outdir_lock lock;
  if (cd_stage_lock_out(&lock, c.out_dir, 0, "eval")) return 1;
  cd_run_inputs in;
  cd_error e;
  if (cd_run_inputs_load(&in, &c, 0, &e)) return cd_outdir_unlock(&lock), cd_cli_fail("%s", e.msg);
  int N = in.cache.N, rc = 1;
  float *x = cd_cache_normalized(&in.cache, &e);
  int32_t *pred = cd_malloc(sizeof(int32_t) * (size_t)N, &e);
  cd_head h = {0};
  cd_prompt p = {0};
  cd_eval_result r = {0};
  char path[4200];
  int64_t shape[1] = {N};
  if (!x || !pred || cd_head_check_origin(ctx, c.model, in.model_checksum, in.classnames, in.n_cls, stderr, &e) ||
      cd_head_load(&h, &p, ctx, &in.model, in.n_cls, &e) ||
      cd_head_predict_rows(&h, x, N, pred, NULL, &e) || cd_eval_predictions(&in.cache, pred, &r, &e) ||
      cd_make_dirs(c.out_dir, &e) || cd_stage_path(path, c.out_dir, "predictions.npy", &e) ||
      cd_npy_save(path, CD_I32, 1, shape, pred, &e) || cd_stage_path(path, c.out_dir, "metrics.json", &e) ||
      cd_eval_write_json(path, ctx, &in.cache, &r, &e)) {
    cd_cli_fail("%s", e.msg);
  } else {
    printf("%s (%s head)\n", ctx, cd_head_kind_name(h.kind));
    cd_eval_print(stdout, &in.cache, &r);
    rc = 0;
  }
  cd_eval_free(&r);
  cd_head_free(&h);
  cd_prompt_free(&p);
  free(x), free(pred);
  cd_run_inputs_free(&in);
  cd_outdir_unlock(&lock);
  return rc;
}
