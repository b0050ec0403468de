/* Predictions, split metrics and saved heads for the stage commands (see eval.h). */
#include "models/debias/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"
#include "core/npy.h"
#include "data/groups/groups.h"
#include "models/tuning/coop_loss.h"
#include "models/tuning/prompt_ckpt.h"
#include "models/tuning/tune_session.h"

static const char *const SPLIT_NAMES[3] = {"train", "val", "test"};

float *cd_cache_normalized(const cd_feature_cache *c, cd_error *e) {
  float *x = cd_malloc(sizeof(float) * (size_t)c->N * c->D, e);
  if (!x) return NULL;
  cd_feature_cache_rows(c, 0, c->N, x);
  cd_l2_normalize_rows(x, c->N, c->D);
  return x;
}

int cd_head_predict_rows(cd_head *h, const float *x, int N, int32_t *pred, float *logits, cd_error *e) {
  if (!logits) return cd_head_predict(h, x, N, NULL, pred, NULL, NULL, e);
  enum { CHUNK = 4096 };
  double *l = cd_malloc(sizeof(double) * (size_t)CHUNK * h->C, e);
  if (!l || cd_head_forward(h, e)) return free(l), -1;
  for (int s = 0; s < N; s += CHUNK) {
    int n = N - s < CHUNK ? N - s : CHUNK;
    cd_logits_forward(x + (size_t)s * h->E, n, h->Z, h->kind == CD_HEAD_LINEAR ? h->bias : NULL, h->C, h->E, l);
    for (size_t k = 0; k < (size_t)n * h->C; k++) logits[(size_t)s * h->C + k] = (float)l[k];
    cd_softmax_xent_forward(l, NULL, n, h->C, NULL, NULL, pred + s);
  }
  free(l);
  return 0;
}

void cd_eval_free(cd_eval_result *r) {
  free(r->train_counts);
  for (int s = 0; s < 3; s++) cd_group_metrics_free(&r->split[s]);
  memset(r, 0, sizeof *r);
}

int cd_eval_predictions(const cd_feature_cache *c, const int32_t *pred, cd_eval_result *r, cd_error *e) {
  memset(r, 0, sizeof *r);
  r->n_cls = c->n_cls, r->n_attr = c->n_attr, r->G = cd_group_count_of(c->n_cls, c->n_attr);
  int32_t *g = cd_malloc(sizeof(int32_t) * (size_t)c->N, e);
  int *rows = cd_malloc(sizeof(int) * (size_t)c->N, e);
  r->train_counts = cd_calloc((size_t)r->G, sizeof(int64_t), e);
  int rc = g && rows && r->train_counts ? 0 : -1;
  for (int s = 0; s < 3 && !rc; s++) rc = cd_group_metrics_init(&r->split[s], c->n_cls, c->n_attr, e);
  if (!rc) {
    int n = 0;
    for (int i = 0; i < c->N; i++)
      if (c->split[i] == 0) g[n++] = cd_group_of(c->y[i], c->n_attr > 0 ? c->a[i] : -1, c->n_attr);
    cd_groups_count(g, n, r->G, r->train_counts);
    for (int s = 0; s < 3; s++) {
      n = 0;
      for (int i = 0; i < c->N; i++)
        if (c->split[i] == s) rows[n++] = i;
      cd_group_metrics_compute(&r->split[s], pred, c->y, c->n_attr > 0 ? c->a : NULL, rows, n, r->train_counts,
                               SPLIT_NAMES[s], c->classnames);
    }
  }
  free(g);
  free(rows);
  if (rc) cd_eval_free(r);
  return rc;
}

int cd_eval_write_json(const char *path, const char *what, const cd_feature_cache *c,
                       const cd_eval_result *r, cd_error *e) {
  cd_atomic_file af;
  cd_jw w;
  if (cd_jw_open(&w, &af, path, e)) return -1;
  cd_jw_obj_block(&w);
  cd_jw_kstr(&w, "what", what);
  cd_jw_kstr(&w, "dataset", c->dataset);
  cd_jw_key(&w, "classnames");
  cd_jw_strs(&w, (const char *const *)c->classnames, c->n_cls);
  cd_jw_key(&w, "attr_names");
  cd_jw_strs(&w, (const char *const *)c->attr_names, c->n_attr);
  cd_jw_kint(&w, "n_groups", r->G);
  cd_jw_key(&w, "train_group_counts");
  cd_jw_ints(&w, r->train_counts, r->G);
  for (int s = 0; s < 3; s++) {
    cd_jw_key(&w, SPLIT_NAMES[s]);
    cd_eval_write_split(&w, &r->split[s]);
  }
  cd_jw_end(&w);
  return cd_jw_commit(&w, &af, e);
}

void cd_eval_print(FILE *fp, const cd_feature_cache *c, const cd_eval_result *r) {
  fprintf(fp, "%-6s %7s %8s %13s %12s %8s\n", "split", "rows", "avg %", "adjusted %", "worst %", "gap");
  for (int s = 0; s < 3; s++) {
    const cd_group_metrics *m = &r->split[s];
    if (m->n_rows == 0) continue;
    fprintf(fp, "%-6s %7lld %8.2f %13.2f %12.2f %8.2f", SPLIT_NAMES[s], (long long)m->n_rows, 100 * m->avg_acc,
            100 * m->avg_acc_adjusted, 100 * m->worst_group_acc, 100 * m->gap);
    if (m->worst_group >= 0 && c->n_attr > 0)
      fprintf(fp, "   worst: %s / %s", c->classnames[cd_group_y(m->worst_group, c->n_attr)],
              c->attr_names[cd_group_a(m->worst_group, c->n_attr)]);
    else if (m->worst_group >= 0)
      fprintf(fp, "   worst: %s", c->classnames[m->worst_group]);
    fputc('\n', fp);
  }
  for (int s = 0; s < 3; s++)
    for (int w = 0; w < r->split[s].n_warnings; w++) fprintf(fp, "warning: %s\n", r->split[s].warnings[w]);
}

void cd_eval_write_split(cd_jw *w, const cd_group_metrics *m) {
  static const char *const keys[4] = {"avg_acc", "avg_acc_adjusted", "worst_group_acc", "gap"};
  const double v[4] = {m->avg_acc, m->avg_acc_adjusted, m->worst_group_acc, m->gap};
  const double sd[4] = {m->avg_acc_std, m->avg_acc_adjusted_std, m->worst_group_acc_std, m->gap_std};
  cd_jw_obj_block(w);
  cd_jw_kint(w, "rows", m->n_rows);
  for (int k = 0; k < 4; k++) cd_jw_knum(w, keys[k], v[k]);
  cd_jw_key(w, "std");
  cd_jw_obj(w);
  for (int k = 0; k < 4; k++) cd_jw_knum(w, keys[k], sd[k]);
  cd_jw_end(w);
  cd_jw_key(w, "groups");
  cd_jw_arr_block(w);
  for (int g = 0; g < m->G; g++) {
    cd_jw_obj(w);
    cd_jw_kint(w, "g", g);
    cd_jw_kint(w, "y", cd_group_y(g, m->n_attr));
    cd_jw_key(w, "a");
    if (m->n_attr > 0) cd_jw_int(w, cd_group_a(g, m->n_attr));
    else cd_jw_null(w);
    cd_jw_kint(w, "n", m->n[g]);
    cd_jw_knum(w, "acc", m->acc[g]);
    cd_jw_knum(w, "acc_std", m->acc_std[g]);
    cd_jw_end(w);
  }
  cd_jw_end(w);
  /* counts; over several seeds the mean count, rounded */
  cd_jw_key(w, "pred_hist");
  cd_jw_arr(w);
  for (int c = 0; c < m->n_cls; c++) cd_jw_int(w, llround(m->pred_hist[c]));
  cd_jw_end(w);
  cd_jw_key(w, "warnings");
  cd_jw_arr(w);
  for (int k = 0; k < m->n_warnings; k++) cd_jw_str(w, m->warnings[k]);
  cd_jw_end(w);
  cd_jw_end(w);
}

static int load_linear(cd_head *h, const char *npy, const char *json, const cd_json *root, const cd_clip *m,
                       int n_cls, cd_error *e) {
  const cd_json *names = cd_json_get(root, "classnames");
  int E = m->embed_dim;
  if (!names || names->type != CD_JSON_ARRAY || (int)names->n != n_cls)
    return cd_fail(e, "%s: the probe has %d classes, the cache %d", json, names ? (int)names->n : 0, n_cls);
  cd_array a;
  if (cd_npy_load_f32(npy, 2, &a, e)) return -1;
  if (a.shape[0] != n_cls || a.shape[1] != E + 1) {
    cd_array_free(&a);
    return cd_fail(e, "%s: a linear probe must be [%d, %d] (W | b) for this model and cache", npy, n_cls, E + 1);
  }
  float *zero = cd_calloc((size_t)n_cls * E, sizeof(float), e);
  int rc = zero ? cd_head_init_linear(h, zero, n_cls, E, m->logit_scale_log, e) : -1;
  const float *wb = a.data;
  for (int c = 0; !rc && c < n_cls; c++) {
    memcpy(h->params + (size_t)c * E, wb + (size_t)c * (E + 1), sizeof(float) * E);
    h->params[(size_t)n_cls * E + c] = wb[(size_t)c * (E + 1) + E];
  }
  free(zero);
  cd_array_free(&a);
  return rc;
}

static int load_prompt(cd_head *h, cd_prompt *p, const char *npy, const cd_clip *m, int n_cls, cd_error *e) {
  cd_prompt_ckpt_meta meta;
  if (cd_prompt_ckpt_load_meta(npy, &meta, e)) return -1;
  int rc = -1;
  if (cd_prompt_ckpt_refuse_projected(npy, &meta, e)) {}
  else if (meta.n_cls != n_cls) cd_fail(e, "%s: the context was trained on %d classes, the cache has %d", npy, meta.n_cls, n_cls);
  else if (meta.width != m->text.tf.width)
    cd_fail(e, "%s: context width %d, the model's text width is %d (another model?)", npy, meta.width, m->text.tf.width);
  else if (!m->tokenizer) cd_fail(e, "%s: no tokenizer to build the prompts", m->path);
  else if (!cd_prompt_init_text(p, m->tokenizer, meta.classnames, n_cls, meta.n_ctx, meta.ctx_init, meta.width,
                                meta.csc, meta.position, e)) {
    if (cd_prompt_ckpt_load_state(npy, p, NULL, e) || cd_head_init_prompt(h, m, p, e)) cd_prompt_free(p);
    else rc = 0;
  }
  cd_prompt_ckpt_meta_free(&meta);
  return rc;
}

static int same_name(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (*a != *b && !((*a == '_' || *a == ' ') && (*b == '_' || *b == ' '))) return 0;
  return *a == *b;
}

/* "[a, b, c]" of at most cap bytes. */
static void names_text(char *out, size_t cap, const cd_json *arr, char *const *names, int n) {
  size_t at = 0;
  out[0] = 0;
  for (int k = 0; k < n && at + 8 < cap; k++) {
    const char *s = arr ? (arr->items[k].type == CD_JSON_STRING ? arr->items[k].str : "?") : names[k];
    at += (size_t)snprintf(out + at, cap - at, "%s%s", k ? ", " : "[", s);
  }
  if (at < cap - 1) snprintf(out + at, cap - at, "]");
}

int cd_head_check_origin(const char *ctx_path, const char *model_path, const char *model_checksum,
                         char *const *classnames, int n_cls, FILE *warn, cd_error *e) {
  char json[4200], optim[4200];
  if (cd_prompt_ckpt_paths(ctx_path, json, optim, sizeof json)) return cd_fail(e, "%s: path too long", ctx_path);
  cd_json_doc *doc = cd_json_parse_file(json, 1 << 24, e);
  if (!doc) return cd_fail_prefix(e, "%s needs its sidecar", ctx_path);
  const cd_json *r = cd_json_root(doc), *names = cd_json_get(r, "classnames");
  const char *sum = cd_json_get_str(r, "model_checksum", "");
  int rc = 0, same = names && names->type == CD_JSON_ARRAY && (int)names->n == n_cls;
  for (int k = 0; same && k < n_cls; k++)
    same = names->items[k].type == CD_JSON_STRING && same_name(names->items[k].str, classnames[k]);
  if (sum[0] && strcmp(sum, model_checksum))
    rc = cd_fail(e, "%s: was trained with another model: %s (%s) vs --model %s (%s); it does not fit this model's text tower",
                 json, cd_json_get_str(r, "model", "?"), sum, model_path, model_checksum);
  else if (!same) {
    char was[600], now[600];
    names_text(was, sizeof was, names && names->type == CD_JSON_ARRAY ? names : NULL, NULL,
               names && names->type == CD_JSON_ARRAY ? (int)names->n : 0);
    names_text(now, sizeof now, NULL, classnames, n_cls);
    rc = cd_fail(e, "%s: was trained for other class names: %s vs %s here (give --classnames to name the classes as it "
                    "was trained)", json, was, now);
  } else if (!sum[0] && warn)
    fprintf(warn, "clipdebias: warning: %s records no model checksum (written before they were recorded); it is not "
                  "checked against --model %s\n", json, model_path);
  cd_json_free(doc);
  return rc;
}

int cd_head_load(cd_head *h, cd_prompt *p, const char *ctx_path, const cd_clip *m, int n_cls, cd_error *e) {
  memset(h, 0, sizeof *h);
  memset(p, 0, sizeof *p);
  char json[4200], optim[4200];
  if (cd_tune_diverged_refuse(ctx_path, e)) return -1;
  if (cd_prompt_ckpt_paths(ctx_path, json, optim, sizeof json)) return cd_fail(e, "%s: path too long", ctx_path);
  cd_json_doc *doc = cd_json_parse_file(json, 1 << 24, e);
  if (!doc) return cd_fail_prefix(e, "%s needs its sidecar", ctx_path);
  const char *format = cd_json_get_str(cd_json_root(doc), "format", "");
  int rc;
  if (!strcmp(format, "clipdebias-linear")) rc = load_linear(h, ctx_path, json, cd_json_root(doc), m, n_cls, e);
  else if (!strcmp(format, "clipdebias-coop")) rc = load_prompt(h, p, ctx_path, m, n_cls, e);
  else rc = cd_fail(e, "%s: \"format\" is '%s'; expected a context written by tune or run", json, format);
  cd_json_free(doc);
  return rc;
}
