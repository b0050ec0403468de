/* The public API's feature caches: embedding a data set into one, opening and reading it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/groups/groups.h"
#include "models/api/api_internal.h"
#include "models/embed/embed_dataset.h"

struct clipdebias_dataset {
  cd_dataset d;
};

clipdebias_dataset *clipdebias_dataset_open(const char *kind, const char *root, const clipdebias_dataset_options *o,
                                            char *err, size_t errcap) {
  static const clipdebias_dataset_options dflt = {0};
  if (!o) o = &dflt;
  cd_dataset_opts dso = {kind, root, o->csv, o->target, o->spurious, o->classnames, o->attr_names, o->split_csv,
                         o->seed, o->strict};
  cd_error e;
  clipdebias_dataset *d = cd_calloc(1, sizeof *d, &e);
  if (!d || cd_dataset_load(&dso, &d->d, &e)) {
    free(d);
    cd_api_report(&e, err, errcap);
    return NULL;
  }
  return d;
}

void clipdebias_dataset_close(clipdebias_dataset *d) {
  if (!d) return;
  cd_dataset_free(&d->d);
  free(d);
}

int clipdebias_dataset_images(const clipdebias_dataset *d) { return d->d.n; }
void clipdebias_dataset_print(const clipdebias_dataset *d, FILE *fp) { cd_dataset_print(fp, &d->d); }

/* The engine's options of o (splits parsed into eo->splits). */
static int embed_opts(const clipdebias_embed_options *o, cd_embed_dataset_opts *eo, cd_error *e) {
  *eo = (cd_embed_dataset_opts){{0}, o->shard_index, o->shard_count, {0}};
  eo->embed = (cd_embed_opts){o->batch > 0 ? o->batch : 32, o->skip_bad, o->checkpoint_every, NULL, "embed",
                              o->progress ? stderr : NULL, 0, o->float16 ? CD_F16 : CD_F32};
  if (o->splits && cd_parse_splits(o->splits, eo->splits, e)) return -1;
  return cd_embed_opts_check(&eo->embed, e);
}

int clipdebias_embed_options_check(const clipdebias_embed_options *o, char *err, size_t errcap) {
  cd_embed_dataset_opts eo;
  cd_error e;
  return embed_opts(o, &eo, &e) ? cd_api_report(&e, err, errcap) : 0;
}

int clipdebias_embed_dataset(const clipdebias_model *m, const clipdebias_dataset *d, const char *cache_dir,
                             const clipdebias_embed_options *o, clipdebias_embed_report *report, char *err,
                             size_t errcap) {
  static const clipdebias_embed_options dflt = {0};
  cd_embed_dataset_opts eo;
  cd_embed_dataset_result r;
  cd_error e;
  if (embed_opts(o ? o : &dflt, &eo, &e) || cd_embed_dataset(&m->clip, &d->d, cache_dir, &eo, &r, &e))
    return cd_api_report(&e, err, errcap);
  if (report)
    *report = (clipdebias_embed_report){r.reused, r.rows, r.skipped, r.total, r.begin, r.end, r.resumed_from,
                                        r.repaired, r.upgraded};
  return 0;
}

int clipdebias_cache_merge(const char *out_dir, const char *const *dirs, int n, char *err, size_t errcap) {
  cd_error e;
  return cd_feature_cache_merge(out_dir, dirs, n, &e) ? cd_api_report(&e, err, errcap) : 0;
}

clipdebias_cache *clipdebias_cache_open(const char *dir, char *err, size_t errcap) {
  cd_error e;
  clipdebias_cache *c = cd_calloc(1, sizeof *c, &e);
  if (!c || cd_feature_cache_load(dir, &c->cache, &e)) {
    free(c);
    cd_api_report(&e, err, errcap);
    return NULL;
  }
  snprintf(c->dir, sizeof c->dir, "%s", dir);
  return c;
}

void clipdebias_cache_close(clipdebias_cache *c) {
  if (!c) return;
  cd_feature_cache_free(&c->cache);
  free(c);
}

int clipdebias_cache_rows(const clipdebias_cache *c) { return c->cache.N; }
int clipdebias_cache_dims(const clipdebias_cache *c) { return c->cache.D; }
int clipdebias_cache_classes(const clipdebias_cache *c) { return c->cache.n_cls; }
int clipdebias_cache_attributes(const clipdebias_cache *c) { return c->cache.n_attr; }
int clipdebias_cache_groups(const clipdebias_cache *c) { return cd_group_count_of(c->cache.n_cls, c->cache.n_attr); }
const char *clipdebias_cache_dataset(const clipdebias_cache *c) { return c->cache.dataset; }

int clipdebias_cache_split_rows(const clipdebias_cache *c, int split) {
  int n = 0;
  for (int i = 0; i < c->cache.N; i++) n += c->cache.split[i] == split;
  return n;
}

const char *clipdebias_cache_class_name(const clipdebias_cache *c, int k) {
  return k >= 0 && k < c->cache.n_cls ? c->cache.classnames[k] : NULL;
}

const char *clipdebias_cache_attribute_name(const clipdebias_cache *c, int k) {
  return k >= 0 && k < c->cache.n_attr ? c->cache.attr_names[k] : NULL;
}

void clipdebias_cache_labels(const clipdebias_cache *c, int32_t *y, int32_t *a, int32_t *split) {
  size_t bytes = sizeof(int32_t) * (size_t)c->cache.N;
  if (y) memcpy(y, c->cache.y, bytes);
  if (a) memcpy(a, c->cache.a, bytes);
  if (split) memcpy(split, c->cache.split, bytes);
}

int clipdebias_cache_features(const clipdebias_cache *c, int first, int n, int normalize, float *out, char *err,
                              size_t errcap) {
  cd_error e;
  if (first < 0 || n < 0 || first > c->cache.N - n) {
    cd_fail(&e, "%s: rows [%d, %d) outside the cache's %d", c->dir, first, first + n, c->cache.N);
    return cd_api_report(&e, err, errcap);
  }
  cd_feature_cache_rows(&c->cache, first, n, out);
  if (normalize) cd_l2_normalize_rows(out, n, c->cache.D);
  return 0;
}

int clipdebias_cache_check_model(const clipdebias_cache *c, const clipdebias_model *m, char *err, size_t errcap) {
  cd_error e;
  char sum[80];
  cd_model_checksum(&m->clip, sum);
  return cd_cache_model_check(&c->cache, c->dir, &m->clip, sum, &e) ? cd_api_report(&e, err, errcap) : 0;
}
