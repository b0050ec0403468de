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

/* The cache, its class names and the model (as run loads it, so the numbers are the run's),
 * checked against each other. */
static int open_inputs(const cd_run_config *c, clipdebias_cache **cache, char ***names, int *n_cls,
                       clipdebias_model **m, char *err, size_t cap) {
  clipdebias_load_options lo = {.vocab = c->vocab, .need_tokenizer = 1, .trainable = 1};
  if (!(*cache = clipdebias_cache_open(c->cache_dir, err, cap)) ||
      clipdebias_cache_classnames(*cache, c->classnames, names, n_cls, err, cap) ||
      !(*m = clipdebias_load_with(c->model, &lo, err, cap)) || clipdebias_cache_check_model(*cache, *m, err, cap))
    return -1;
  return 0;
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
  clipdebias_cache *cache = NULL;
  clipdebias_model *m = NULL;
  clipdebias_metrics *r = NULL;
  char **names = NULL, err[1024];
  int C = 0, rc = 1, w = -1;
  int32_t *pred = NULL;
  float *logits = NULL;
  if (open_inputs(&c, &cache, &names, &C, &m, err, sizeof err) == 0) {
    int N = clipdebias_cache_rows(cache);
    pred = malloc(sizeof(int32_t) * (size_t)N), logits = malloc(sizeof(float) * (size_t)N * C);
    if (!pred || !logits) snprintf(err, sizeof err, "out of memory");
    else if (clipdebias_zeroshot(m, cache, (const char *const *)names, c.templates, c.n_templates, pred, logits, err,
                                 sizeof err) == 0 &&
             (r = clipdebias_evaluate(cache, pred, err, sizeof err)))
      w = write_outputs(c.out_dir, cache, r, pred, logits, C, err, sizeof err);
  }
  if (w == 0) {
    clipdebias_metrics_print(r, cache, stdout);
    rc = 0;
  } else if (w < 0) {
    cd_cli_fail("%s", err); /* w > 0: the output folder's message is printed */
  }
  clipdebias_metrics_free(r);
  free(pred), free(logits);
  clipdebias_free_strings(names, C);
  clipdebias_free(m);
  clipdebias_cache_close(cache);
  cd_outdir_unlock(&lock);
  return rc;
}
