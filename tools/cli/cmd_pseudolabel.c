/* clipdebias pseudolabel : pseudo spurious attributes of every cache row from attribute
 * prompts (zero-shot argmax), and their accuracy where the true attribute is known. */
#include <stdio.h>
#include <stdlib.h>

#include "clipdebias.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/stage_args.h"

static void print_help(void) {
  printf("usage: clipdebias pseudolabel --cache CACHE --model M --out a_pseudo.npy\n"
         "         [--attr-prompt TEXT]... [--vocab V] [--threads N]\n\n"
         "Infers the spurious attribute without annotations: a(x) = argmax over the attribute\n"
         "prompts (one per attribute value, in order a = 0, 1, ...) of the cosine between the\n"
         "image feature and the prompt's text feature. Defaults: waterbirds \"a photo of a bird\n"
         "on land.\" / \"... on water.\", celeba \"a photo of a woman.\" / \"a photo of a man.\",\n"
         "metashift \"a photo taken outdoors.\" / \"a photo taken indoors.\"; other data sets\n"
         "need --attr-prompt. Writes int32 [N] (every row) and a_pseudo.json beside it (prompts,\n"
         "accuracy overall and per class, confusion against the true attribute on the train\n"
         "and val rows); prints the accuracy. Use it with tune --weights-from dpt --attrs.\n");
}

int cd_cmd_pseudolabel(int argc, char **argv) {
  if (cd_args_want_help(argc, argv)) return print_help(), 0;
  cd_run_config c;
  const char *unused;
  if (cd_stage_parse(argc, argv, "pseudolabel", CD_STAGE_ATTR_PROMPTS, &c, &unused)) return 1;
  cd_outdir_lock lock;
  if (cd_stage_lock_out(&lock, c.out_dir, 1, "pseudolabel")) return 1;
  if (!cd_stage_made_by_pseudolabel(c.out_dir)) {
    cd_outdir_unlock(&lock);
    return cd_cli_fail("%s: exists and was not written by pseudolabel (no a_pseudo sidecar beside it); give --out a new file name",
                       c.out_dir);
  }
  cd_stage_inputs in;
  if (cd_stage_open(&in, &c, 1)) return cd_outdir_unlock(&lock), 1;
  char err[1024] = "out of memory";
  int32_t *a = malloc(sizeof(int32_t) * (size_t)clipdebias_cache_rows(in.cache));
  int rc = !a ||
           clipdebias_pseudolabels(in.model, in.cache, in.attr_prompts, in.n_attr_prompts, a, err, sizeof err) ||
           clipdebias_pseudolabels_save(in.cache, a, in.attr_prompts, in.n_attr_prompts, c.out_dir, stdout, err, sizeof err);
  if (rc) cd_cli_fail("%s", err);
  free(a);
  cd_stage_close(&in);
  cd_outdir_unlock(&lock);
  return rc;
}
