/* Discovery (see discover.h): the classifier's errors, the candidates' prompts, B2T's score
 * per class, the class filter, the ranking and the proposed attribute prompts. */
#include "models/discover/discover.h"

#include <ctype.h>
#include <stdatomic.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/pool.h"
#include "core/progress.h"
#include "data/text/tokenizer.h"
#include "models/debias/eval.h"
#include "models/debias/zeroshot.h"
#include "models/embed/embed_dataset.h"
#include "models/debias/train_job.h"

void cd_discover_opts_default(cd_discover_opts *o) {
  memset(o, 0, sizeof *o);
  o->attr_template = "a photo of {}.";
  o->errors = CD_DISCOVER_ZEROSHOT;
  o->split = 0;
  o->class_filter = NAN;
  o->top = 5;
  o->thumbs = 6;
  o->erm_epochs = 10;
}

int cd_discover_errors_parse(const char *s) {
  if (!strcmp(s, "zeroshot")) return CD_DISCOVER_ZEROSHOT;
  if (!strcmp(s, "erm")) return CD_DISCOVER_ERM;
  return -1;
}

const char *cd_discover_errors_name(cd_discover_errors k) { return k == CD_DISCOVER_ERM ? "erm" : "zeroshot"; }

void cd_discover_result_free(cd_discover_result *r) {
  for (int i = 0; i < r->n_cand; i++) free(r->cand[i].word), free(r->cand[i].class_score);
  for (int c = 0; c < r->C && r->classnames; c++) free(r->classnames[c]);
  for (int k = 0; k < r->n_values && r->attr_prompts; k++) free(r->attr_prompts[k]);
  free(r->cand), free(r->classnames), free(r->n_wrong), free(r->n_right), free(r->attr_template);
  free(r->words_path), free(r->value_cand), free(r->value_class), free(r->attr_prompts);
  free(r->top_images), free(r->top_cand), free(r->top_wrong);
  memset(r, 0, sizeof *r);
}

/* ---- the classifier whose errors are read ------------------------------------------------ */

static void argmax_rows(const float *x, int N, const float *t, int C, int E, int32_t *pred) {
  cd_pseudo_attributes(x, N, t, C, E, pred); /* the same argmax of cosines */
}

/* Quick ERM: `run`'s linear probe (initialised from the zero-shot classifier), uniform
 * weights, erm_epochs epochs on the training split, seed 0, SGD with momentum 0.9 at a learning
 * rate of 1% of the logit scale (the probe's weights start at logit_scale x the class features,
 * so CoOp's 0.002 would leave them where they are), cosine schedule, no warm-up. */
static int erm_predict(const cd_run_inputs *in, const float *x, const float *class_feat, int erm_epochs,
                       int32_t *pred, cd_error *e) {
  const cd_feature_cache *c = &in->cache;
  int E = c->D, n = 0;
  for (int i = 0; i < c->N; i++) n += c->split[i] == 0;
  if (n == 0) return cd_fail(e, "--errors erm needs training rows; the cache has none");
  float *xt = cd_malloc(sizeof(float) * (size_t)n * E, e);
  int32_t *yt = cd_malloc(sizeof(int32_t) * (size_t)n, e);
  if (!xt || !yt) return free(xt), free(yt), -1;
  for (int i = 0, k = 0; i < c->N; i++)
    if (c->split[i] == 0) memcpy(xt + (size_t)k * E, x + (size_t)i * E, sizeof(float) * E), yt[k++] = c->y[i];
  cd_train_job_config jc = {0};
  jc.x = xt, jc.y = yt, jc.N = n;
  jc.head = CD_HEAD_LINEAR, jc.m = &in->model, jc.class_feat = class_feat, jc.E = E, jc.prompt.n_cls = c->n_cls;
  cd_optim_config_default(&jc.optim);
  jc.optim.max_epoch = erm_epochs;
  jc.optim.lr = 0.01 * exp(in->model.logit_scale_log);
  jc.optim.warmup_epochs = 0;
  jc.optim.weight_decay = 0;
  jc.batch = 32;
  jc.progress_label = "discover: quick ERM";
  cd_train_job j;
  int rc = cd_train_job_init(&j, &jc, e);
  if (!rc) {
    rc = cd_train_job_begin(&j, 0, e) || cd_train_job_run(&j, e) || cd_head_predict_rows(&j.head, x, c->N, pred, NULL, e);
    cd_train_job_free(&j);
  }
  free(xt), free(yt);
  return rc ? -1 : 0;
}

/* ---- candidate prompts ----------------------------------------------------------------- */

/* Tokenizes every candidate's prompt (naming the file line of one that cannot be encoded),
 * then encodes them in batches, normalised: t [n, E]. */
static int encode_candidates(const cd_clip *m, const char *tmpl, char *const *words, const int *lines, int n,
                             const char *path, float *t, cd_error *e) {
  int L = m->text.context, B = 256, rc = 0;
  int32_t *tok = cd_calloc((size_t)n * L, sizeof(int32_t), e);
  if (!tok) return -1;
  for (int i = 0; i < n && !rc; i++) {
    char *p = cd_template_fill(tmpl, words[i], e);
    if (!p) rc = -1;
    else if (cd_tokenize(m->tokenizer, p, L, 0, tok + (size_t)i * L, e))
      rc = cd_fail(e, "%s: line %d: the model's tokenizer cannot encode \"%s\" (%s)", path, lines[i], words[i], e->msg);
    free(p);
  }
  cd_progress pg;
  cd_progress_start(&pg, "discover: encoding candidates", "prompt", (size_t)n);
  for (int i = 0; i < n && !rc; i += B) {
    int b = n - i < B ? n - i : B;
    rc = cd_clip_encode_text(m, tok + (size_t)i * L, b, t + (size_t)i * m->embed_dim, e);
    cd_progress_update(&pg, (size_t)(i + b));
  }
  cd_progress_finish(&pg);
  free(tok);
  if (!rc) cd_l2_normalize_rows(t, n, m->embed_dim);
  return rc ? -1 : 0;
}

/* ---- scores ---------------------------------------------------------------------------- */

typedef struct {
  const float *x;            /* [N, E] normalised */
  const int32_t *y, *split, *pred;
  int N, E, C, split_k;
  const int64_t *n_wrong, *n_right, *n_train; /* [C] */
} score_inputs;

static double dot(const float *a, const float *b, int E) {
  double s = 0;
  for (int d = 0; d < E; d++) s += (double)a[d] * b[d];
  return s;
}

/* What ranks a candidate for class c: its class score times its separation of the classes on
 * the training split. A spurious attribute shows in the class's errors and goes with the class
 * in training; a word that only tells the failing images apart (a colour or species that
 * happens to be commoner among a few errors) barely separates the classes. */
static double rank_key(const cd_discover_cand *cd, int c) {
  double sep = isfinite(cd->separation) && cd->separation > 0 ? cd->separation : 0;
  return cd->class_score[c] * sep;
}

/* B2T's class scores, the training separation and the associated class of one candidate. */
static void score_candidate(const score_inputs *in, const float *t, const float *tr, cd_discover_cand *cd,
                            double *acc) {
  int C = in->C;
  double *wsum = acc, *rsum = acc + C, *tsum = acc + 2 * C, *tsq = acc + 3 * C, *bw = acc + 4 * C, *br = acc + 5 * C;
  memset(acc, 0, sizeof(double) * 6 * (size_t)C);
  for (int i = 0; i < in->N; i++) {
    int s = in->split[i], y = in->y[i];
    if (s != 0 && s != in->split_k) continue;
    const float *xi = in->x + (size_t)i * in->E;
    double v = dot(xi, tr, in->E);
    if (s == in->split_k) {
      double raw = dot(xi, t, in->E);
      (in->pred[i] == y ? rsum : wsum)[y] += v;
      (in->pred[i] == y ? br : bw)[y] += raw;
    }
    if (s == 0) tsum[y] += v, tsq[y] += v * v;
  }
  for (int c = 0; c < C; c++) {
    int ok = in->n_wrong[c] && in->n_right[c];
    cd->class_score[c] = ok ? 100.0 * (wsum[c] / in->n_wrong[c] - rsum[c] / in->n_right[c]) : NAN;
    cd->b2t_score[c] = ok ? 100.0 * (bw[c] / in->n_wrong[c] - br[c] / in->n_right[c]) : NAN;
  }
  /* Cohen's d of the class with the highest mean training similarity against the rest */
  double all = 0, allsq = 0, best = -INFINITY;
  int64_t n_all = 0;
  cd->assoc_class = -1;
  for (int c = 0; c < C; c++) {
    all += tsum[c], allsq += tsq[c], n_all += in->n_train[c];
    if (in->n_train[c] && tsum[c] / in->n_train[c] > best) best = tsum[c] / in->n_train[c], cd->assoc_class = c;
  }
  cd->separation = NAN;
  int a = cd->assoc_class;
  if (a >= 0 && n_all > in->n_train[a] && n_all > 1) {
    double rest = (all - tsum[a]) / (double)(n_all - in->n_train[a]);
    double var = (allsq - all * all / n_all) / (double)(n_all - 1);
    cd->separation = var > 0 ? (best - rest) / sqrt(var) : 0;
  }
  cd->score = -INFINITY, cd->best_class = -1;
  for (int c = 0; c < C; c++) {
    double k = rank_key(cd, c);
    if (isfinite(k) && k > cd->score) cd->score = k, cd->best_class = c;
  }
  if (cd->best_class < 0) cd->score = NAN;
}

typedef struct {
  const score_inputs *in;
  const float *t, *tr;
  cd_discover_cand *cand;
  double *acc; /* 6 C doubles per worker */
  cd_progress *pg;
  _Atomic size_t done;
} score_job;

/* Candidate k with the worker's accumulators; only the calling thread (worker 0) draws the
 * progress line, so the terminal needs no lock. */
static void score_item(void *ctx, int k, int worker) {
  score_job *j = ctx;
  score_candidate(j->in, j->t + (size_t)k * j->in->E, j->tr + (size_t)k * j->in->E, &j->cand[k],
                  j->acc + (size_t)worker * 6 * j->in->C);
  size_t done = atomic_fetch_add(&j->done, 1) + 1;
  if (worker == 0 && j->pg->enabled && (k & 63) == 0) cd_progress_update(j->pg, done);
}

static int score_all(const score_inputs *in, const float *t, const float *tr, cd_discover_cand *cand, int n,
                     cd_error *e) {
  int nt = cd_threads_get();
  double *acc = malloc(sizeof(double) * 6 * (size_t)in->C * (size_t)nt);
  if (!acc) return cd_fail(e, "discover: out of memory");
  cd_progress pg;
  cd_progress_start(&pg, "discover: scoring", "word", (size_t)n);
  score_job j = {in, t, tr, cand, acc, &pg, 0};
  cd_pool_run(n, nt, score_item, &j);
  cd_progress_finish(&pg);
  free(acc);
  return 0;
}

/* ---- class filter ---------------------------------------------------------------------- */

/* 1 when word contains name as a whole word (case-insensitive), or name contains word so. */
static int contains_word(const char *hay, const char *needle) {
  size_t n = strlen(needle);
  if (!n) return 0;
  for (const char *p = hay; *p; p++) {
    if (strncasecmp(p, needle, n)) continue;
    int left = p == hay || !isalnum((unsigned char)p[-1]), right = !isalnum((unsigned char)p[n]);
    if (left && right) return 1;
  }
  return 0;
}

/* tr [n, E] = each candidate's prompt feature with its component in the span of the class
 * prompts removed, not renormalised (what the word says besides the classes); class_sim = the
 * cosine of the prompt with that span. A word whose prompt lies (almost) in the span says
 * nothing but the classes: filtered, as is one that names a class. */
static int class_filter(cd_discover_result *r, const float *t, float *tr, const float *class_feat, int E,
                        double threshold, cd_error *e) {
  int C = r->C;
  double *q = cd_malloc(sizeof(double) * (size_t)C * E, e);
  if (!q) return -1;
  int rank = 0; /* Gram-Schmidt basis of the class prompts */
  for (int c = 0; c < C; c++) {
    double *v = q + (size_t)rank * E, nrm = 0;
    for (int d = 0; d < E; d++) v[d] = class_feat[(size_t)c * E + d];
    for (int j = 0; j < rank; j++) {
      double p = 0;
      for (int d = 0; d < E; d++) p += v[d] * q[(size_t)j * E + d];
      for (int d = 0; d < E; d++) v[d] -= p * q[(size_t)j * E + d];
    }
    for (int d = 0; d < E; d++) nrm += v[d] * v[d];
    if (nrm > 1e-12) {
      for (int d = 0; d < E; d++) v[d] /= sqrt(nrm);
      rank++;
    }
  }
  r->threshold = isnan(threshold) ? 0.97 : threshold;
  for (int k = 0; k < r->n_cand; k++) {
    cd_discover_cand *cd = &r->cand[k];
    const float *tk = t + (size_t)k * E;
    float *rk = tr + (size_t)k * E;
    double res = 0, best = -INFINITY;
    for (int d = 0; d < E; d++) rk[d] = tk[d];
    for (int j = 0; j < rank; j++) {
      double p = 0;
      for (int d = 0; d < E; d++) p += (double)tk[d] * q[(size_t)j * E + d];
      for (int d = 0; d < E; d++) rk[d] -= (float)(p * q[(size_t)j * E + d]);
    }
    for (int d = 0; d < E; d++) res += (double)rk[d] * rk[d];
    cd->residual = sqrt(res);
    cd->class_sim = sqrt(res < 1 ? 1 - res : 0);
    for (int c = 0; c < C; c++) {
      double s = dot(tk, class_feat + (size_t)c * E, E);
      if (s > best) best = s, cd->class_sim_cls = c;
      if (contains_word(cd->word, r->classnames[c]) || contains_word(r->classnames[c], cd->word)) cd->names_class = 1;
    }
    cd->filtered = cd->names_class || cd->class_sim >= r->threshold;
  }
  free(q);
  return 0;
}

/* ---- ranking and proposal --------------------------------------------------------------- */

static int by_score(const void *pa, const void *pb) {
  const cd_discover_cand *a = pa, *b = pb;
  int fa = isfinite(a->score), fb = isfinite(b->score);
  if (fa != fb) return fb - fa;
  if (fa && a->score != b->score) return a->score > b->score ? -1 : 1;
  return a->line - b->line;
}

/* The best unfiltered candidates of class c by its class score: idx [top], -1 padded. */
static void top_of_class(const cd_discover_result *r, int c, int top, int *idx) {
  for (int j = 0; j < top; j++) idx[j] = -1;
  for (int k = 0; k < r->n_cand; k++) {
    const cd_discover_cand *cd = &r->cand[k];
    double s = rank_key(cd, c);
    if (cd->filtered || !isfinite(s)) continue;
    for (int j = 0; j < top; j++) {
      if (idx[j] >= 0 && rank_key(&r->cand[idx[j]], c) >= s) continue;
      memmove(idx + j + 1, idx + j, sizeof(int) * (size_t)(top - j - 1));
      idx[j] = k;
      break;
    }
  }
}

static int propose(cd_discover_result *r, const char *tmpl, cd_error *e) {
  int C = r->C;
  r->value_cand = cd_malloc(sizeof(int) * (size_t)C, e);
  r->value_class = cd_malloc(sizeof(int) * (size_t)C, e);
  r->attr_prompts = cd_calloc((size_t)C, sizeof(char *), e);
  if (!r->value_cand || !r->value_class || !r->attr_prompts) return -1;
  for (int c = 0; c < C; c++) {
    int best = -1;
    for (int k = 0; k < r->n_cand; k++) {
      const cd_discover_cand *cd = &r->cand[k];
      int taken = 0;
      for (int v = 0; v < r->n_values; v++) taken |= r->value_cand[v] == k;
      if (cd->filtered || taken || !(rank_key(cd, c) > 0)) continue;
      if (best < 0 || rank_key(cd, c) > rank_key(&r->cand[best], c)) best = k;
    }
    if (best >= 0) r->value_cand[r->n_values] = best, r->value_class[r->n_values++] = c;
  }
  /* value k goes with the class its word is most similar to on the training split */
  for (int i = 1; i < r->n_values; i++)
    for (int j = i; j > 0 && r->cand[r->value_cand[j]].assoc_class < r->cand[r->value_cand[j - 1]].assoc_class; j--) {
      int t = r->value_cand[j];
      r->value_cand[j] = r->value_cand[j - 1], r->value_cand[j - 1] = t;
      t = r->value_class[j], r->value_class[j] = r->value_class[j - 1], r->value_class[j - 1] = t;
    }
  for (int v = 0; v < r->n_values; v++)
    if (!(r->attr_prompts[v] = cd_template_fill(tmpl, r->cand[r->value_cand[v]].word, e))) return -1;
  return 0;
}

int cd_discover_check_values(const cd_discover_result *r, cd_error *e) {
  if (r->n_values >= 2) return 0;
  return cd_fail(e, "discovery found %d attribute value%s (a word with a positive score for a class's errors that does not "
                    "describe a class); at least 2 are needed: try a larger vocabulary, --errors erm or --split val",
                 r->n_values, r->n_values == 1 ? "" : "s");
}

/* For each class, its top candidates and the class's images of the split most similar to each. */
static int top_images(cd_discover_result *r, const score_inputs *in, const float *t, cd_error *e) {
  int C = r->C, T = r->top, H = r->thumbs;
  r->top_cand = cd_malloc(sizeof(int) * (size_t)C * T, e);
  r->top_images = cd_malloc(sizeof(int) * (size_t)C * T * (H ? H : 1), e);
  r->top_wrong = cd_calloc((size_t)C * T * (H ? H : 1), 1, e);
  double *best = cd_malloc(sizeof(double) * (size_t)(H ? H : 1), e);
  if (!r->top_cand || !r->top_images || !r->top_wrong || !best) return free(best), -1;
  for (int c = 0; c < C; c++) {
    top_of_class(r, c, T, r->top_cand + (size_t)c * T);
    for (int j = 0; j < T; j++) {
      int k = r->top_cand[(size_t)c * T + j], *img = r->top_images + ((size_t)c * T + j) * H;
      for (int h = 0; h < H; h++) img[h] = -1, best[h] = -INFINITY;
      if (k < 0) continue;
      const float *tw = t + (size_t)k * in->E;
      for (int i = 0; i < in->N; i++) {
        if (in->split[i] != in->split_k || in->y[i] != c) continue;
        double v = dot(in->x + (size_t)i * in->E, tw, in->E);
        for (int h = 0; h < H; h++) {
          if (img[h] >= 0 && best[h] >= v) continue;
          memmove(img + h + 1, img + h, sizeof(int) * (size_t)(H - h - 1));
          memmove(best + h + 1, best + h, sizeof(double) * (size_t)(H - h - 1));
          img[h] = i, best[h] = v;
          break;
        }
      }
      for (int h = 0; h < H; h++) r->top_wrong[((size_t)c * T + j) * H + h] = img[h] >= 0 && in->pred[img[h]] != c;
    }
  }
  free(best);
  return 0;
}

/* ---- the whole discovery ----------------------------------------------------------------- */

static int setup_result(cd_discover_result *r, const cd_run_inputs *in, const cd_discover_opts *o, const char *words,
                        cd_error *e) {
  r->C = in->n_cls;
  r->split = o->split, r->errors = o->errors, r->top = o->top, r->thumbs = o->thumbs;
  r->classnames = cd_calloc((size_t)r->C, sizeof(char *), e);
  r->n_wrong = cd_calloc((size_t)r->C, sizeof(int64_t), e);
  r->n_right = cd_calloc((size_t)r->C, sizeof(int64_t), e);
  r->attr_template = strdup(o->attr_template);
  r->words_path = strdup(words);
  if (!r->classnames || !r->n_wrong || !r->n_right || !r->attr_template || !r->words_path) return cd_fail(e, "discover: out of memory");
  for (int c = 0; c < r->C; c++)
    if (!(r->classnames[c] = strdup(in->classnames[c]))) return cd_fail(e, "discover: out of memory");
  return 0;
}

/* Counts of wrong and right images per class on the split; warns about a class without
 * either and fails when no class has both. */
static int count_errors(cd_discover_result *r, const score_inputs *si, const char *cache_dir, FILE *log, cd_error *e) {
  const char *split = r->split ? "val" : "train", *by = cd_discover_errors_name(r->errors);
  int usable = 0;
  for (int i = 0; i < si->N; i++)
    if (si->split[i] == si->split_k) (si->pred[i] == si->y[i] ? r->n_right : r->n_wrong)[si->y[i]]++;
  for (int c = 0; c < r->C; c++) {
    if (r->n_wrong[c] && r->n_right[c]) {
      usable++;
      continue;
    }
    if (log)
      fprintf(log, "warning: class '%s' has %s %s images under %s predictions (%lld %s images): its scores are left out\n",
              r->classnames[c], r->n_wrong[c] ? "no correctly classified" : "no misclassified", split, by,
              (long long)(r->n_wrong[c] + r->n_right[c]), split);
  }
  if (!usable)
    return cd_fail(e, "%s: no class has both misclassified and correctly classified %s images under %s predictions "
                      "(nothing to compare; try --errors %s or --split %s)",
                   cache_dir, split, by, r->errors ? "zeroshot" : "erm", r->split ? "train" : "val");
  return 0;
}

int cd_discover(const cd_run_inputs *in, const char *cache_dir, const cd_discover_opts *o, cd_discover_result *r,
                FILE *log, cd_error *e) {
  memset(r, 0, sizeof *r);
  const cd_feature_cache *c = &in->cache;
  const cd_clip *m = &in->model;
  char words_path[4096];
  if (o->words) snprintf(words_path, sizeof words_path, "%s", o->words);
  else if (cd_discover_words_default(words_path, sizeof words_path))
    return cd_fail(e, "the shipped vocabulary models/discover/words.txt was not found (set CLIPDEBIAS_WORDS or give --words FILE)");
  int E = m->embed_dim, N = c->N, n = 0, *lines = NULL, rc = -1;
  char **words = NULL;
  float *x = NULL, *t = NULL, *tr = NULL, *class_feat = NULL;
  int32_t *pred = NULL;
  int64_t *n_train = NULL;
  if (cd_discover_words_load(words_path, &words, &lines, &n, e) || setup_result(r, in, o, words_path, e)) goto done;
  snprintf(r->cache_dir, sizeof r->cache_dir, "%s", cache_dir);
  snprintf(r->model_path, sizeof r->model_path, "%s", m->path);
  cd_discover_cache_fingerprint(c, r->cache_fingerprint);
  cd_model_checksum(m, r->model_checksum);
  x = cd_cache_normalized(c, e);
  t = cd_malloc(sizeof(float) * (size_t)n * E, e);
  class_feat = cd_malloc(sizeof(float) * (size_t)r->C * E, e);
  pred = cd_malloc(sizeof(int32_t) * (size_t)N, e);
  n_train = cd_calloc((size_t)r->C, sizeof(int64_t), e);
  if (!x || !t || !class_feat || !pred || !n_train) goto done;
  for (int i = 0; i < N; i++) n_train[c->y[i]] += c->split[i] == 0;
  if (cd_zeroshot_class_features(m, in->classnames, r->C, in->templates, in->n_templates, class_feat, e)) goto done;
  if (o->errors == CD_DISCOVER_ERM ? erm_predict(in, x, class_feat, o->erm_epochs, pred, e) : 0) goto done;
  if (o->errors == CD_DISCOVER_ZEROSHOT) argmax_rows(x, N, class_feat, r->C, E, pred);
  score_inputs si = {x, c->y, c->split, pred, N, E, r->C, o->split, r->n_wrong, r->n_right, n_train};
  if (count_errors(r, &si, cache_dir, log, e)) goto done;
  if (encode_candidates(m, o->attr_template, words, lines, n, words_path, t, e)) goto done;
  if (!(r->cand = cd_calloc((size_t)n, sizeof *r->cand, e))) goto done;
  for (int k = 0; k < n; k++) {
    r->cand[k].word = words[k], words[k] = NULL, r->cand[k].line = lines[k], r->cand[k].index = k;
    r->n_cand = k + 1;
    if (!(r->cand[k].class_score = cd_malloc(sizeof(double) * 2 * (size_t)r->C, e))) goto done;
    r->cand[k].b2t_score = r->cand[k].class_score + r->C;
  }
  if (!(tr = cd_malloc(sizeof(float) * (size_t)n * E, e)) || class_filter(r, t, tr, class_feat, E, o->class_filter, e) ||
      score_all(&si, t, tr, r->cand, n, e))
    goto done;
  /* rank, keeping the prompt features in the same order */
  qsort(r->cand, (size_t)n, sizeof *r->cand, by_score);
  float *ranked = cd_malloc(sizeof(float) * (size_t)n * E, e);
  if (!ranked) goto done;
  for (int k = 0; k < n; k++) memcpy(ranked + (size_t)k * E, tr + (size_t)r->cand[k].index * E, sizeof(float) * E);
  free(tr), tr = ranked;
  rc = propose(r, o->attr_template, e) || top_images(r, &si, tr, e) ? -1 : 0;
done:
  for (int k = 0; k < n && words; k++) free(words[k]);
  free(words), free(lines), free(x), free(t), free(tr), free(class_feat), free(pred), free(n_train);
  if (rc) {
    cd_error keep = *e;
    cd_discover_result_free(r);
    *e = keep;
  }
  return rc;
}
