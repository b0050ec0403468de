/* The public API's zero-shot CLIP, pseudo-labels and saved heads on a feature cache: the same
 * calls, in the same order, as the zeroshot, pseudolabel and eval commands make. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/api/api_internal.h"
#include "models/debias/zeroshot.h"
#include "models/embed/embed_dataset.h"

static const char *const DEFAULT_TEMPLATE[1] = {"a photo of a {}."};

/* The cache's class names with CoOp's '_' -> ' ' (as run and the stage commands). */
static char **cache_classnames(const cd_feature_cache *c, cd_error *e) {
  char **names = cd_calloc((size_t)c->n_cls, sizeof(char *), e);
  for (int k = 0; names && k < c->n_cls; k++) {
    if (!(names[k] = strdup(c->classnames[k]))) {
      cd_free_classnames(names, k);
      return cd_fail(e, "out of memory"), NULL;
    }
    for (char *s = names[k]; *s; s++)
      if (*s == '_') *s = ' ';
  }
  return names;
}

int clipdebias_cache_classnames(const clipdebias_cache *c, const char *list, char ***names, int *n, char *err,
                                size_t errcap) {
  const cd_feature_cache *fc = &c->cache;
  cd_error e;
  *names = NULL, *n = 0;
  if (!list) {
    if (!(*names = cache_classnames(fc, &e))) return cd_api_report(&e, err, errcap);
    *n = fc->n_cls;
    return 0;
  }
  if (cd_parse_classnames(list, names, n, &e)) return cd_fail_prefix(&e, "--classnames"), cd_api_report(&e, err, errcap);
  if (*n != fc->n_cls) {
    cd_fail(&e, "--classnames gives %d names, the cache %s has %d classes", *n, c->dir, fc->n_cls);
    cd_free_classnames(*names, *n);
    *names = NULL, *n = 0;
    return cd_api_report(&e, err, errcap);
  }
  return 0;
}

void clipdebias_free_strings(char **s, int n) { cd_free_classnames(s, n); }

int clipdebias_zeroshot(const clipdebias_model *m, const clipdebias_cache *c, const char *const *classnames,
                        const char *const *templates, int n_templates, int32_t *pred, float *logits, char *err,
                        size_t errcap) {
  const cd_feature_cache *fc = &c->cache;
  int N = fc->N, C = fc->n_cls, E = m->clip.embed_dim;
  cd_error e;
  if (E != fc->D) return clipdebias_cache_check_model(c, m, err, errcap);
  char **own = classnames ? NULL : cache_classnames(fc, &e);
  if (!classnames && !own) return cd_api_report(&e, err, errcap);
  if (n_templates <= 0) templates = DEFAULT_TEMPLATE, n_templates = 1;
  float *feat = cd_malloc(sizeof(float) * (size_t)C * E, &e), *x = cd_cache_normalized(fc, &e);
  cd_head h = {0};
  int rc = !feat || !x ||
           cd_zeroshot_class_features(&m->clip, own ? own : (char *const *)classnames, C, templates, n_templates, feat, &e) ||
           cd_head_init_linear(&h, feat, C, E, m->clip.logit_scale_log, &e) ||
           cd_head_predict_rows(&h, x, N, pred, logits, &e);
  cd_head_free(&h);
  free(feat), free(x);
  if (own) cd_free_classnames(own, C);
  return rc ? cd_api_report(&e, err, errcap) : 0;
}

int clipdebias_pseudolabels(const clipdebias_model *m, const clipdebias_cache *c, const char *const *prompts,
                            int n_prompts, int32_t *attr, char *err, size_t errcap) {
  const cd_feature_cache *fc = &c->cache;
  int E = m->clip.embed_dim;
  cd_error e;
  if (E != fc->D) return clipdebias_cache_check_model(c, m, err, errcap);
  if (n_prompts <= 0 && !(prompts = cd_default_attr_prompts(fc->dataset, &n_prompts))) {
    cd_fail(&e, "data set '%s' has no default attribute prompts: give one prompt per value of the spurious attribute",
            fc->dataset);
    return cd_api_report(&e, err, errcap);
  }
  float *t = cd_malloc(sizeof(float) * (size_t)n_prompts * E, &e), *x = cd_cache_normalized(fc, &e);
  int rc = !t || !x || cd_text_features(&m->clip, prompts, n_prompts, t, &e);
  if (!rc) cd_pseudo_attributes(x, fc->N, t, n_prompts, E, attr);
  free(t), free(x);
  return rc ? cd_api_report(&e, err, errcap) : 0;
}

int clipdebias_predict_saved(const clipdebias_model *m, const clipdebias_cache *c, const char *ctx_path,
                             const char *const *classnames, FILE *warn, int32_t *pred, const char **head_kind,
                             char *err, size_t errcap) {
  const cd_feature_cache *fc = &c->cache;
  cd_error e;
  char sum[80];
  cd_model_checksum(&m->clip, sum);
  char **own = classnames ? NULL : cache_classnames(fc, &e);
  if (!classnames && !own) return cd_api_report(&e, err, errcap);
  float *x = cd_cache_normalized(fc, &e);
  cd_head h = {0};
  cd_prompt p = {0};
  int rc = !x ||
           cd_head_check_origin(ctx_path, m->clip.path, sum, own ? own : (char *const *)classnames, fc->n_cls, warn, &e) ||
           cd_head_load(&h, &p, ctx_path, &m->clip, fc->n_cls, &e) || cd_head_predict_rows(&h, x, fc->N, pred, NULL, &e);
  if (!rc && head_kind) *head_kind = cd_head_kind_name(h.kind);
  cd_head_free(&h);
  cd_prompt_free(&p);
  if (own) cd_free_classnames(own, fc->n_cls);
  free(x);
  return rc ? cd_api_report(&e, err, errcap) : 0;
}
