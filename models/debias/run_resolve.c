/* cd_run: from a configuration to the inputs of cd_run_execute -- the cache, the model, and
 * the class names, templates and attribute prompts (flags, else the cache's names and the
 * dataset's default prompts). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/debias/run.h"
#include "models/debias/zeroshot.h"

static const char *const DEFAULT_TEMPLATE[1] = {"a photo of a {}."};

static int resolve_attr_prompts(const cd_run_config *c, const cd_feature_cache *cache,
                                const char *const **prompts, int *n, cd_error *e) {
  if (c->n_attr_prompts > 0) {
    *prompts = c->attr_prompts;
    *n = c->n_attr_prompts;
    return 0;
  }
  *prompts = cd_default_attr_prompts(cache->dataset, n);
  if (*prompts) return 0;
  char names[512] = "";
  for (int a = 0; a < cache->n_attr; a++) {
    size_t l = strlen(names);
    snprintf(names + l, sizeof names - l, "%s%d = %s", a ? ", " : "", a, cache->attr_names[a]);
  }
  return cd_fail(e, "data set '%s' has no default attribute prompts: give one --attr-prompt TEXT per value of "
                    "the spurious attribute, in attribute order%s%s%s",
                 cache->dataset, cache->n_attr ? " (" : "", names, cache->n_attr ? ")" : "");
}

static int resolve_classnames(const cd_run_config *c, const cd_feature_cache *cache, char ***names, int *n,
                              cd_error *e) {
  *names = NULL;
  *n = 0;
  if (!c->classnames) {
    /* the cache's names, with CoOp's '_' -> ' ' */
    *names = cd_calloc((size_t)cache->n_cls, sizeof(char *), e);
    if (!*names) return -1;
    for (int k = 0; k < cache->n_cls; k++) {
      if (!((*names)[k] = strdup(cache->classnames[k]))) return cd_fail(e, "out of memory");
      *n = k + 1;
      for (char *s = (*names)[k]; *s; s++)
        if (*s == '_') *s = ' ';
    }
    return 0;
  }
  if (cd_parse_classnames(c->classnames, names, n, e)) return cd_fail_prefix(e, "--classnames");
  if (*n != cache->n_cls)
    return cd_fail(e, "--classnames gives %d names, the cache %s has %d classes", *n, c->cache_dir, cache->n_cls);
  return 0;
}

int cd_run(const cd_run_config *c, FILE *log, cd_error *e) {
  if (!c->cache_dir)
    return cd_fail(e, "run: --cache DIR is required (a feature cache written by `clipdebias embed`)");
  if (!c->model || !c->out_dir) return cd_fail(e, "run: --model and --out are required");
  cd_feature_cache cache;
  cd_clip m;
  cd_run_text text;
  char **names = NULL;
  int n_names = 0, rc = -1, n_prompts = 0;
  const char *const *prompts = NULL;
  if (cd_feature_cache_load(c->cache_dir, &cache, e)) return -1;
  cd_clip_load_opts lo = {c->vocab, 1};
  if (resolve_classnames(c, &cache, &names, &n_names, e) || resolve_attr_prompts(c, &cache, &prompts, &n_prompts, e)) {
    cd_feature_cache_free(&cache);
    cd_free_classnames(names, n_names);
    return -1;
  }
  if (cd_clip_load(&m, c->model, &lo, e)) {
    cd_feature_cache_free(&cache);
    cd_free_classnames(names, n_names);
    return -1;
  }
  char *const *cls = names;
  const char *const *tmpl = c->n_templates ? c->templates : DEFAULT_TEMPLATE;
  int n_tmpl = c->n_templates ? c->n_templates : 1;
  if (log) fprintf(log, "cache %s: %s, %d rows, %d classes; model %s\n", c->cache_dir, cache.dataset, cache.N,
                   cache.n_cls, c->model);
  if (!cd_run_text_prepare(&text, &m, c, cls, cache.n_cls, tmpl, n_tmpl, prompts, n_prompts, e)) {
    cd_run_resolved res = {c->cache_dir, cache.dataset, cls, cache.n_cls, cache.attr_names, cache.n_attr,
                           tmpl, n_tmpl, prompts, n_prompts, cache.N, cache.model_checksum};
    rc = cd_run_execute(c, &cache, &m, &text, &res, log, e);
    cd_run_text_free(&text);
  }
  cd_clip_free(&m);
  cd_feature_cache_free(&cache);
  cd_free_classnames(names, n_names);
  return rc;
}
