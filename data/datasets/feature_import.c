/* Loose .npy features imported into an in-memory feature cache, per-sample weights, and the
 * rows of one split gathered (see feature_cache.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/npy.h"
#include "data/datasets/feature_cache.h"

/* Integers [N] in [lo, hi) from path; what = "label" or "attribute" names them in messages. */
static int load_ints(const char *path, int N, int lo, int hi, const char *what, int32_t **out,
                     cd_error *e) {
  cd_array a;
  if (cd_npy_load_labels(path, &a, e)) return -1;
  if ((int64_t)a.numel != N) {
    cd_array_free(&a);
    return cd_fail(e, "%s: %zu %s for %d feature rows", path, a.numel, what, N);
  }
  const int32_t *v = a.data;
  for (int i = 0; i < N; i++)
    if (v[i] < lo || v[i] >= hi) {
      int bad = v[i];
      cd_array_free(&a);
      return cd_fail(e, "%s: %s %d of sample %d is outside [0, %d)%s", path, what, bad, i, hi,
                     strcmp(what, "label") ? "" : " (one per class name given)");
    }
  *out = a.data;
  return 0;
}

int cd_feature_weights_load(const char *path, int N, float **out, cd_error *e) {
  cd_array w;
  if (cd_npy_load_f32(path, 0, &w, e)) return -1;
  double s = 0;
  int bad = (int64_t)w.numel != N;
  for (size_t i = 0; !bad && i < w.numel; i++) {
    float v = ((float *)w.data)[i];
    bad = !(v >= 0) || !isfinite(v);
    s += v;
  }
  if (bad || !(s > 0)) {
    cd_array_free(&w);
    return cd_fail(e, "%s: need %d finite weights >= 0 with a positive sum", path, N);
  }
  *out = w.data;
  return 0;
}

int cd_feature_cache_import_npy(const char *features, const char *labels, const char *attrs, int D,
                                int n_cls, cd_feature_cache *c, cd_error *e) {
  memset(c, 0, sizeof *c);
  cd_array f;
  if (cd_npy_load_f32(features, 2, &f, e)) return -1;
  if (f.shape[1] != D || f.shape[0] < 1 || f.shape[0] > (1 << 30)) {
    cd_fail(e, "%s: features are [%lld, %lld], the model's embedding is %d", features,
            (long long)f.shape[0], (long long)f.shape[1], D);
    cd_array_free(&f);
    return -1;
  }
  c->N = (int)f.shape[0], c->D = D, c->n_cls = n_cls;
  c->features = f.data;
  snprintf(c->dataset, sizeof c->dataset, "npy");
  c->split = cd_calloc((size_t)c->N, sizeof(int32_t), e); /* every row trains */
  if (!c->split || load_ints(labels, c->N, 0, n_cls, "label", &c->y, e) ||
      (attrs && load_ints(attrs, c->N, 0, 1024, "attribute", &c->a, e))) {
    cd_feature_cache_free(c);
    return -1;
  }
  for (int i = 0; c->a && i < c->N; i++)
    if (c->a[i] + 1 > c->n_attr) c->n_attr = c->a[i] + 1;
  if (!c->a && !(c->a = cd_malloc(sizeof(int32_t) * (size_t)c->N, e))) return cd_feature_cache_free(c), -1;
  for (int i = 0; !attrs && i < c->N; i++) c->a[i] = -1; /* unknown */
  return 0;
}

static int in_split(const cd_feature_cache *c, int i, int split) { return split < 0 || c->split[i] == split; }

int cd_feature_cache_split_count(const cd_feature_cache *c, int split) {
  int n = 0;
  for (int i = 0; i < c->N; i++) n += in_split(c, i, split);
  return n;
}

void cd_feature_cache_gather(const cd_feature_cache *c, int split, float *x, int32_t *y, int32_t *a) {
  for (int i = 0, k = 0; i < c->N;) {
    int run = 0; /* consecutive rows of the split, read in one call */
    while (i + run < c->N && in_split(c, i + run, split)) run++;
    if (!run) {
      i++;
      continue;
    }
    cd_feature_cache_rows(c, i, run, x + (size_t)k * c->D);
    for (int end = i + run; i < end; i++, k++) {
      y[k] = c->y[i];
      if (a) a[k] = c->a ? c->a[i] : -1;
    }
  }
}

/* The rows of split of full (attributes a [full->N], weights fw [full->N] or NULL) as a new
 * in-memory cache c with their weights *w. */
static int select_rows(const cd_feature_cache *full, int split, const int32_t *a, const float *fw,
                       cd_feature_cache *c, float **w, cd_error *e) {
  int n = cd_feature_cache_split_count(full, split);
  memset(c, 0, sizeof *c);
  c->N = n, c->D = full->D, c->n_cls = full->n_cls;
  snprintf(c->dataset, sizeof c->dataset, "%s", full->dataset);
  c->features = cd_malloc(sizeof(float) * (size_t)n * full->D, e);
  c->y = cd_malloc(sizeof(int32_t) * (size_t)n, e);
  c->a = cd_malloc(sizeof(int32_t) * (size_t)n, e);
  c->split = cd_calloc((size_t)n, sizeof(int32_t), e);
  c->classnames = cd_calloc((size_t)full->n_cls, sizeof(char *), e);
  if (fw) *w = cd_malloc(sizeof(float) * (size_t)n, e);
  int rc = c->features && c->y && c->a && c->split && c->classnames && (!fw || *w) ? 0 : -1;
  for (int k = 0; !rc && k < full->n_cls; k++)
    if (!(c->classnames[k] = strdup(full->classnames[k]))) rc = cd_fail(e, "out of memory");
  if (rc) return -1;
  cd_feature_cache_gather(full, split, c->features, c->y, NULL);
  for (int i = 0, k = 0; i < full->N; i++) {
    if (!in_split(full, i, split)) continue;
    c->a[k] = a ? a[i] : -1;
    c->split[k] = full->split[i];
    if (fw) (*w)[k] = fw[i];
    if (c->a[k] + 1 > c->n_attr) c->n_attr = c->a[k] + 1;
    k++;
  }
  return 0;
}

static const char *const SPLITS[3] = {"train", "val", "test"};

static const char *split_name(int split) { return split >= 0 && split < 3 ? SPLITS[split] : "any"; }

int cd_feature_cache_split_parse(const char *name) {
  for (int k = 0; k < 3; k++)
    if (!strcmp(name, SPLITS[k])) return k;
  return -1;
}

static int load_cache(const cd_feature_input *in, int D, int n_cls, cd_feature_cache *c, float **w, cd_error *e) {
  cd_feature_cache full;
  int32_t *a = NULL;
  float *fw = NULL;
  if (cd_feature_cache_load(in->cache, &full, e)) return -1;
  int rc = 0;
  if (full.D != D)
    rc = cd_fail(e, "%s: features are %d wide, the model's embedding is %d", in->cache, full.D, D);
  else if (n_cls > 0 && full.n_cls != n_cls)
    rc = cd_fail(e, "%s: the cache has %d classes, %d class names were given", in->cache, full.n_cls, n_cls);
  else if ((in->attrs && load_ints(in->attrs, full.N, 0, 1024, "attribute", &a, e)) ||
           (in->weights && cd_feature_weights_load(in->weights, full.N, &fw, e)))
    rc = -1;
  else if (cd_feature_cache_split_count(&full, in->split) == 0)
    rc = cd_fail(e, "%s: no rows in the %s split", in->cache, split_name(in->split));
  if (!rc && (rc = select_rows(&full, in->split, a ? a : full.a, fw, c, w, e))) {
    cd_feature_cache_free(c);
    if (fw) free(*w), *w = NULL;
  }
  free(a);
  free(fw);
  cd_feature_cache_free(&full);
  return rc;
}

int cd_feature_input_load(const cd_feature_input *in, int D, int n_cls, cd_feature_cache *c, float **w, cd_error *e) {
  *w = NULL;
  if (in->cache) return load_cache(in, D, n_cls, c, w, e);
  if (cd_feature_cache_import_npy(in->features, in->labels, in->attrs, D, n_cls, c, e)) return -1;
  if (in->weights && cd_feature_weights_load(in->weights, c->N, w, e)) return cd_feature_cache_free(c), -1;
  return 0;
}
