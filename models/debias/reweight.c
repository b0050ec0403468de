/* Per-sample weights of ERM, DPT / oracle reweighting and GroupDRO (see reweight.h). */
#include "models/debias/reweight.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"
#include "core/json_write.h"
#include "data/groups/groups.h"
#include "models/debias/group_weights.h"

int cd_reweight_init(cd_reweight *r, const cd_reweight_params *par, const int32_t *group,
                     int N, int G, cd_error *e) {
  memset(r, 0, sizeof *r);
  r->par = *par;
  r->group = group;
  r->N = N;
  r->G = G;
  if (G < 1 || N < 1) return cd_fail(e, "reweight: %d groups, %d samples", G, N);
  for (int i = 0; par->kind != CD_REWEIGHT_NONE && i < N; i++)
    if (group[i] < 0 || group[i] >= G)
      return cd_fail(e, "reweight: training sample %d has no group", i);
  r->count = cd_calloc((size_t)G * 3, sizeof(int64_t), e);
  r->w = cd_calloc((size_t)G * 7, sizeof(double), e);
  if (!r->count || !r->w) {
    cd_reweight_free(r);
    return -1;
  }
  r->p_n = r->count + G;
  r->batch_n = r->p_n + G;
  r->p_bar = r->w + G;
  r->p_sum = r->p_bar + G;
  r->scratch = r->p_sum + G;
  r->saved = r->scratch + 2 * G;
  r->saved_epoch = -1;
  cd_groups_count(group, N, G, r->count);
  for (int g = 0; g < G; g++) r->w[g] = 1, r->p_bar[g] = NAN;
  return 0;
}

void cd_reweight_free(cd_reweight *r) {
  free(r->count);
  free(r->w);
  memset(r, 0, sizeof *r);
}

/* p̄_g = mean of p over the samples of each group (NaN for a group without samples). */
static void group_means(const cd_reweight *r, const int *idx, int n, const double *p,
                        double *sum, int64_t *cnt, double *mean) {
  memset(sum, 0, sizeof(double) * (size_t)r->G);
  memset(cnt, 0, sizeof(int64_t) * (size_t)r->G);
  for (int i = 0; i < n; i++) {
    int g = r->group[idx ? idx[i] : i];
    if (g < 0) continue;
    sum[g] += p[i];
    cnt[g]++;
  }
  for (int g = 0; g < r->G; g++) mean[g] = cnt[g] ? sum[g] / (double)cnt[g] : NAN;
}

void cd_reweight_start(cd_reweight *r, const double *p_true) {
  memset(r->p_sum, 0, sizeof(double) * (size_t)r->G);
  memset(r->p_n, 0, sizeof(int64_t) * (size_t)r->G);
  if (p_true) group_means(r, NULL, r->N, p_true, r->scratch, r->batch_n, r->p_bar);
  if (r->par.kind == CD_REWEIGHT_DPT) cd_dpt_target(r->G, r->count, r->p_bar, r->par.eta, r->w);
  else if (r->par.kind == CD_REWEIGHT_GDRO) cd_gdro_init(r->G, r->count, r->w);
}

static void dpt_step_update(cd_reweight *r, const int *idx, int B, const double *p_true) {
  double *mean = r->scratch, *sum = r->scratch + r->G;
  group_means(r, idx, B, p_true, sum, r->batch_n, mean);
  double m = r->par.ema;
  for (int g = 0; g < r->G; g++)
    if (r->batch_n[g]) r->p_bar[g] = isnan(r->p_bar[g]) ? mean[g] : m * r->p_bar[g] + (1 - m) * mean[g];
  cd_dpt_target(r->G, r->count, r->p_bar, r->par.eta, mean);
  cd_weights_ema(r->G, r->w, mean, m);
}

static void gdro_batch(cd_reweight *r, const int *idx, int B, const double *ce, float *w) {
  double *loss = r->scratch, *sum = r->scratch + r->G;
  group_means(r, idx, B, ce, sum, r->batch_n, loss);
  for (int g = 0; g < r->G; g++) {
    if (!r->batch_n[g]) loss[g] = 0; /* absent from the batch: q_g only renormalised */
    if (r->count[g] > 0) loss[g] += r->par.gdro_adj / sqrt((double)r->count[g]);
  }
  cd_gdro_update(r->G, r->w, loss, r->par.gdro_eta);
  for (int i = 0; i < B; i++) {
    int g = r->group[idx[i]];
    w[i] = (float)(r->w[g] / (double)r->batch_n[g]);
  }
}

void cd_reweight_batch(cd_reweight *r, const int *idx, int B, const double *ce,
                       const double *p_true, float *w, double *denom) {
  for (int i = 0; i < B; i++) {
    int g = r->group[idx[i]];
    if (g < 0) continue;
    r->p_sum[g] += p_true[i];
    r->p_n[g]++;
  }
  if (r->par.kind == CD_REWEIGHT_GDRO) {
    gdro_batch(r, idx, B, ce, w);
    *denom = 1.0;
    return;
  }
  double s = 0;
  for (int i = 0; i < B; i++) {
    w[i] = r->par.kind == CD_REWEIGHT_DPT ? (float)r->w[r->group[idx[i]]] : 1.0f;
    s += w[i];
  }
  *denom = s;
  if (r->par.kind == CD_REWEIGHT_DPT && r->par.update == CD_DPT_STEP) dpt_step_update(r, idx, B, p_true);
}

void cd_reweight_epoch_end(cd_reweight *r) {
  int step_mode = r->par.kind == CD_REWEIGHT_DPT && r->par.update == CD_DPT_STEP;
  for (int g = 0; g < r->G && !step_mode; g++)
    if (r->p_n[g]) r->p_bar[g] = r->p_sum[g] / (double)r->p_n[g];
  memset(r->p_sum, 0, sizeof(double) * (size_t)r->G);
  memset(r->p_n, 0, sizeof(int64_t) * (size_t)r->G);
  if (r->par.kind != CD_REWEIGHT_DPT || step_mode) return;
  cd_dpt_target(r->G, r->count, r->p_bar, r->par.eta, r->scratch);
  cd_weights_ema(r->G, r->w, r->scratch, r->par.ema);
}

const char *cd_reweight_kind_name(cd_reweight_kind k) {
  return k == CD_REWEIGHT_DPT ? "dpt" : k == CD_REWEIGHT_GDRO ? "gdro" : "none";
}

static void write_state(cd_jw *w, int epoch, const double *wt, const double *p_bar, int G) {
  cd_jw_obj(w);
  cd_jw_kint(w, "epoch", epoch);
  cd_jw_key(w, "w");
  cd_jw_nums(w, wt, G);
  cd_jw_key(w, "p_bar");
  cd_jw_nums(w, p_bar, G);
  cd_jw_end(w);
}

int cd_reweight_save(cd_reweight *r, const char *path, int epoch, cd_error *e) {
  cd_atomic_file af;
  cd_jw w;
  if (cd_jw_open(&w, &af, path, e)) return -1;
  cd_jw_obj(&w);
  cd_jw_kstr(&w, "format", "clipdebias-weights");
  cd_jw_kstr(&w, "kind", cd_reweight_kind_name(r->par.kind));
  cd_jw_kint(&w, "groups", r->G);
  cd_jw_key(&w, "states");
  cd_jw_arr(&w);
  if (r->saved_epoch >= 0 && r->saved_epoch != epoch) write_state(&w, r->saved_epoch, r->saved, r->saved + r->G, r->G);
  write_state(&w, epoch, r->w, r->p_bar, r->G);
  cd_jw_end(&w);
  cd_jw_end(&w);
  if (cd_jw_commit(&w, &af, e)) return -1;
  memcpy(r->saved, r->w, sizeof(double) * (size_t)r->G);
  memcpy(r->saved + r->G, r->p_bar, sizeof(double) * (size_t)r->G);
  r->saved_epoch = epoch;
  return 0;
}

int cd_reweight_load(cd_reweight *r, const char *path, int epoch, cd_error *e) {
  cd_json_doc *doc = cd_json_parse_file(path, 1 << 24, e);
  if (!doc) return -1;
  const cd_json *root = cd_json_root(doc), *st = cd_json_get(root, "states");
  int rc = -1, found = 0;
  if (strcmp(cd_json_get_str(root, "kind", ""), cd_reweight_kind_name(r->par.kind)) ||
      cd_json_get_int(root, "groups", -1) != r->G) {
    cd_fail(e, "%s: weights of another method or group count", path);
    goto done;
  }
  for (size_t i = 0; st && st->type == CD_JSON_ARRAY && i < st->n && !found; i++) {
    const cd_json *s = &st->items[i];
    if (cd_json_get_int(s, "epoch", -1) != epoch) continue;
    found = 1;
    if (cd_json_field_nums(s, "w", r->w, r->G, path, e) || cd_json_field_nums(s, "p_bar", r->p_bar, r->G, path, e))
      goto done;
  }
  if (!found) {
    cd_fail(e, "%s: no weights for epoch %d (the file holds other epochs)", path, epoch);
    goto done;
  }
  memcpy(r->saved, r->w, sizeof(double) * (size_t)r->G);
  memcpy(r->saved + r->G, r->p_bar, sizeof(double) * (size_t)r->G);
  r->saved_epoch = epoch;
  rc = 0;
done:
  cd_json_free(doc);
  return rc;
}

int cd_reweight_state_path(const char *ctx_path, char *out, size_t cap) {
  size_t n = strlen(ctx_path);
  if (n >= 4 && !strcmp(ctx_path + n - 4, ".npy")) n -= 4;
  int k = snprintf(out, cap, "%.*s.weights.json", (int)n, ctx_path);
  return k < 0 || (size_t)k >= cap ? -1 : 0;
}

void cd_reweight_batch_hook(void *user, const int *idx, int B, const double *ce,
                            const double *p_true, float *w, double *denom) {
  cd_reweight_batch(user, idx, B, ce, p_true, w, denom);
}

int cd_reweight_epoch_hook(void *user, int epoch, double mean_loss, cd_error *e) {
  cd_reweight *r = user;
  cd_reweight_epoch_end(r);
  return r->state_path ? cd_reweight_save(r, r->state_path, epoch, e) : 0;
}
