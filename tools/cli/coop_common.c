#include "tools/cli/coop_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/npy.h"
#include "models/clip/clip.h"
#include "tools/cli/args.h"

void cd_coop_data_free(cd_coop_data *d) {
  free(d->img_n);
  free(d->labels);
  free(d->weights);
  memset(d, 0, sizeof *d);
}

int cd_coop_data_load(const char *features, const char *labels, const char *weights, int embed,
                      int n_cls, cd_coop_data *d) {
  memset(d, 0, sizeof *d);
  cd_error e;
  cd_array f, l, w;
  if (cd_npy_load_f32(features, 2, &f, &e)) return cd_cli_fail("%s", e.msg), -1;
  if (f.shape[1] != embed || f.shape[0] < 1) {
    cd_cli_fail("%s: features are [%lld, %lld], the model's embedding is %d", features,
                (long long)f.shape[0], (long long)f.shape[1], embed);
    cd_array_free(&f);
    return -1;
  }
  if (cd_npy_load_labels(labels, &l, &e)) {
    cd_array_free(&f);
    return cd_cli_fail("%s", e.msg), -1;
  }
  int N = (int)f.shape[0];
  int rc = -1;
  if ((int64_t)l.numel != N) {
    cd_cli_fail("%s: %zu labels for %d feature rows", labels, l.numel, N);
    goto done;
  }
  const int32_t *lab = l.data;
  for (int i = 0; i < N; i++)
    if (lab[i] < 0 || lab[i] >= n_cls) {
      cd_cli_fail("%s: label %d of sample %d is outside [0, %d) (%d class names given)", labels,
                  lab[i], i, n_cls, n_cls);
      goto done;
    }
  if (weights) {
    if (cd_npy_load_f32(weights, 0, &w, &e)) {
      cd_cli_fail("%s", e.msg);
      goto done;
    }
    double s = 0;
    int bad = (int64_t)w.numel != N;
    for (size_t i = 0; !bad && i < w.numel; i++) {
      float v = ((float *)w.data)[i];
      bad = !(v >= 0) || !isfinite(v);
      s += v;
    }
    if (bad || !(s > 0)) {
      cd_cli_fail("%s: need %d finite weights >= 0 with a positive sum", weights, N);
      cd_array_free(&w);
      goto done;
    }
    d->weights = w.data; /* take ownership */
  }
  d->N = N;
  d->E = embed;
  d->img_n = f.data;
  d->labels = l.data;
  f.data = l.data = NULL;
  cd_l2_normalize_rows(d->img_n, N, embed);
  rc = 0;
done:
  if (f.data) cd_array_free(&f);
  if (l.data) cd_array_free(&l);
  return rc;
}
