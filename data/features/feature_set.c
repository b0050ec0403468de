/* Loading and checking of cached features, labels, weights and attributes (see feature_set.h). */
#include "data/features/feature_set.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/npy.h"

void cd_feature_set_free(cd_feature_set *d) {
  free(d->x);
  free(d->labels);
  free(d->weights);
  free(d->attrs);
  memset(d, 0, sizeof *d);
}

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

static int load_weights(const char *path, int N, float **out, cd_error *e) {
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

int cd_feature_set_load(const char *features, const char *labels, const char *weights,
                        const char *attrs, int embed, int n_cls, cd_feature_set *d, cd_error *e) {
  memset(d, 0, sizeof *d);
  cd_array f;
  if (cd_npy_load_f32(features, 2, &f, e)) return -1;
  if (f.shape[1] != embed || f.shape[0] < 1 || f.shape[0] > (1 << 30)) {
    cd_fail(e, "%s: features are [%lld, %lld], the model's embedding is %d", features,
            (long long)f.shape[0], (long long)f.shape[1], embed);
    cd_array_free(&f);
    return -1;
  }
  d->N = (int)f.shape[0];
  d->E = embed;
  d->x = f.data;
  if (load_ints(labels, d->N, 0, n_cls, "label", &d->labels, e) ||
      (weights && load_weights(weights, d->N, &d->weights, e)) ||
      (attrs && load_ints(attrs, d->N, 0, 1024, "attribute", &d->attrs, e))) {
    cd_feature_set_free(d);
    return -1;
  }
  for (int i = 0; d->attrs && i < d->N; i++)
    if (d->attrs[i] + 1 > d->n_attr) d->n_attr = d->attrs[i] + 1;
  return 0;
}
