/* Embedding-size reduction (run --dims): the PCA projection and the zero-shot accuracy after
 * it against numpy (tools/gen/gen_reduce_fixtures.py), the Jacobi eigen-solver's
 * reconstruction, random projections reproducible from their seed, the bad-K messages, the
 * projection's backward against finite differences of the cosine loss, and on a whole run
 * (tiny random text tower): P fitted on the training rows only (changing val and test
 * features leaves projection.npy unchanged, changing a training row does not), pca at K = D
 * predicting like the full embedding but for a few rows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/file.h"
#include "core/json.h"
#include "core/npy.h"
#include "core/sym_eigen.h"
#include "models/debias/reduce.h"
#include "models/run/run.h"
#include "models/tuning/coop_loss.h"
#include "models/tuning/projection.h"
#include "models/tuning/text_train.h"
#include "models/tuning/tune_head.h"
#include "tests/testutil.h"
#include "tests/tiny_clip.h"

#define FIX "tests/fixtures/reduce/"

static void normalise_rows(float *x, int n, int d) { cd_l2_normalize_rows(x, n, d); }

static double zeroshot_acc(const float *x, const float *t, const int32_t *y, int n, int D) {
  int ok = 0;
  for (int i = 0; i < n; i++) {
    double best = -INFINITY;
    int arg = 0;
    for (int c = 0; c < 2; c++) {
      double s = 0;
      for (int d = 0; d < D; d++) s += (double)x[(size_t)i * D + d] * t[(size_t)c * D + d];
      if (s > best) best = s, arg = c;
    }
    ok += arg == y[i];
  }
  return (double)ok / n;
}

static void test_against_numpy(void) {
  cd_array X, S, Y, T, P;
  cd_error e;
  if (cd_npy_load_f32(FIX "features.npy", 2, &X, &e) || cd_npy_load_labels(FIX "split.npy", &S, &e) ||
      cd_npy_load_labels(FIX "y.npy", &Y, &e) || cd_npy_load_f32(FIX "text.npy", 2, &T, &e) ||
      cd_npy_load_f32(FIX "P4.npy", 2, &P, &e)) {
    CHECK(0, "%s", e.msg);
    return;
  }
  cd_json_doc *doc = cd_json_parse_file(FIX "expected.json", 1 << 20, &e);
  CHECK(doc, "%s", e.msg);
  if (!doc) return;
  const cd_json *r = cd_json_root(doc), *sv = cd_json_get(r, "singular_values");
  int N = (int)X.shape[0], D = (int)X.shape[1], K = (int)cd_json_get(r, "K")->number;
  const int32_t *split = S.data, *y = Y.data;
  float *x = X.data, *xtr = malloc(sizeof(float) * (size_t)N * D), *Pc = malloc(sizeof(float) * (size_t)D * D);
  normalise_rows(x, N, D);
  normalise_rows(T.data, 2, D);
  int n = 0;
  for (int i = 0; i < N; i++)
    if (split[i] == 0) memcpy(xtr + (size_t)n++ * D, x + (size_t)i * D, sizeof(float) * D);
  CHECK(!cd_reduce_fit(CD_REDUCE_PCA, xtr, n, D, K, 0, Pc, &e), "%s", e.msg);
  cd_test_close("pca P (K=4) vs numpy SVD", Pc, P.data, (size_t)D * K, 1e-4);
  /* the eigenvalues of XᵀX are numpy's squared singular values */
  double *G = calloc((size_t)D * D, sizeof(double)), *V = malloc(sizeof(double) * D * D), ev[64];
  for (int i = 0; i < n; i++)
    for (int a = 0; a < D; a++)
      for (int b = 0; b < D; b++) G[a * D + b] += (double)xtr[(size_t)i * D + a] * xtr[(size_t)i * D + b];
  double *G0 = malloc(sizeof(double) * D * D);
  memcpy(G0, G, sizeof(double) * D * D);
  CHECK(!cd_sym_eigen(G, D, ev, V, &e), "%s", e.msg);
  double worst = 0, recon = 0;
  for (int j = 0; j < D; j++) {
    double s = sv->items[j].number;
    worst = fmax(worst, fabs(ev[j] - s * s) / (s * s));
  }
  for (int a = 0; a < D; a++)
    for (int b = 0; b < D; b++) {
      double s = 0;
      for (int j = 0; j < D; j++) s += V[a * D + j] * ev[j] * V[b * D + j];
      recon = fmax(recon, fabs(s - G0[a * D + b]));
    }
  printf("eigenvalues vs numpy's squared singular values: max rel err %.2e; |V diag Vt - G| %.2e\n", worst, recon);
  CHECK(worst < 1e-6, "eigenvalues off by %.2e", worst);
  CHECK(recon < 1e-9, "reconstruction off by %.2e", recon);
  /* zero-shot after the projection, as run computes it (project, normalise, cosine) */
  int nt = 0;
  for (int i = 0; i < N; i++) nt += split[i] == 2;
  float *xt = malloc(sizeof(float) * (size_t)nt * D), *xk = malloc(sizeof(float) * (size_t)nt * K), tk[2 * 64];
  int32_t *yt = malloc(sizeof(int32_t) * nt);
  for (int i = 0, k = 0; i < N; i++)
    if (split[i] == 2) memcpy(xt + (size_t)k * D, x + (size_t)i * D, sizeof(float) * D), yt[k++] = y[i];
  cd_projection pr = {D, K, Pc};
  cd_projection_forward(&pr, xt, nt, xk);
  cd_projection_forward(&pr, T.data, 2, tk);
  normalise_rows(xk, nt, K);
  normalise_rows(tk, 2, K);
  double acc = zeroshot_acc(xk, tk, yt, nt, K), want = cd_json_get(r, "zeroshot_test_acc_k")->number;
  double full = zeroshot_acc(xt, T.data, yt, nt, D), want_full = cd_json_get(r, "zeroshot_test_acc_full")->number;
  printf("zero-shot test accuracy, pca K=%d: %.2f%% (numpy %.2f%%); full: %.2f%% (numpy %.2f%%)\n", K, 100 * acc,
         100 * want, 100 * full, 100 * want_full);
  CHECK(fabs(acc - want) <= 0.001, "pca zero-shot %.4f vs numpy %.4f", acc, want);
  CHECK(fabs(full - want_full) <= 0.001, "full zero-shot %.4f vs numpy %.4f", full, want_full);
  CHECK(fabs(acc - full) > 0.01, "the fixture should tell K=%d from the full width", K);
  /* pca fitted on train rows only: numbers from the other splits do not enter */
  float *P2 = malloc(sizeof(float) * (size_t)D * K);
  xtr[3] += 0.5f;
  CHECK(!cd_reduce_fit(CD_REDUCE_PCA, xtr, n, D, K, 0, P2, &e), "%s", e.msg);
  CHECK(memcmp(P2, Pc, sizeof(float) * D * K) != 0, "changing a training row must change P");
  free(P2), free(xt), free(xk), free(yt), free(G), free(G0), free(V), free(xtr), free(Pc);
  cd_json_free(doc);
  cd_array_free(&X), cd_array_free(&S), cd_array_free(&Y), cd_array_free(&T), cd_array_free(&P);
}

static void test_random_and_checks(void) {
  enum { D = 12, K = 5 };
  float a[D * K], b[D * K], c[D * K];
  cd_error e;
  CHECK(!cd_reduce_fit(CD_REDUCE_RANDOM, NULL, 0, D, K, 42, a, &e), "%s", e.msg);
  CHECK(!cd_reduce_fit(CD_REDUCE_RANDOM, NULL, 0, D, K, 42, b, &e), "%s", e.msg);
  CHECK(!cd_reduce_fit(CD_REDUCE_RANDOM, NULL, 0, D, K, 43, c, &e), "%s", e.msg);
  CHECK(!memcmp(a, b, sizeof a), "random projection not reproducible from its seed");
  CHECK(memcmp(a, c, sizeof a) != 0, "seeds 42 and 43 gave the same projection");
  double ss = 0;
  for (int i = 0; i < D * K; i++) ss += (double)a[i] * a[i];
  printf("random projection: mean squared entry %.3f (1/K = %.3f)\n", ss / (D * K), 1.0 / K);
  CHECK(fabs(ss / (D * K) - 1.0 / K) < 0.1, "random entries are not N(0, 1/K)");
  CHECK(!cd_reduce_fit(CD_REDUCE_TRUNCATE, NULL, 0, D, K, 0, a, &e), "%s", e.msg);
  int ok = 1;
  for (int d = 0; d < D; d++)
    for (int k = 0; k < K; k++) ok &= a[d * K + k] == (d == k ? 1.0f : 0.0f);
  CHECK(ok, "truncate must keep the first K coordinates");
  struct { cd_reduce_kind kind; int k, n; const char *msg; } bad[] = {
      {CD_REDUCE_PCA, 1, 100, "at least 2 dimensions"},
      {CD_REDUCE_RANDOM, 13, 100, "larger than the features' 12 dimensions"},
      {CD_REDUCE_PCA, 10, 9, "than the 9 training rows"}};
  for (int i = 0; i < 3; i++) {
    int rc = cd_reduce_check(bad[i].kind, bad[i].k, D, bad[i].n, &e);
    CHECK(rc == -1 && strstr(e.msg, bad[i].msg), "K=%d: '%s' lacks '%s'", bad[i].k, rc ? e.msg : "(accepted)", bad[i].msg);
  }
  CHECK(!cd_reduce_check(CD_REDUCE_TRUNCATE, 10, D, 9, &e), "truncate does not need K training rows");
}

/* L(t) = weighted CE of cosine logits between x [N,K] and t [C,D]·P: d L / d t from the
 * backward pair against central differences. */
static double loss_of(const float *x, int N, const float *t, const cd_projection *p, const int32_t *y,
                      const float *w, float *dt) {
  int C = 3;
  float tp[3 * 8], dtp[3 * 8];
  cd_projection_forward(p, t, C, tp);
  double loss = 0;
  cd_error e;
  CHECK(!cd_coop_loss(x, N, tp, C, p->K, logf(20), y, w, NULL, &loss, dt ? dtp : NULL, NULL, &e), "%s", e.msg);
  if (dt) cd_projection_backward(p, dtp, C, dt);
  return loss;
}

static void test_gradient(void) {
  enum { N = 9, C = 3, D = 12, K = 5 };
  float x[N * K], t[C * D], P[D * K], w[N], dt[C * D], fd[C * D];
  int32_t y[N];
  cd_test_fill(x, N * K, 1, 1.0f);
  cd_test_fill(t, C * D, 2, 1.0f);
  cd_test_fill(P, D * K, 3, 0.5f);
  cd_test_fill(w, N, 4, 0.4f);
  for (int i = 0; i < N; i++) w[i] += 0.6f, y[i] = i % C;
  normalise_rows(x, N, K);
  cd_projection p = {D, K, P};
  loss_of(x, N, t, &p, y, w, dt);
  const float h = 3e-3f;
  for (int i = 0; i < C * D; i++) {
    float keep = t[i];
    t[i] = keep + h;
    double lp = loss_of(x, N, t, &p, y, w, NULL);
    t[i] = keep - h;
    double lm = loss_of(x, N, t, &p, y, w, NULL);
    t[i] = keep;
    fd[i] = (float)((lp - lm) / (2 * h));
  }
  cd_test_close("d loss / d text through the projection vs finite differences", dt, fd, C * D, 2e-3);
}

/* ---- a whole run on a tiny random text tower -------------------------------------------- */

enum { W = 16, LAYERS = 2, HEADS = 2, MLP = 64, VOCAB = 50, CTXLEN = 16, EMB = 8, NCTX = 4 };
enum { SOT = 48, EOT = 49, PERIOD = 7 };

typedef struct {
  cd_tiny_clip tiny;
  cd_run_text text;
  cd_feature_cache cache;
} world;

static char *dupstr(const char *s) { return strcpy(malloc(strlen(s) + 1), s); }

static int make_text(world *w, cd_error *e) {
  const cd_clip *m = &w->tiny.m;
  const int32_t n0[] = {10}, n1[] = {12}, prefix[NCTX] = {20, 21, 22, 23};
  const int32_t *names[2] = {n0, n1};
  int lens[2] = {1, 1};
  int32_t tokens[2 * CTXLEN], attr[2 * CTXLEN] = {0};
  cd_run_text *x = &w->text;
  memset(x, 0, sizeof *x);
  x->n_cls = 2, x->n_attr_prompts = 2, x->E = EMB;
  x->class_feat = malloc(sizeof(float) * 2 * EMB);
  x->attr_feat = malloc(sizeof(float) * 2 * EMB);
  if (cd_prompt_build_tokens(2, NCTX, prefix, names, lens, PERIOD, SOT, EOT, CTXLEN, tokens, e) ||
      cd_prompt_init(&x->prompt, 2, NCTX, W, 0, CD_CLASS_END, tokens, CTXLEN, lens, e) ||
      cd_prompt_init_from_embeddings(&x->prompt, m->text.tok_emb, VOCAB, e))
    return -1;
  cd_text_train tt;
  if (cd_text_train_init(&tt, m, &x->prompt, e)) return -1;
  cd_text_train_forward(&tt, m, x->prompt.ctx);
  memcpy(x->class_feat, tt.features, sizeof(float) * 2 * EMB);
  cd_text_train_free(&tt);
  const int32_t a0[5] = {SOT, 30, 31, PERIOD, EOT}, a1[5] = {SOT, 32, 33, PERIOD, EOT};
  memcpy(attr, a0, sizeof a0);
  memcpy(attr + CTXLEN, a1, sizeof a1);
  if (cd_clip_encode_text(m, attr, 2, x->attr_feat, e)) return -1;
  normalise_rows(x->class_feat, 2, EMB);
  normalise_rows(x->attr_feat, 2, EMB);
  return 0;
}

/* Rows around the class and attribute text features plus noise; 200 train, 80 val, 160 test. */
static void make_cache(world *w) {
  cd_feature_cache *c = &w->cache;
  memset(c, 0, sizeof *c);
  const int n_split[3] = {200, 80, 160};
  int N = 440;
  c->N = N, c->D = EMB, c->n_cls = 2, c->n_attr = 2;
  c->features = malloc(sizeof(float) * (size_t)N * EMB);
  c->y = malloc(sizeof(int32_t) * N), c->a = malloc(sizeof(int32_t) * N), c->split = malloc(sizeof(int32_t) * N);
  c->filenames = calloc(N, sizeof(char *));
  c->classnames = calloc(2, sizeof(char *)), c->attr_names = calloc(2, sizeof(char *));
  c->classnames[0] = dupstr("landbird"), c->classnames[1] = dupstr("waterbird");
  c->attr_names[0] = dupstr("land"), c->attr_names[1] = dupstr("water");
  snprintf(c->dataset, sizeof c->dataset, "toy");
  uint64_t rng = 99;
  for (int i = 0, s = 0, k = 0; i < N; i++, k++) {
    if (k == n_split[s]) s++, k = 0;
    int y = i % 2, a = (i / 2) % 5 ? y : 1 - y;
    c->y[i] = y, c->a[i] = a, c->split[i] = s;
    char name[32];
    snprintf(name, sizeof name, "toy/%d.jpg", i);
    c->filenames[i] = dupstr(name);
    for (int d = 0; d < EMB; d++)
      c->features[(size_t)i * EMB + d] = 0.7f * w->text.class_feat[y * EMB + d] +
                                         1.2f * w->text.attr_feat[a * EMB + d] + 0.5f * cd_test_randf(&rng);
  }
}

/* Mean CE of the projected prompt head on rows x [N,K]; grad (may be NULL) = d / d ctx. */
static double head_loss(cd_head *h, const float *x, int N, const int32_t *y, float *grad) {
  int C = h->C, K = h->E;
  double l[16 * 2], dl[16 * 2], ce[16], dZ[2 * 8], loss = 0;
  cd_error e = {0};
  if (cd_head_forward(h, &e)) {
    fprintf(stderr, "test_reduce: %s\n", e.msg);
    exit(1);
  }
  cd_logits_forward(x, N, h->Z, NULL, C, K, l);
  cd_softmax_xent_forward(l, y, N, C, ce, NULL, NULL);
  for (int i = 0; i < N; i++) loss += ce[i] / N;
  if (grad) {
    cd_softmax_xent_backward(l, y, NULL, N, N, C, dl);
    cd_logits_backward(x, N, dl, C, K, dZ, NULL);
    memset(grad, 0, sizeof(float) * h->n_params);
    cd_head_backward(h, dZ, NULL, grad);
  }
  return loss;
}

/* The prompt head behind a projection: d loss / d ctx through Pᵀ and the text tower against
 * central differences (the float text tower: agreement to a few 1e-4). */
static void test_head_gradient(world *w) {
  enum { N = 12, K = 3 };
  float P[EMB * K], x[N * K], fd[64], an[64];
  int32_t y[N];
  cd_error e;
  CHECK(!cd_reduce_fit(CD_REDUCE_RANDOM, NULL, 0, EMB, K, 7, P, &e), "%s", e.msg);
  cd_test_fill(x, N * K, 11, 1.0f);
  normalise_rows(x, N, K);
  for (int i = 0; i < N; i++) y[i] = i % 2;
  cd_projection proj = {EMB, K, P};
  cd_head h;
  if (cd_head_init_prompt_projected(&h, &w->tiny.m, &w->text.prompt, &proj, &e)) {
    CHECK(0, "%s", e.msg);
    return;
  }
  float *grad = malloc(sizeof(float) * h.n_params);
  head_loss(&h, x, N, y, grad);
  int n = (int)h.n_params < 64 ? (int)h.n_params : 64;
  const float step = 1e-2f;
  for (int k = 0; k < n; k++) {
    int i = (int)((size_t)k * h.n_params / n);
    float keep = h.params[i];
    h.params[i] = keep + step;
    double lp = head_loss(&h, x, N, y, NULL);
    h.params[i] = keep - step;
    double lm = head_loss(&h, x, N, y, NULL);
    h.params[i] = keep;
    fd[k] = (float)((lp - lm) / (2 * step)), an[k] = grad[i];
  }
  cd_test_close("d loss / d ctx through the projection and the text tower", an, fd, (size_t)n, 5e-3);
  free(grad);
  cd_head_free(&h);
}

static int run(world *w, int dims, const char *out) {
  cd_run_config c;
  cd_run_config_default(&c);
  c.model = "tiny", c.out_dir = out, c.n_seeds = 1, c.seeds[0] = 0;
  c.optim.max_epoch = 3, c.optim.lr = 0.05, c.optim.warmup_epochs = 0, c.select = CD_SELECT_LAST;
  c.dims = dims, c.reduce = CD_REDUCE_PCA;
  const char *tmpl[1] = {"a photo of a {}."}, *prompts[2] = {"land", "water"};
  cd_run_resolved res = {"(memory)", "toy", w->cache.classnames, 2, w->cache.attr_names, 2, tmpl, 1, prompts, 2,
                         w->cache.N, "", NULL, NULL, "given"};
  cd_error e;
  int rc = cd_run_execute(&c, &w->cache, &w->tiny.m, &w->text, &res, NULL, &e);
  CHECK(rc == 0, "run --dims %d: %s", dims, e.msg);
  return rc;
}

static int rows_differing(const char *a, const char *b) {
  cd_array x, y;
  cd_error e;
  if (cd_npy_load_labels(a, &x, &e) || cd_npy_load_labels(b, &y, &e)) {
    CHECK(0, "%s", e.msg);
    return -1;
  }
  int n = 0;
  for (int64_t i = 0; i < x.shape[0]; i++) n += ((int32_t *)x.data)[i] != ((int32_t *)y.data)[i];
  cd_array_free(&x), cd_array_free(&y);
  return n;
}

static void test_run(void) {
  world w;
  cd_error e;
  cd_tiny_dims dims = {W, LAYERS, HEADS, MLP, VOCAB, CTXLEN, EMB, CD_ACT_QUICKGELU};
  if (cd_tiny_clip_build(&w.tiny, &dims, 5)) return;
  w.tiny.m.logit_scale_log = logf(30.0f);
  if (make_text(&w, &e)) {
    CHECK(0, "%s", e.msg);
    return;
  }
  make_cache(&w);
  test_head_gradient(&w);
  char d[5][256];
  const char *names[5] = {"red_full", "red_pcaD", "red_k3", "red_k3b", "red_k3c"};
  for (int k = 0; k < 5; k++)
    if (cd_test_make_tmpdir(d[k], sizeof d[k], names[k])) return;
  cd_threads_set(1);
  run(&w, 0, d[0]);
  run(&w, EMB, d[1]);
  run(&w, 3, d[2]);
  const char *pred[] = {"zeroshot/predictions.npy", "dpt/seed0/predictions.npy", "erm/seed0/predictions.npy"};
  for (int k = 0; k < 3; k++) {
    int n = rows_differing(cd_test_path(d[0], pred[k]), cd_test_path(d[1], pred[k]));
    printf("pca at K = D vs full: %s differs on %d of %d rows\n", pred[k], n, w.cache.N);
    CHECK(n >= 0 && n <= 3, "pca at K = D should agree with the full embedding but for a few rows (%d)", n);
  }
  CHECK(cd_test_same_file(cd_test_path(d[0], "a_pseudo.npy"), cd_test_path(d[1], "a_pseudo.npy")) ||
            rows_differing(cd_test_path(d[0], "a_pseudo.npy"), cd_test_path(d[1], "a_pseudo.npy")) <= 3,
        "pseudo labels at K = D");
  CHECK(!cd_file_exists(cd_test_path(d[0], "projection.npy")), "the full run must not write a projection");
  /* val and test features changed: the same P; a training row changed: another P */
  for (int i = 0; i < w.cache.N; i++)
    if (w.cache.split[i]) w.cache.features[(size_t)i * EMB + i % EMB] += 0.3f;
  run(&w, 3, d[3]);
  CHECK(cd_test_same_file(cd_test_path(d[2], "projection.npy"), cd_test_path(d[3], "projection.npy")),
        "projection.npy changed with the val/test features: P must be fitted on the training rows only");
  w.cache.features[5] += 0.3f;
  run(&w, 3, d[4]);
  CHECK(!cd_test_same_file(cd_test_path(d[2], "projection.npy"), cd_test_path(d[4], "projection.npy")),
        "projection.npy did not change with a training row");
  cd_threads_set(2);
  for (int k = 0; k < 5; k++) cd_test_remove_tmpdir(d[k]);
  cd_run_text_free(&w.text);
  cd_feature_cache_free(&w.cache);
  cd_tiny_clip_free(&w.tiny);
}

int main(void) {
  test_against_numpy();
  test_random_and_checks();
  test_gradient();
  test_run();
  return cd_test_finish("test_reduce");
}
