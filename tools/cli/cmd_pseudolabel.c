/* clipdebias pseudolabel : pseudo spurious attributes of every cache row from attribute
 * prompts (zero-shot argmax), and their accuracy where the true attribute is known. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/json.h"
#include "core/json_write.h"

#include "core/file.h"
#include "core/npy.h"
#include "models/debias/eval.h"
#include "models/run/run.h"
#include "models/debias/zeroshot.h"
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

static int write_json(const char *npy, const cd_run_inputs *in, const cd_pseudo_stats *s, cd_error *e) {
  char json[4200];
  size_t n = strlen(npy);
  if (n >= 4 && !strcmp(npy + n - 4, ".npy")) n -= 4;
  if (snprintf(json, sizeof json, "%.*s.json", (int)n, npy) >= (int)sizeof json) return cd_fail(e, "%s: path too long", npy);
  static const char *const SPLITS[2] = {"train", "val"};
  cd_atomic_file af;
  cd_jw w;
  if (cd_jw_open(&w, &af, json, e)) return -1;
  cd_jw_obj(&w);
  cd_jw_key(&w, "attr_prompts");
  cd_jw_strs(&w, in->attr_prompts, in->n_attr_prompts);
  cd_jw_key(&w, "attr_names");
  cd_jw_strs(&w, (const char *const *)in->cache.attr_names, in->cache.n_attr);
  cd_jw_key(&w, "splits");
  cd_jw_strs(&w, SPLITS, 2);
  cd_pseudo_stats_write(&w, s);
  cd_jw_end(&w);
  return cd_jw_commit(&w, &af, e);
}

/* 1 when out does not exist yet, or is a file this command wrote (its sidecar lists attr_prompts). */
static int made_by_pseudolabel(const char *out) {
  struct stat st;
  if (stat(out, &st) != 0) return 1;
  char json[4200];
  size_t n = strlen(out);
  if (n >= 4 && !strcmp(out + n - 4, ".npy")) n -= 4;
  if (!S_ISREG(st.st_mode) || snprintf(json, sizeof json, "%.*s.json", (int)n, out) >= (int)sizeof json) return 0;
  cd_error e;
  cd_json_doc *doc = cd_json_parse_file(json, 1 << 24, &e);
  int ok = doc && cd_json_get(cd_json_root(doc), "attr_prompts") != NULL;
  cd_json_free(doc);
  return ok;
}

int cd_cmd_pseudolabel(int argc, char **argv) {
  if (cd_args_want_help(argc, argv)) return print_help(), 0;
  cd_run_config c;
  const char *unused;
  if (cd_stage_parse(argc, argv, "pseudolabel", CD_STAGE_ATTR_PROMPTS, &c, &unused)) return 1;
  cd_outdir_lock lock;
  if (cd_stage_lock_out(&lock, c.out_dir, 1, "pseudolabel")) return 1;
  if (!made_by_pseudolabel(c.out_dir)) {
    cd_outdir_unlock(&lock);
    return cd_cli_fail("%s: exists and was not written by pseudolabel (no a_pseudo sidecar beside it); give --out a new file name",
                       c.out_dir);
  }
  cd_run_inputs in;
  cd_error e;
  if (cd_run_inputs_load(&in, &c, 1, &e)) return cd_outdir_unlock(&lock), cd_cli_fail("%s", e.msg);
  int N = in.cache.N, K = in.n_attr_prompts, E = in.model.embed_dim, rc = 1, n_rows = 0, *rows = NULL;
  float *t = cd_malloc(sizeof(float) * (size_t)K * E, &e), *x = cd_cache_normalized(&in.cache, &e);
  int32_t *a = cd_malloc(sizeof(int32_t) * (size_t)N, &e);
  cd_pseudo_stats s = {0};
  int64_t shape[1] = {N};
  if (in.cache.n_attr > 0 && K != in.cache.n_attr)
    cd_fail(&e, "%d attribute prompts for %d attribute values in %s (one --attr-prompt per value, in order)", K,
            in.cache.n_attr, c.cache_dir);
  else if (t && x && a && !cd_text_features(&in.model, in.attr_prompts, K, t, &e)) {
    cd_pseudo_attributes(x, N, t, K, E, a);
    if (!cd_pseudo_rows(in.cache.split, N, &rows, &n_rows, &e) &&
        !cd_pseudo_stats_compute(&s, a, in.cache.n_attr > 0 ? in.cache.a : NULL, in.cache.y, rows, n_rows, in.n_cls, K, &e) &&
        !cd_npy_save(c.out_dir, CD_I32, 1, shape, a, &e) && !write_json(c.out_dir, &in, &s, &e)) {
      for (int k = 0; k < K; k++) {
        int64_t cnt = 0;
        for (int i = 0; i < N; i++) cnt += a[i] == k;
        printf("a=%d  \"%s\": %lld rows\n", k, in.attr_prompts[k], (long long)cnt);
      }
      cd_pseudo_stats_print(stdout, &s, in.classnames);
      rc = 0;
    }
  }
  if (rc) cd_cli_fail("%s", e.msg);
  cd_pseudo_stats_free(&s);
  free(rows), free(t), free(x), free(a);
  cd_run_inputs_free(&in);
  cd_outdir_unlock(&lock);
  return rc;
}
