/* Discovery's numbers against a computation written out here another way: on seeded random
 * image features around the toy CLIP's class features, the zero-shot errors, B2T's score per
 * class of every candidate prompt (100 x mean cosine over misclassified - over correct), the
 * same of the prompt's part outside the class prompts' span (found here from the 2x2 normal
 * equations, not Gram-Schmidt), class_sim, the separation (Cohen's d on train) and the ranking
 * score. Then B2T's worked example: wrong cosines {0.3, 0.5}, correct {0.2, 0.2, 0.2} give 20. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/debias/zeroshot.h"
#include "models/discover/discover.h"
#include "tests/testutil.h"

#define MODEL "models/toyclip"
enum { N = 240, C = 2, W = 8 };
static const char *WORDS[W] = {"lake", "forest", "red", "landbird", "water", "grass", "ocean", "meadow"};

static double dotd(const float *a, const double *b, int E) {
  double s = 0;
  for (int d = 0; d < E; d++) s += a[d] * b[d];
  return s;
}

/* r = t - (a0 c0 + a1 c1) with [a0 a1] solving the normal equations G a = [<t,c0> <t,c1>]. */
static void residual(const float *t, const float *cf, int E, double *r) {
  double g00 = 0, g01 = 0, g11 = 0, b0 = 0, b1 = 0;
  for (int d = 0; d < E; d++) {
    g00 += (double)cf[d] * cf[d], g01 += (double)cf[d] * cf[E + d], g11 += (double)cf[E + d] * cf[E + d];
    b0 += (double)t[d] * cf[d], b1 += (double)t[d] * cf[E + d];
  }
  double det = g00 * g11 - g01 * g01, a0 = (b0 * g11 - b1 * g01) / det, a1 = (g00 * b1 - g01 * b0) / det;
  for (int d = 0; d < E; d++) r[d] = t[d] - a0 * cf[d] - a1 * cf[E + d];
}

static void check_close(const char *what, const char *word, double got, double want, double tol) {
  CHECK(fabs(got - want) <= tol * (1 + fabs(want)), "%s of '%s': %.9g, expected %.9g", what, word, got, want);
}

static void test_against_direct(cd_clip *m) {
  int E = m->embed_dim;
  char *names[C] = {"landbird", "waterbird"};
  const char *tmpl[1] = {"a photo of a {}."};
  float cf[C * 96], tw[W * 96];
  cd_error e;
  CHECK(E <= 96, "toy CLIP embedding %d", E);
  CHECK(!cd_zeroshot_class_features(m, names, C, tmpl, 1, cf, &e), "%s", e.msg);
  const char *prompts[W];
  char buf[W][64];
  for (int w = 0; w < W; w++) snprintf(buf[w], sizeof buf[w], "a photo of %s.", WORDS[w]), prompts[w] = buf[w];
  CHECK(!cd_text_features(m, prompts, W, tw, &e), "%s", e.msg);
  /* a cache: x = class feature + noise, 3/4 train and 1/4 val */
  cd_run_inputs in;
  memset(&in, 0, sizeof in);
  cd_feature_cache *c = &in.cache;
  c->N = N, c->D = E, c->n_cls = C;
  c->features = malloc(sizeof(float) * N * E);
  c->y = malloc(sizeof(int32_t) * N), c->split = malloc(sizeof(int32_t) * N), c->a = malloc(sizeof(int32_t) * N);
  uint64_t rng = 12345;
  for (int i = 0; i < N; i++) {
    c->y[i] = i % 3 == 0, c->split[i] = i % 4 == 3, c->a[i] = -1;
    float pull = i % 5 == 0 ? 0.6f : 0; /* a fifth of the rows leans to the other class: errors in both */
    for (int d = 0; d < E; d++)
      c->features[(size_t)i * E + d] = cf[c->y[i] * E + d] + pull * (cf[(1 - c->y[i]) * E + d] - cf[c->y[i] * E + d]) +
                                       0.35f * cd_test_randf(&rng);
  }
  in.model = *m, in.classnames = names, in.n_cls = C, in.templates = tmpl, in.n_templates = 1;
  char path[] = "/tmp/cd_test_discover_XXXXXX";
  int fd = mkstemp(path);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  CHECK(f != NULL, "temporary word file");
  if (!f) return;
  fputs("# candidates\n", f);
  for (int k = 0; k < W; k++) fprintf(f, "%s\n", WORDS[k]);
  fclose(f);
  cd_discover_opts o;
  cd_discover_opts_default(&o);
  o.words = path, o.class_filter = 0.99;
  cd_discover_result r;
  int rc = cd_discover(&in, "synthetic", &o, &r, NULL, &e);
  CHECK(rc == 0, "cd_discover: %s", e.msg);
  if (rc) goto out;
  /* the direct computation */
  int64_t nw[C] = {0}, nr[C] = {0};
  int32_t pred[N];
  double xn[96];
  for (int i = 0; i < N; i++) {
    double s0, s1, nrm = 0;
    for (int d = 0; d < E; d++) nrm += (double)c->features[(size_t)i * E + d] * c->features[(size_t)i * E + d];
    for (int d = 0; d < E; d++) xn[d] = c->features[(size_t)i * E + d] / sqrt(nrm);
    s0 = dotd(cf, xn, E), s1 = dotd(cf + E, xn, E);
    pred[i] = s1 > s0;
    if (c->split[i] == 0) (pred[i] == c->y[i] ? nr : nw)[c->y[i]]++;
  }
  for (int k = 0; k < C; k++)
    CHECK(r.n_wrong[k] == nw[k] && r.n_right[k] == nr[k] && nw[k] > 3 && nr[k] > 3, "class %d: %lld/%lld wrong/right, expected %lld/%lld",
          k, (long long)r.n_wrong[k], (long long)r.n_right[k], (long long)nw[k], (long long)nr[k]);
  CHECK(r.n_cand == W, "%d candidates", r.n_cand);
  for (int k = 0; k < r.n_cand; k++) {
    const cd_discover_cand *cd = &r.cand[k];
    int w = 0;
    while (w < W && strcmp(WORDS[w], cd->word)) w++;
    CHECK(w < W, "unknown word %s", cd->word);
    if (w == W) continue;
    double res[96], rn = 0, sw[C] = {0}, sr[C] = {0}, bw[C] = {0}, br[C] = {0}, ts[C] = {0}, tq = 0, tsum = 0;
    int64_t nt[C] = {0};
    residual(tw + w * E, cf, E, res);
    for (int d = 0; d < E; d++) rn += res[d] * res[d];
    check_close("class_sim", cd->word, cd->class_sim, sqrt(1 - rn), 1e-5);
    for (int i = 0; i < N; i++) {
      double nrm = 0;
      for (int d = 0; d < E; d++) nrm += (double)c->features[(size_t)i * E + d] * c->features[(size_t)i * E + d];
      for (int d = 0; d < E; d++) xn[d] = c->features[(size_t)i * E + d] / sqrt(nrm);
      double v = 0, raw = 0;
      for (int d = 0; d < E; d++) v += xn[d] * res[d], raw += xn[d] * tw[w * E + d];
      if (c->split[i] != 0) continue;
      int y = c->y[i];
      (pred[i] == y ? sr : sw)[y] += v, (pred[i] == y ? br : bw)[y] += raw;
      ts[y] += v, nt[y]++, tq += v * v, tsum += v;
    }
    double best = -INFINITY, sep;
    int assoc = ts[1] / nt[1] > ts[0] / nt[0];
    double var = (tq - tsum * tsum / (nt[0] + nt[1])) / (nt[0] + nt[1] - 1);
    sep = (ts[assoc] / nt[assoc] - ts[1 - assoc] / nt[1 - assoc]) / sqrt(var);
    for (int y = 0; y < C; y++) {
      double s = 100 * (sw[y] / nw[y] - sr[y] / nr[y]), b = 100 * (bw[y] / nw[y] - br[y] / nr[y]);
      check_close("class score", cd->word, cd->class_score[y], s, 1e-4);
      check_close("B2T score", cd->word, cd->b2t_score[y], b, 1e-4);
      if (s * (sep > 0 ? sep : 0) > best) best = s * (sep > 0 ? sep : 0);
    }
    CHECK(cd->assoc_class == assoc, "assoc class of %s: %d, expected %d", cd->word, cd->assoc_class, assoc);
    check_close("separation", cd->word, cd->separation, sep, 1e-4);
    check_close("score", cd->word, cd->score, best, 1e-4);
    CHECK(cd->filtered == (w == 3 || sqrt(1 - rn) >= 0.99), "%s filtered = %d", cd->word, cd->filtered);
    if (k > 0 && isfinite(cd->score)) CHECK(r.cand[k - 1].score >= cd->score, "ranking: %s after %s", cd->word, r.cand[k - 1].word);
  }
  cd_discover_result_free(&r);
out:
  remove(path);
  free(c->features), free(c->y), free(c->split), free(c->a);
}

/* B2T's worked example (baselines.md section 4 (d)): the score of the whole prompt, with
 * image features built to have exactly these cosines with it. */
static void test_worked_example(cd_clip *m) {
  int E = m->embed_dim;
  char *names[C] = {"landbird", "waterbird"};
  const char *tmpl[1] = {"a photo of a {}."}, *prompt[1] = {"a photo of lake."};
  float cf[C * 96], t[96];
  cd_error e;
  CHECK(!cd_zeroshot_class_features(m, names, C, tmpl, 1, cf, &e) && !cd_text_features(m, prompt, 1, t, &e), "%s", e.msg);
  /* u: unit vector orthogonal to t pointing to class 1 (so adding it tips the prediction) */
  double u[96], un = 0, p = 0;
  for (int d = 0; d < E; d++) p += (double)(cf[E + d] - cf[d]) * t[d];
  for (int d = 0; d < E; d++) u[d] = (cf[E + d] - cf[d]) - p * t[d], un += u[d] * u[d];
  for (int d = 0; d < E; d++) u[d] /= sqrt(un);
  /* class 0 only: two rows predicted 1 (cosine 0.3, 0.5 with t), three predicted 0 (0.2);
   * a vector v orthogonal to t and u fills the rest of the unit norm */
  const double cosv[5] = {0.3, 0.5, 0.2, 0.2, 0.2}, side[5] = {1, 1, -1, -1, -1};
  cd_run_inputs in;
  memset(&in, 0, sizeof in);
  cd_feature_cache *c = &in.cache;
  float feat[7 * 96];
  int32_t y[7] = {0, 0, 0, 0, 0, 1, 1}, split[7] = {0}, a[7] = {-1, -1, -1, -1, -1, -1, -1};
  for (int i = 0; i < 5; i++) {
    double su = copysign(sqrt(1 - cosv[i] * cosv[i]), side[i]);
    for (int d = 0; d < E; d++) feat[i * E + d] = (float)(cosv[i] * t[d] + su * u[d]);
  }
  for (int i = 5; i < 7; i++) /* class 1: one right, one wrong, so that class has errors too */
    for (int d = 0; d < E; d++) feat[i * E + d] = cf[(i == 5 ? 1 : 0) * E + d];
  c->N = 7, c->D = E, c->n_cls = C, c->features = feat, c->y = y, c->split = split, c->a = a;
  in.model = *m, in.classnames = names, in.n_cls = C, in.templates = tmpl, in.n_templates = 1;
  char path[] = "/tmp/cd_test_discover_XXXXXX";
  int fd = mkstemp(path);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) return;
  fputs("lake\nforest\n", f);
  fclose(f);
  cd_discover_opts o;
  cd_discover_opts_default(&o);
  o.words = path, o.class_filter = 1.01;
  cd_discover_result r;
  int rc = cd_discover(&in, "worked example", &o, &r, NULL, &e);
  CHECK(rc == 0, "cd_discover: %s", e.msg);
  if (!rc) {
    CHECK(r.n_wrong[0] == 2 && r.n_right[0] == 3, "class 0: %lld wrong, %lld right (want 2, 3)", (long long)r.n_wrong[0],
          (long long)r.n_right[0]);
    for (int k = 0; k < r.n_cand; k++)
      if (!strcmp(r.cand[k].word, "lake")) check_close("B2T worked example", "lake", r.cand[k].b2t_score[0], 20.0, 1e-5);
    cd_discover_result_free(&r);
  }
  remove(path);
}

int main(void) {
  cd_clip m;
  cd_error e;
  cd_clip_load_opts lo = {.require_tokenizer = 1};
  if (cd_clip_load(&m, MODEL, &lo, &e)) {
    CHECK(0, "%s", e.msg);
    return cd_test_finish("test_discover");
  }
  test_against_direct(&m);
  test_worked_example(&m);
  cd_clip_free(&m);
  return cd_test_finish("test_discover");
}
