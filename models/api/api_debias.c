/* The public API's zero-shot CLIP, pseudo-labels and saved heads on a feature cache: the same
 * calls, in the same order, as the zeroshot, pseudolabel and eval commands make. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json_write.h"
#include "core/npy.h"
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

int clipdebias_cache_attr_prompts(const clipdebias_cache *c, const char *const *given, int n_given,
                                  const char *const **prompts, int *n, char *err, size_t errcap) {
  const cd_feature_cache *fc = &c->cache;
  if (n_given > 0) return *prompts = given, *n = n_given, 0;
  if ((*prompts = cd_default_attr_prompts(fc->dataset, n))) return 0;
  char names[512] = "";
  for (int a = 0; a < fc->n_attr; a++) {
    size_t l = strlen(names);
    snprintf(names + l, sizeof names - l, "%s%d = %s", a ? ", " : "", a, fc->attr_names[a]);
  }
  cd_error e;
  cd_fail(&e, "data set '%s' has no default attribute prompts: give one --attr-prompt TEXT per value of "
              "the spurious attribute, in attribute order%s%s%s",
          fc->dataset, fc->n_attr ? " (" : "", names, fc->n_attr ? ")" : "");
  return cd_api_report(&e, err, errcap);
}

int clipdebias_pseudolabels(const clipdebias_model *m, const clipdebias_cache *c, const char *const *prompts,
                            int n_prompts, int32_t *attr, char *err, size_t errcap) {
  const cd_feature_cache *fc = &c->cache;
  int E = m->clip.embed_dim;
  cd_error e;
  if (E != fc->D) return clipdebias_cache_check_model(c, m, err, errcap);
  if (clipdebias_cache_attr_prompts(c, prompts, n_prompts, &prompts, &n_prompts, err, errcap)) return -1;
  if (fc->n_attr > 0 && n_prompts != fc->n_attr) {
    cd_fail(&e, "%d attribute prompts for %d attribute values in %s (one --attr-prompt per value, in order)", n_prompts,
            fc->n_attr, c->dir);
    return cd_api_report(&e, err, errcap);
  }
  float *t = cd_malloc(sizeof(float) * (size_t)n_prompts * E, &e), *x = cd_cache_normalized(fc, &e);
  int rc = !t || !x || cd_text_features(&m->clip, prompts, n_prompts, t, &e);
  if (!rc) cd_pseudo_attributes(x, fc->N, t, n_prompts, E, attr);
  free(t), free(x);
  return rc ? cd_api_report(&e, err, errcap) : 0;
}

/* path.json beside path.npy: the prompts, the attribute names and the accuracy. */
static int write_sidecar(const char *npy, const cd_feature_cache *fc, const char *const *prompts, int K,
                         const cd_pseudo_stats *s, cd_error *e) {
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
  cd_jw_strs(&w, prompts, K);
  cd_jw_key(&w, "attr_names");
  cd_jw_strs(&w, (const char *const *)fc->attr_names, fc->n_attr);
  cd_jw_key(&w, "splits");
  cd_jw_strs(&w, SPLITS, 2);
  cd_pseudo_stats_write(&w, s);
  cd_jw_end(&w);
  return cd_jw_commit(&w, &af, e);
}

int clipdebias_pseudolabels_save(const clipdebias_cache *c, const int32_t *attr, const char *const *prompts,
                                 int n_prompts, const char *path, FILE *summary, char *err, size_t errcap) {
  const cd_feature_cache *fc = &c->cache;
  int K = n_prompts, n_rows = 0, *rows = NULL;
  int64_t shape[1] = {fc->N};
  cd_pseudo_stats s = {0};
  cd_error e;
  char **names = cache_classnames(fc, &e);
  int rc = !names || cd_pseudo_rows(fc->split, fc->N, &rows, &n_rows, &e) ||
           cd_pseudo_stats_compute(&s, attr, fc->n_attr > 0 ? fc->a : NULL, fc->y, rows, n_rows, fc->n_cls, K, &e) ||
           cd_npy_save(path, CD_I32, 1, shape, attr, &e) || write_sidecar(path, fc, prompts, K, &s, &e);
  if (!rc && summary) {
    for (int k = 0; k < K; k++) {
      int64_t cnt = 0;
      for (int i = 0; i < fc->N; i++) cnt += attr[i] == k;
      fprintf(summary, "a=%d  \"%s\": %lld rows\n", k, prompts[k], (long long)cnt);
    }
    cd_pseudo_stats_print(summary, &s, names);
  }
  cd_pseudo_stats_free(&s);
  free(rows);
  if (names) cd_free_classnames(names, fc->n_cls);
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
