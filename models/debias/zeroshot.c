/* Zero-shot classification and pseudo attributes (see zeroshot.h). */
#include "models/debias/zeroshot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"

int cd_text_features(const cd_clip *m, const char *const *texts, int n, float *out, cd_error *e) {
  if (!m->tokenizer) return cd_fail(e, "%s: zero-shot prompts need the model's tokenizer", m->path);
  int L = m->text.context;
  int32_t *tok = cd_calloc((size_t)n * L, sizeof(int32_t), e);
  if (!tok) return -1;
  for (int i = 0; i < n; i++)
    if (cd_tokenize(m->tokenizer, texts[i], L, 0, tok + (size_t)i * L, e)) {
      free(tok);
      return cd_fail_prefix(e, "prompt \"%s\"", texts[i]);
    }
  int rc = cd_clip_encode_text(m, tok, n, out, e);
  free(tok);
  if (!rc) cd_l2_normalize_rows(out, n, m->embed_dim);
  return rc;
}

char *cd_template_fill(const char *t, const char *name, cd_error *e) {
  const char *at = strstr(t, "{}");
  if (!at || strstr(at + 2, "{}")) {
    cd_fail(e, "template \"%s\" must contain \"{}\" exactly once (where the class name goes)", t);
    return NULL;
  }
  size_t n = strlen(t) + strlen(name) + 1;
  char *s = cd_malloc(n, e);
  if (s) snprintf(s, n, "%.*s%s%s", (int)(at - t), t, name, at + 2);
  return s;
}

int cd_zeroshot_class_features(const cd_clip *m, char *const *classnames, int n_cls,
                               const char *const *templates, int n_templates, float *out,
                               cd_error *e) {
  int E = m->embed_dim;
  if (n_templates < 1) return cd_fail(e, "zero-shot: no template");
  char **texts = cd_calloc((size_t)n_templates, sizeof(char *), e);
  float *f = cd_malloc(sizeof(float) * (size_t)n_templates * E, e);
  int rc = texts && f ? 0 : -1;
  for (int c = 0; c < n_cls && !rc; c++) {
    for (int t = 0; t < n_templates && !rc; t++)
      if (!(texts[t] = cd_template_fill(templates[t], classnames[c], e))) rc = -1;
    if (!rc) rc = cd_text_features(m, (const char *const *)texts, n_templates, f, e);
    for (int t = 0; t < n_templates; t++) free(texts[t]), texts[t] = NULL;
    for (int d = 0; d < E && !rc; d++) {
      double s = 0; /* mean over templates, in template order */
      for (int t = 0; t < n_templates; t++) s += f[(size_t)t * E + d];
      out[(size_t)c * E + d] = (float)(s / n_templates);
    }
  }
  if (!rc) cd_l2_normalize_rows(out, n_cls, E);
  free(texts);
  free(f);
  return rc;
}

typedef struct {
  const float *x, *t;
  int K, E;
  int32_t *a;
} pseudo_job;

/* Rows [i0, i1): each row's nearest attribute prompt. */
static void pseudo_rows(void *ctx, size_t i0, size_t i1, int worker) {
  const pseudo_job *j = ctx;
  int E = j->E;
  for (size_t i = i0; i < i1; i++) {
    double best = -INFINITY;
    int arg = 0;
    for (int k = 0; k < j->K; k++) {
      double s = 0;
      for (int d = 0; d < E; d++) s += (double)j->x[(size_t)i * E + d] * j->t[(size_t)k * E + d];
      if (s > best) best = s, arg = k;
    }
    j->a[i] = arg;
  }
}

void cd_pseudo_attributes(const float *x, int N, const float *t, int K, int E, int32_t *a) {
  pseudo_job j = {x, t, K, E, a};
  cd_pool_range((size_t)(N > 0 ? N : 0), 16, (long long)N * K * E > 1 << 16 ? 0 : 1, pseudo_rows, &j);
}

void cd_pseudo_stats_free(cd_pseudo_stats *s) {
  free(s->cls_n);
  memset(s, 0, sizeof *s);
}

int cd_pseudo_stats_compute(cd_pseudo_stats *s, const int32_t *pseudo, const int32_t *a_true,
                            const int32_t *y, const int *rows, int n, int n_cls, int n_attr,
                            cd_error *e) {
  memset(s, 0, sizeof *s);
  s->n_cls = n_cls;
  s->n_attr = n_attr;
  s->cls_n = cd_calloc((size_t)2 * n_cls + (size_t)n_attr * n_attr, sizeof(int64_t), e);
  if (!s->cls_n) return -1;
  s->cls_correct = s->cls_n + n_cls;
  s->confusion = s->cls_correct + n_cls;
  for (int i = 0; i < n && a_true; i++) {
    int r = rows ? rows[i] : i, a = a_true[r], p = pseudo[r];
    if (a < 0 || a >= n_attr || p < 0 || p >= n_attr) continue;
    s->n++;
    s->correct += a == p;
    s->cls_n[y[r]]++;
    s->cls_correct[y[r]] += a == p;
    s->confusion[(size_t)a * n_attr + p]++;
  }
  s->acc = s->n ? (double)s->correct / (double)s->n : NAN;
  return 0;
}

static const char *const WATERBIRDS[2] = {"a photo of a bird on land.", "a photo of a bird on water."};
static const char *const CELEBA[2] = {"a photo of a woman.", "a photo of a man."};
static const char *const METASHIFT[2] = {"a photo taken outdoors.", "a photo taken indoors."};

const char *const *cd_default_attr_prompts(const char *dataset, int *n) {
  *n = 2;
  if (!strcmp(dataset, "waterbirds")) return WATERBIRDS;
  if (!strcmp(dataset, "celeba")) return CELEBA;
  if (!strcmp(dataset, "metashift")) return METASHIFT;
  *n = 0;
  return NULL;
}

int cd_pseudo_rows(const int32_t *split, int N, int **rows, int *n, cd_error *e) {
  *n = 0;
  if (!(*rows = cd_malloc(sizeof(int) * (size_t)(N ? N : 1), e))) return -1;
  for (int i = 0; i < N; i++)
    if (split[i] == 0) (*rows)[(*n)++] = i;
  for (int i = 0; i < N; i++)
    if (split[i] == 1) (*rows)[(*n)++] = i;
  return 0;
}

void cd_pseudo_stats_write(cd_jw *w, const cd_pseudo_stats *p) {
  cd_jw_kint(w, "rows", p->n);
  cd_jw_knum(w, "acc", p->acc);
  cd_jw_key(w, "per_class");
  if (p->n == 0) cd_jw_null(w);
  else {
    cd_jw_arr(w);
    for (int c = 0; c < p->n_cls; c++) {
      cd_jw_obj(w);
      cd_jw_kint(w, "y", c);
      cd_jw_kint(w, "n", p->cls_n[c]);
      cd_jw_knum(w, "acc", p->cls_n[c] ? (double)p->cls_correct[c] / (double)p->cls_n[c] : NAN);
      cd_jw_end(w);
    }
    cd_jw_end(w);
  }
  cd_jw_key(w, "confusion");
  if (p->n == 0) cd_jw_null(w);
  else {
    cd_jw_arr(w);
    for (int a = 0; a < p->n_attr; a++) cd_jw_ints(w, p->confusion + (size_t)a * p->n_attr, p->n_attr);
    cd_jw_end(w);
  }
}

void cd_pseudo_stats_print(FILE *fp, const cd_pseudo_stats *p, char *const *classnames) {
  if (p->n == 0) {
    fprintf(fp, "pseudo-label accuracy: unknown (no true attribute in the cache)\n");
    return;
  }
  fprintf(fp, "pseudo-label accuracy (train + val, %lld rows): %.2f%% (", (long long)p->n, 100 * p->acc);
  for (int c = 0; c < p->n_cls; c++)
    fprintf(fp, "%s%s %.2f%%", c ? ", " : "", classnames[c],
            p->cls_n[c] ? 100.0 * (double)p->cls_correct[c] / (double)p->cls_n[c] : NAN);
  fprintf(fp, ")\n");
}
