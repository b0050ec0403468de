/* clipdebias zeroshot : zero-shot CLIP on a feature cache -> predictions, logits, metrics. */
#include <stdio.h>
#include <stdlib.h>

#include "clipdebias.h"
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

static int write_outputs(const char *dir, const clipdebias_cache *cache, const clipdebias_metrics *r, const int32_t *pred,
                         const float *logits, int C, char *err, size_t cap) {
  char path[4200];
  int N = clipdebias_cache_rows(cache);
  if (cd_stage_out_file(path, dir, "predictions.npy")) return 1;
  if (clipdebias_write_npy_i32(path, pred, N, err, cap)) return -1;
  if (cd_stage_out_file(path, dir, "logits.npy")) return 1;
  if (clipdebias_write_npy(path, logits, N, C, err, cap)) return -1;
  if (cd_stage_out_file(path, dir, "metrics.json")) return 1;
  return clipdebias_metrics_write(r, cache, path, "zeroshot", err, cap);
}

int cd_cmd_zeroshot(int argc, char **argv) {
  if (cd_args_want_help(argc, argv)) return print_help(), 0;
  cd_run_config c;
  const char *unused;
  if (cd_stage_parse(argc, argv, "zeroshot", CD_STAGE_CLASSNAMES | CD_STAGE_TEMPLATES, &c, &unused)) return 1;
  cd_outdir_lock lock;
  if (cd_stage_lock_out(&lock, c.out_dir, 0, "zeroshot")) return 1;
  cd_stage_inputs in;
  if (cd_stage_open(&in, &c, 0)) return cd_outdir_unlock(&lock), 1;
  int N = clipdebias_cache_rows(in.cache), C = in.n_cls, w = -1;
  clipdebias_metrics *r = NULL;
  char err[1024] = "out of memory";
  int32_t *pred = malloc(sizeof(int32_t) * (size_t)N);
  float *logits = malloc(sizeof(float) * (size_t)N * C);
  if (pred && logits &&
      !clipdebias_zeroshot(in.model, in.cache, (const char *const *)in.classnames, c.templates, c.n_templates, pred,
                           logits, err, sizeof err) &&
      (r = clipdebias_evaluate(in.cache, pred, err, sizeof err)))
    w = write_outputs(c.out_dir, in.cache, r, pred, logits, C, err, sizeof err);
  if (w == 0) clipdebias_metrics_print(r, in.cache, stdout);
  else if (w < 0) cd_cli_fail("%s", err); /* w > 0: the output folder's message is printed */
  clipdebias_metrics_free(r);
  free(pred), free(logits);
  cd_stage_close(&in);
  cd_outdir_unlock(&lock);
  return w == 0 ? 0 : 1;
}
