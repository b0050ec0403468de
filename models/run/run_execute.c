/* `clipdebias run` orchestration (see run.h): resolve inputs, zero-shot, pseudo labels, the
 * (method, seed) pairs, then metrics.jsonl, results.json and the table. */
#include "models/run/run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/json.h"
#include "core/npy.h"
#include "core/outdir_lock.h"
#include "core/progress.h"
#include "data/groups/groups.h"
#include "models/debias/jtt.h"
#include "models/run/run_internal.h"
#include "models/run/run_results.h"
#include "models/debias/zeroshot.h"
#include "models/tuning/tune_session.h"

static int run_lists(const cd_run_config *c, cd_method m) {
  for (int k = 0; k < c->n_methods; k++)
    if (c->methods[k] == m) return 1;
  return 0;
}

/* Orth-Cali's candidate prompts, one per (class, attribute value), class-major: --cali-prompt
 * texts, else the class prompt (the first template) followed by the attribute prompt, "a photo
 * of a landbird. a photo of a bird on water." (debias_vl writes them by hand per data set:
 * "This is a picture of a landbird with water background."). */
static int cali_features(cd_run_text *t, const cd_clip *m, const cd_run_config *c, char *const *classnames,
                         int n_cls, const char *template_, const char *const *attr_prompts, int K, cd_error *e) {
  int n = n_cls * K;
  if (c->n_cali_prompts && c->n_cali_prompts != n)
    return cd_fail(e, "--cali-prompt: %d given; orth-cali needs one per class and attribute value (%d x %d = %d, "
                   "class-major)", c->n_cali_prompts, n_cls, K, n);
  char **texts = cd_calloc((size_t)n, sizeof(char *), e);
  t->cali_feat = cd_malloc(sizeof(float) * (size_t)n * t->E, e);
  int rc = texts && t->cali_feat ? 0 : -1;
  for (int c_ = 0; c_ < n_cls && !rc; c_++) {
    char *cls = cd_template_fill(template_, classnames[c_], e);
    for (int k = 0; k < K && cls; k++) {
      const char *given = c->n_cali_prompts ? c->cali_prompts[c_ * K + k] : NULL;
      size_t len = (given ? strlen(given) : strlen(cls) + strlen(attr_prompts[k]) + 1) + 1;
      if (!(texts[c_ * K + k] = cd_malloc(len, e))) break;
      if (given) snprintf(texts[c_ * K + k], len, "%s", given);
      else snprintf(texts[c_ * K + k], len, "%s %s", cls, attr_prompts[k]);
    }
    rc = cls && texts[c_ * K + K - 1] ? 0 : -1;
    free(cls);
  }
  if (!rc) rc = cd_text_features(m, (const char *const *)texts, n, t->cali_feat, e);
  for (int i = 0; texts && i < n; i++) free(texts[i]);
  free(texts);
  if (!rc) t->n_cali = n;
  return rc;
}

int cd_run_text_prepare(cd_run_text *t, const cd_clip *m, const cd_run_config *c,
                        char *const *classnames, int n_cls, const char *const *templates,
                        int n_templates, const char *const *attr_prompts, int n_attr_prompts,
                        cd_error *e) {
  memset(t, 0, sizeof *t);
  t->n_cls = n_cls;
  t->n_attr_prompts = n_attr_prompts;
  t->E = m->embed_dim;
  t->class_feat = cd_malloc(sizeof(float) * (size_t)n_cls * t->E, e);
  t->attr_feat = cd_malloc(sizeof(float) * (size_t)n_attr_prompts * t->E, e);
  cd_prompt_spec spec = {classnames, n_cls, c->n_ctx, c->ctx_init, c->csc, c->position, 0};
  if (!t->class_feat || !t->attr_feat ||
      cd_zeroshot_class_features(m, classnames, n_cls, templates, n_templates, t->class_feat, e) ||
      cd_text_features(m, attr_prompts, n_attr_prompts, t->attr_feat, e) ||
      (run_lists(c, CD_METHOD_ORTH_CALI) &&
       cali_features(t, m, c, classnames, n_cls, templates[0], attr_prompts, n_attr_prompts, e)) ||
      (c->head == CD_HEAD_PROMPT && cd_prompt_setup(&t->prompt, m, &spec, e))) {
    cd_run_text_free(t);
    return -1;
  }
  return 0;
}

void cd_run_text_free(cd_run_text *t) {
  free(t->class_feat);
  free(t->attr_feat);
  free(t->cali_feat);
  cd_prompt_free(&t->prompt);
  memset(t, 0, sizeof *t);
}

/* ---- state ----------------------------------------------------------------------------- */

static void state_free(cd_run_state *st) {
  free(st->x);
  free(st->a_pseudo);
  for (int s = 0; s < CD_SPLITS; s++) free(st->rows[s]), free(st->xs[s]), free(st->ys[s]);
  free(st->g_true_train);
  free(st->g_pseudo_train);
  free(st->train_counts);
  free(st->pseudo_counts);
  free(st->P);
  free(st->owned_text);
  memset(st, 0, sizeof *st);
}

static int check_inputs(const cd_run_state *st, cd_error *e) {
  const cd_feature_cache *c = st->cache;
  const cd_run_config *cfg = st->cfg;
  if (c->D != st->D) return cd_fail(e, "%s: features are %d wide, the model's embedding is %d", cfg->out_dir, c->D, st->D);
  if (st->text->n_cls != c->n_cls) return cd_fail(e, "%d class names for %d classes in the cache", st->text->n_cls, c->n_cls);
  if (st->K < 2) return cd_fail(e, "pseudo labels need at least 2 attribute prompts (got %d)", st->K);
  if (c->n_attr > 0 && st->K != c->n_attr)
    return cd_fail(e, "%d attribute prompts for %d attribute values in the cache (give one --attr-prompt per value, in order)",
                   st->K, c->n_attr);
  if (st->n_rows[CD_SPLIT_TRAIN] == 0 || st->n_rows[CD_SPLIT_VAL] == 0)
    return cd_fail(e, "the cache has %d training and %d validation rows; run needs both", st->n_rows[CD_SPLIT_TRAIN],
                   st->n_rows[CD_SPLIT_VAL]);
  int unknown = 0;
  for (int i = 0; i < st->n_rows[CD_SPLIT_TRAIN]; i++) unknown += st->g_true_train[i] < 0;
  for (int k = 0; k < cfg->n_methods; k++) {
    const char *wg = cd_method_weight_groups(cfg->methods[k]);
    if (wg && !strcmp(wg, "true") && (c->n_attr == 0 || unknown))
      return cd_fail(e, "method %s needs the true attribute of every training row (%s); use dpt or gdro-pseudo",
                     cd_method_name(cfg->methods[k]), c->n_attr == 0 ? "the cache has none" : "some are unknown");
  }
  for (int k = 0; k < cfg->n_methods; k++)
    if (cd_method_labels_used(cfg->methods[k], 0) == CD_LABELS_VAL_GROUPS && c->n_attr == 0)
      return cd_fail(e, "method %s needs the true attribute of the validation rows; the cache has none (use dfr-pseudo)",
                     cd_method_name(cfg->methods[k]));
  if (cfg->select == CD_SELECT_VAL_TRUE && c->n_attr == 0)
    return cd_fail(e, "--select val-true needs the true attribute of the validation rows; the cache has none");
  return 0;
}

static int gather_splits(cd_run_state *st, cd_error *e) {
  const cd_feature_cache *c = st->cache;
  for (int i = 0; i < st->N; i++) st->n_rows[c->split[i]]++;
  for (int s = 0; s < CD_SPLITS; s++) {
    int n = st->n_rows[s];
    st->rows[s] = cd_malloc(sizeof(int) * (size_t)(n ? n : 1), e);
    st->xs[s] = cd_malloc(sizeof(float) * (size_t)(n ? n : 1) * st->E, e);
    st->ys[s] = cd_malloc(sizeof(int32_t) * (size_t)(n ? n : 1), e);
    if (!st->rows[s] || !st->xs[s] || !st->ys[s]) return -1;
    st->n_rows[s] = 0;
  }
  for (int i = 0; i < st->N; i++) {
    int s = c->split[i], k = st->n_rows[s]++;
    st->rows[s][k] = i;
    st->ys[s][k] = c->y[i];
    memcpy(st->xs[s] + (size_t)k * st->E, st->x + (size_t)i * st->E, sizeof(float) * st->E);
  }
  return 0;
}

/* P [D,E] from the normalised training rows of x [N,D] (reduce.h: never val or test). */
static int fit_projection(cd_run_state *st, const float *x, cd_error *e) {
  const cd_feature_cache *c = st->cache;
  int n = 0;
  for (int i = 0; i < st->N; i++) n += c->split[i] == CD_SPLIT_TRAIN;
  if (cd_reduce_check(st->cfg->reduce, st->E, st->D, n, e)) return -1;
  float *xt = cd_malloc(sizeof(float) * (size_t)(n ? n : 1) * st->D, e);
  st->P = cd_malloc(sizeof(float) * (size_t)st->D * st->E, e);
  if (!xt || !st->P) return free(xt), -1;
  for (int i = 0, k = 0; i < st->N; i++)
    if (c->split[i] == CD_SPLIT_TRAIN) memcpy(xt + (size_t)k++ * st->D, x + (size_t)i * st->D, sizeof(float) * st->D);
  int rc = cd_reduce_fit(st->cfg->reduce, xt, n, st->D, st->E, st->cfg->reduce_seed, st->P, e);
  free(xt);
  st->proj = (cd_projection){st->D, st->E, st->P};
  return rc;
}

/* st->x [N,E] = the normalised features, projected (and normalised again) with --dims; the
 * text features follow them into the same space. */
static int project_inputs(cd_run_state *st, const cd_run_text *t, cd_error *e) {
  const cd_feature_cache *c = st->cache;
  st->class_feat = t->class_feat, st->attr_feat = t->attr_feat, st->cali_feat = t->cali_feat;
  if (!st->cfg->dims) {
    cd_feature_cache_rows(c, 0, st->N, st->x);
    cd_l2_normalize_rows(st->x, st->N, st->E);
    return 0;
  }
  float *full = cd_malloc(sizeof(float) * (size_t)st->N * st->D, e);
  if (!full) return -1;
  cd_feature_cache_rows(c, 0, st->N, full);
  cd_l2_normalize_rows(full, st->N, st->D);
  int rc = fit_projection(st, full, e);
  if (!rc) {
    cd_projection_forward(&st->proj, full, st->N, st->x);
    cd_l2_normalize_rows(st->x, st->N, st->E);
  }
  free(full);
  size_t nc = (size_t)st->C * st->E, na = (size_t)t->n_attr_prompts * st->E, nz = (size_t)t->n_cali * st->E;
  if (!rc && !(st->owned_text = cd_malloc(sizeof(float) * (nc + na + nz + 1), e))) rc = -1;
  if (rc) return -1;
  cd_projection_forward(&st->proj, t->class_feat, st->C, st->owned_text);
  cd_projection_forward(&st->proj, t->attr_feat, t->n_attr_prompts, st->owned_text + nc);
  cd_l2_normalize_rows(st->owned_text + nc, t->n_attr_prompts, st->E);
  st->class_feat = st->owned_text, st->attr_feat = st->owned_text + nc;
  if (t->n_cali) {
    cd_projection_forward(&st->proj, t->cali_feat, t->n_cali, st->owned_text + nc + na);
    cd_l2_normalize_rows(st->owned_text + nc + na, t->n_cali, st->E);
    st->cali_feat = st->owned_text + nc + na;
  }
  return 0;
}

static int state_init(cd_run_state *st, const cd_run_config *cfg, const cd_feature_cache *c,
                      const cd_clip *m, const cd_run_text *t, const cd_run_resolved *res, FILE *log, cd_error *e) {
  memset(st, 0, sizeof *st);
  st->classnames = res->classnames;
  st->model_checksum = res->model_checksum;
  st->cfg = cfg, st->cache = c, st->m = m, st->text = t, st->log = log;
  st->N = c->N, st->D = m->embed_dim, st->C = c->n_cls, st->n_attr = c->n_attr, st->K = t->n_attr_prompts;
  st->E = cfg->dims ? cfg->dims : st->D;
  st->G = cd_group_count_of(st->C, st->n_attr);
  st->G_pseudo = cd_group_count_of(st->C, st->K);
  if (c->D != st->D) return cd_fail(e, "cache features are %d wide, the model's embedding is %d", c->D, st->D);
  st->x = cd_malloc(sizeof(float) * (size_t)st->N * st->E, e);
  st->a_pseudo = cd_malloc(sizeof(int32_t) * (size_t)st->N, e);
  st->train_counts = cd_calloc((size_t)st->G, sizeof(int64_t), e);
  st->pseudo_counts = cd_calloc((size_t)st->G_pseudo, sizeof(int64_t), e);
  if (!st->x || !st->a_pseudo || !st->train_counts || !st->pseudo_counts || project_inputs(st, t, e)) return -1;
  if (st->K > 0) cd_pseudo_attributes(st->x, st->N, st->attr_feat, st->K, st->E, st->a_pseudo);
  if (gather_splits(st, e)) return -1;
  int n = st->n_rows[CD_SPLIT_TRAIN];
  st->g_true_train = cd_malloc(sizeof(int32_t) * (size_t)(n ? n : 1), e);
  st->g_pseudo_train = cd_malloc(sizeof(int32_t) * (size_t)(n ? n : 1), e);
  if (!st->g_true_train || !st->g_pseudo_train) return -1;
  cd_groups_assign(c->y, c->n_attr > 0 ? c->a : NULL, st->rows[CD_SPLIT_TRAIN], n, st->n_attr, st->g_true_train);
  cd_groups_assign(c->y, st->a_pseudo, st->rows[CD_SPLIT_TRAIN], n, st->K, st->g_pseudo_train);
  cd_groups_count(st->g_true_train, n, st->G, st->train_counts);
  cd_groups_count(st->g_pseudo_train, n, st->G_pseudo, st->pseudo_counts);
  cd_jtt_resolve(cfg->debias.jtt_epochs, cfg->debias.jtt_up, res->dataset, &st->jtt_epochs, &st->jtt_up);
  return check_inputs(st, e);
}

/* ---- files of the run ------------------------------------------------------------------ */

static int write_args(const cd_run_state *st, const cd_run_resolved *res, cd_error *e) {
  char path[4200], *buf = NULL;
  size_t len = 0;
  if (cd_path_join(path, sizeof path, st->cfg->out_dir, "args.json")) return cd_fail(e, "%s: path too long", st->cfg->out_dir);
  FILE *fp = open_memstream(&buf, &len);
  if (!fp) return cd_fail(e, "run: out of memory");
  cd_run_config_write_json(fp, st->cfg, res);
  fclose(fp);
  int rc = cd_file_exists(path) ? cd_run_config_check_resume(path, buf, e) : 0;
  if (!rc) rc = cd_write_file_atomic(path, buf, len, e);
  free(buf);
  return rc;
}

static int save_ints(const cd_run_state *st, const char *method, const char *name, const int32_t *v,
                     cd_error *e) {
  char path[4200];
  int64_t shape[1] = {st->N};
  if (cd_run_path(path, sizeof path, st, method, -1, name)) return cd_fail(e, "%s: path too long", st->cfg->out_dir);
  return cd_npy_save(path, CD_I32, 1, shape, v, e);
}

/* projection.npy: float32 [D,E], so a reduced run can be reproduced from its files. */
static int save_projection(const cd_run_state *st, cd_error *e) {
  char path[4200];
  int64_t shape[2] = {st->D, st->E};
  if (!st->P) return 0;
  if (cd_path_join(path, sizeof path, st->cfg->out_dir, "projection.npy")) return cd_fail(e, "%s: path too long", st->cfg->out_dir);
  return cd_npy_save(path, CD_F32, 2, shape, st->P, e);
}

/* The training-free methods: zeroshot always (its predictions go into the report), the
 * others when listed; their predictions [CD_METHOD_COUNT][N] and metrics lines. */
typedef struct {
  int32_t *pred[CD_METHOD_COUNT];
  char *lines[CD_METHOD_COUNT];
} text_results;

static void text_results_free(text_results *t) {
  for (int m = 0; m < CD_METHOD_COUNT; m++) free(t->pred[m]), free(t->lines[m]);
}

static int text_method(const cd_run_state *st, cd_method m, text_results *t, cd_error *e) {
  size_t len = 0;
  FILE *fp = open_memstream(&t->lines[m], &len);
  t->pred[m] = cd_malloc(sizeof(int32_t) * (size_t)st->N, e);
  if (!fp || !t->pred[m]) return fp ? (fclose(fp), -1) : cd_fail(e, "run: out of memory");
  int rc = cd_run_text_method(st, m, t->pred[m], fp, e);
  fclose(fp);
  return rc;
}

static int text_methods(const cd_run_state *st, text_results *t, cd_error *e) {
  memset(t, 0, sizeof *t);
  if (text_method(st, CD_METHOD_ZEROSHOT, t, e)) return -1;
  for (int k = 0; k < st->cfg->n_methods; k++) {
    cd_method m = st->cfg->methods[k];
    if (m != CD_METHOD_ZEROSHOT && cd_method_kind_of(m) == CD_KIND_TEXT && text_method(st, m, t, e)) return -1;
  }
  return 0;
}

static int pair_done(const cd_run_state *st, cd_method m, int seed) {
  char path[4200];
  return !cd_run_path(path, sizeof path, st, cd_method_name(m), seed, "done.json") && cd_file_exists(path);
}

static int append_file(FILE *out, const char *path, cd_error *e) {
  uint8_t *buf;
  size_t n;
  if (cd_file_read(path, (size_t)1 << 31, &buf, &n, e)) return -1;
  fwrite(buf, 1, n, out);
  free(buf);
  return 0;
}

/* metrics.jsonl = the training-free methods' lines + every finished pair's lines, in method
 * and seed order. */
static int write_metrics(const cd_run_state *st, char *const *text_lines, cd_error *e) {
  char path[4200], *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream(&buf, &len);
  if (!fp) return cd_fail(e, "run: out of memory");
  int rc = 0;
  for (int k = 0; k < st->cfg->n_methods && !rc; k++) {
    cd_method m = st->cfg->methods[k];
    int text = cd_method_kind_of(m) == CD_KIND_TEXT;
    if (text) fputs(text_lines[m], fp);
    for (int s = 0; s < st->cfg->n_seeds && !rc && !text; s++)
      if (pair_done(st, m, st->cfg->seeds[s]))
        rc = cd_run_path(path, sizeof path, st, cd_method_name(m), st->cfg->seeds[s], "metrics.jsonl") ||
             append_file(fp, path, e);
  }
  fclose(fp);
  if (!rc && cd_path_join(path, sizeof path, st->cfg->out_dir, "metrics.jsonl")) rc = cd_fail(e, "path too long");
  if (!rc) rc = cd_write_file_atomic(path, buf, len, e);
  free(buf);
  return rc ? -1 : 0;
}

/* A diverged pair: its message in the log, and "dpt seed 1 in epoch 3 (loss nan)" counted into
 * the run's closing error (diverged, cap bytes; *flag keeps the likely flag, "" when pairs
 * name different ones). */
static void note_diverged(const cd_run_state *st, cd_method m, int seed, const char *how, const cd_run_divergence *d,
                          char *diverged, size_t cap, int *n, char *flag, size_t flag_cap) {
  if (st->log) fprintf(st->log, "%-11s seed %-3d DIVERGED: %s%s\n", cd_method_name(m), seed, d->message, how);
  size_t len = strlen(diverged);
  char loss[40];
  if (isfinite(d->loss)) snprintf(loss, sizeof loss, "mean loss %g", d->loss);
  else snprintf(loss, sizeof loss, "loss not finite");
  snprintf(diverged + len, cap - len, "%s%s seed %d in epoch %d (%s)", *n ? ", " : "", cd_method_name(m), seed,
           d->epoch, loss);
  if (*n == 0) snprintf(flag, flag_cap, "%s", d->likely_flag);
  else if (strcmp(flag, d->likely_flag)) flag[0] = 0;
  (*n)++;
}

/* A run between its phases (run.h): its state, the training-free methods' results, RUN_DIR's
 * lock, and the diverged pairs so far (their messages joined into diverged, the likely flag
 * kept in flag: "" when pairs name different ones). */
struct cd_run_prepared {
  cd_run_state st;
  text_results tr;
  cd_outdir_lock lock;
  const cd_run_resolved *res;
  int n_diverged;
  char diverged[700], flag[256];
};

static void note(cd_run_prepared *r, cd_method m, int seed, const char *how, const cd_run_divergence *d) {
  note_diverged(&r->st, m, seed, how, d, r->diverged, sizeof r->diverged, &r->n_diverged, r->flag, sizeof r->flag);
}

/* A pair that has just diverged: its diverged.json into the run's closing error. */
static int note_new(cd_run_prepared *r, cd_method m, int seed, cd_error *e) {
  cd_run_divergence d;
  if (cd_run_pair_divergence(&r->st, m, seed, &d, e) != 1) return -1;
  note(r, m, seed, "", &d);
  return 0;
}

/* Pairs trained in lockstep: every prompt-tuned pair of the run, unless --lockstep off (JTT's
 * first stages train in lockstep before the group). */
static int in_lockstep(const cd_run_config *c, cd_method m) {
  return c->lockstep && c->head == CD_HEAD_PROMPT && cd_method_kind_of(m) == CD_KIND_TUNE;
}

/* The run's pairs that train alone: finished ones reused, diverged ones (diverged.json) kept
 * as diverged, the others trained (or fitted: dfr); the pairs for the lockstep group are
 * appended to st, lm, ls (*n of them). */
static int train_alone(cd_run_prepared *r, const cd_run_state **st, cd_method *lm, int *ls, int *n, cd_error *e) {
  const cd_run_config *c = r->st.cfg;
  for (int k = 0; k < c->n_methods; k++) {
    cd_method m = c->methods[k];
    cd_method_kind kind = cd_method_kind_of(m);
    if (kind == CD_KIND_TEXT) continue;
    for (int s = 0; s < c->n_seeds; s++) {
      int seed = c->seeds[s];
      cd_run_divergence d;
      int was = cd_run_pair_divergence(&r->st, m, seed, &d, e);
      if (was < 0) return -1;
      if (was) {
        note(r, m, seed, " [earlier: kept from diverged.json; remove that folder to train the pair again]", &d);
        continue;
      }
      if (pair_done(&r->st, m, seed)) {
        if (r->st.log) fprintf(r->st.log, "%-11s seed %-3d finished earlier (done.json): reused\n", cd_method_name(m), seed);
        continue;
      }
      if (in_lockstep(c, m)) {
        st[*n] = &r->st, lm[*n] = m, ls[(*n)++] = seed;
        continue;
      }
      int rc = kind == CD_KIND_FIT ? cd_run_fit_pair(&r->st, m, seed, e) : cd_run_pair(&r->st, m, seed, e);
      if (rc == CD_RUN_DIVERGED ? note_new(r, m, seed, e) : rc || write_metrics(&r->st, r->tr.lines, e)) return -1;
    }
  }
  return 0;
}

int cd_run_train(cd_run_prepared *const *r, int n, int *rc, cd_error *errs) {
  size_t cap = (size_t)n * CD_METHOD_COUNT * CD_RUN_MAX_LIST;
  cd_error e;
  const cd_run_state **st = cd_malloc(sizeof *st * cap, &e);
  cd_method *lm = cd_malloc(sizeof *lm * cap, &e);
  int *ls = cd_malloc(sizeof *ls * cap, &e), *status = cd_malloc(sizeof *status * cap, &e);
  int *owner = cd_malloc(sizeof *owner * cap, &e), k = 0, bad = 0;
  for (int i = 0; i < n; i++) rc[i] = st && lm && ls && status && owner ? 0 : (errs[i] = e, -1);
  for (int i = 0; i < n; i++) {
    int k0 = k;
    if (!rc[i] && (rc[i] = train_alone(r[i], st, lm, ls, &k, &errs[i]))) k = k0;
    for (int j = k0; j < k; j++) owner[j] = i;
  }
  cd_error *perr = k ? cd_malloc(sizeof *perr * (size_t)k, &e) : NULL; /* the lockstep pairs' errors */
  for (int j = 0; j < k && !perr; j++)
    if (!rc[owner[j]]) rc[owner[j]] = -1, errs[owner[j]] = e;
  if (!perr) k = 0;
  if (k == 1) /* nothing to share a step with */
    status[0] = cd_run_pair(st[0], lm[0], ls[0], &perr[0]);
  else if (k > 1)
    cd_run_pairs_lockstep(st, lm, ls, k, status, perr);
  for (int j = 0; j < k; j++) { /* a run's first failed pair names its error */
    int i = owner[j];
    if (!rc[i] && status[j] != 0 && status[j] != CD_RUN_DIVERGED) rc[i] = -1, errs[i] = perr[j];
  }
  for (int j = 0; j < k; j++)
    if (!rc[owner[j]] && status[j] == CD_RUN_DIVERGED && note_new(r[owner[j]], lm[j], ls[j], &errs[owner[j]]))
      rc[owner[j]] = -1;
  for (int i = 0; i < n; i++) {
    int had = 0;
    for (int j = 0; j < k; j++) had |= owner[j] == i;
    if (had && !rc[i]) rc[i] = write_metrics(&r[i]->st, r[i]->tr.lines, &errs[i]);
    bad |= rc[i] != 0;
  }
  free(st), free(lm), free(ls), free(status), free(owner), free(perr);
  return bad ? -1 : 0;
}

cd_run_prepared *cd_run_prepare(const cd_run_config *c, const cd_feature_cache *cache, const cd_clip *m,
                                const cd_run_text *text, const cd_run_resolved *res, FILE *log, cd_error *e) {
  double t0 = cd_time_now();
  cd_run_prepared *r = cd_calloc(1, sizeof *r, e);
  if (!r) return NULL;
  r->res = res;
  /* RUN_DIR's lock: held already when called through cd_run; taken here for other callers */
  if (cd_outdir_lock_write(&r->lock, c->out_dir, "run", e)) return free(r), NULL;
  if (state_init(&r->st, c, cache, m, text, res, log, e) || cd_make_dirs(c->out_dir, e) || write_args(&r->st, res, e) ||
      cd_run_load_elapsed(&r->st, e) || save_ints(&r->st, ".", "a_pseudo.npy", r->st.a_pseudo, e) ||
      save_projection(&r->st, e)) {
    cd_run_prepared_free(r);
    return NULL;
  }
  r->st.t0 = t0;
  if (text_methods(&r->st, &r->tr, e)) {
    cd_run_prepared_free(r);
    return NULL;
  }
  return r;
}

int cd_run_finish(cd_run_prepared *r, cd_error *e) {
  const cd_run_config *c = r->st.cfg;
  if (write_metrics(&r->st, r->tr.lines, e)) return -1;
  cd_run_results results;
  if (cd_run_results_collect(&r->st, (int32_t *const *)r->tr.pred, &results, e)) return -1;
  double wall = cd_run_wall_seconds(&r->st);
  int rc = cd_run_write_elapsed(&r->st, wall, e) || cd_run_results_write(&r->st, r->res, &results, wall, e) ? -1 : 0;
  if (!rc && r->st.log) cd_run_results_print(r->st.log, &r->st, r->res, &results);
  cd_run_results_free(&results);
  int n = r->n_diverged;
  if (!rc && n) {
    int trained = 0;
    for (int k = 0; k < c->n_methods; k++) trained += c->methods[k] != CD_METHOD_ZEROSHOT ? c->n_seeds : 0;
    rc = CD_RUN_DIVERGED;
    cd_fail(e, "training diverged for %d (method, seed) pair%s: %s%s%s; marked \"diverged\" in %s/results.json, %s", n,
            n > 1 ? "s" : "", r->diverged, r->flag[0] ? "; likely " : "", r->flag, c->out_dir,
            n < trained ? "the other pairs finished" : "no trained pair finished");
  }
  return rc;
}

void cd_run_prepared_free(cd_run_prepared *r) {
  if (!r) return;
  text_results_free(&r->tr);
  state_free(&r->st);
  cd_outdir_unlock(&r->lock);
  free(r);
}

int cd_run_execute(const cd_run_config *c, const cd_feature_cache *cache, const cd_clip *m,
                   const cd_run_text *text, const cd_run_resolved *res, FILE *log, cd_error *e) {
  cd_run_prepared *r = cd_run_prepare(c, cache, m, text, res, log, e);
  int rc = -1;
  if (r && !cd_run_train(&r, 1, &rc, e)) rc = cd_run_finish(r, e);
  cd_run_prepared_free(r);
  return rc;
}
