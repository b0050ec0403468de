/* clipdebias zeroshot : zero-shot CLIP on a feature cache -> predictions, logits, metrics. */
#include <stdio.h>
#include <stdlib.h>

#include "core/file.h"
#include "core/npy.h"
#include "models/debias/eval.h"
#include "models/run/run.h"
#include "models/debias/zeroshot.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/stage_args.h"

static void print_help(void) {
  printf("usage: clipdebias zeroshot --cache CACHE --model M --out DIR [--classnames a,b]\n"
         "         [--template \"a photo of a {}.\"]... [--vocab V] [--threads N]\n\n"
         "Zero-shot CLIP on every row of a feature cache: class features from the templates\n"
         "({} = class name; several are averaged after normalisation, then renormalised),\n"
         "logits = logit_scale x cosine. Class names default to the cache's.\n"
         "Writes DIR/predictions.npy (int32 [N]), DIR/logits.npy (float32 [N, classes]) and\n"
         "DIR/metrics.json (per split: per-group accuracy and count, average, adjusted\n"
         "average, worst group, gap, predicted-class histogram), and prints the summary.\n");
}

int cd_cmd_zeroshot(int argc, char **argv) {
  if (cd_args_want_help(argc, argv)) return print_help(), 0;
  cd_run_config c;
  const char *unused;
  if (cd_stage_parse(argc, argv, "zeroshot", CD_STAGE_CLASSNAMES | CD_STAGE_TEMPLATES, &c, &unused)) return 1;
  cd_outdir_lock lock;
  if (cd_stage_lock_out(&lock, c.out_dir, 0, "zeroshot")) return 1;
  cd_run_inputs in;
  cd_error e;
  if (cd_run_inputs_load(&in, &c, 0, &e)) return cd_outdir_unlock(&lock), cd_cli_fail("%s", e.msg);
  int N = in.cache.N, C = in.n_cls, E = in.model.embed_dim, rc = 1;
  float *feat = cd_malloc(sizeof(float) * (size_t)C * E, &e), *logits = cd_malloc(sizeof(float) * (size_t)N * C, &e);
  float *x = cd_cache_normalized(&in.cache, &e);
  int32_t *pred = cd_malloc(sizeof(int32_t) * (size_t)N, &e);
  cd_head h = {0};
  cd_eval_result r = {0};
  char path[4200];
  int64_t shape[2] = {N, C};
  if (!feat || !logits || !x || !pred ||
      cd_zeroshot_class_features(&in.model, in.classnames, C, in.templates, in.n_templates, feat, &e) ||
      cd_head_init_linear(&h, feat, C, E, in.model.logit_scale_log, &e) ||
      cd_head_predict_rows(&h, x, N, pred, logits, &e) || cd_eval_predictions(&in.cache, pred, &r, &e) ||
      cd_make_dirs(c.out_dir, &e) || cd_stage_path(path, c.out_dir, "predictions.npy", &e) ||
      cd_npy_save(path, CD_I32, 1, shape, pred, &e) || cd_stage_path(path, c.out_dir, "logits.npy", &e) ||
      cd_npy_save_f32(path, 2, shape, logits, &e) || cd_stage_path(path, c.out_dir, "metrics.json", &e) ||
      cd_eval_write_json(path, "zeroshot", &in.cache, &r, &e)) {
    cd_cli_fail("%s", e.msg);
  } else {
    cd_eval_print(stdout, &in.cache, &r);
    rc = 0;
  }
  cd_eval_free(&r);
  cd_head_free(&h);
  free(feat), free(logits), free(x), free(pred);
  cd_run_inputs_free(&in);
  cd_outdir_unlock(&lock);
  return rc;
}
