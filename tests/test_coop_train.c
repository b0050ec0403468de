/* CoOp training: optimiser updates vs hand computation, the warm-up + cosine schedule vs
 * PyTorch's CosineAnnealingLR behind Dassl's constant warm-up, loss going down to 100%
 * accuracy on a realisable toy problem (Adam and SGD), and checkpoint round trip + resume
 * reproducing uninterrupted training. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "models/clip/clip.h"
#include "models/tuning/optim.h"
#include "models/tuning/prompt.h"
#include "models/tuning/prompt_ckpt.h"
#include "models/tuning/text_train.h"
#include "models/tuning/tune_session.h"
#include "tests/testutil.h"
#include "tests/tiny_clip.h"

enum { W = 16, LAYERS = 2, HEADS = 2, MLP = 64, VOCAB = 50, CTXLEN = 16, EMB = 8 };

typedef cd_tiny_clip tiny_model;

static void tiny_build(tiny_model *t, uint64_t seed) {
  cd_tiny_dims d = {W, LAYERS, HEADS, MLP, VOCAB, CTXLEN, EMB, CD_ACT_QUICKGELU};
  CHECK(cd_tiny_clip_build(t, &d, seed) == 0, "cannot build the tiny model");
  t->m.logit_scale_log = logf(20.0f);
}

enum { NCLS = 3, NCTX = 4, N = 48 };

static int make_prompt(cd_prompt *p, int csc) {
  const int32_t n0[] = {10, 11}, n1[] = {12}, n2[] = {13, 14, 15};
  const int32_t *names[NCLS] = {n0, n1, n2};
  int lens[NCLS] = {2, 1, 3};
  int32_t prefix[NCTX] = {5, 5, 5, 5}, tokens[NCLS * CTXLEN];
  cd_error e;
  if (cd_prompt_build_tokens(NCLS, NCTX, prefix, names, lens, 7, 48, 49, CTXLEN, tokens, &e) ||
      cd_prompt_init(p, NCLS, NCTX, W, csc, CD_CLASS_END, tokens, CTXLEN, lens, &e)) {
    CHECK(0, "%s", e.msg);
    return -1;
  }
  return 0;
}

/* Image features = text features under a hidden context + noise: separable by construction. */
static void make_data(const cd_clip *m, float *img, int32_t *y, float *w) {
  cd_prompt hidden;
  cd_text_train t;
  cd_error e;
  if (make_prompt(&hidden, 0)) exit(1);
  cd_prompt_init_random(&hidden, 99, 3.0f);
  if (cd_text_train_init(&t, m, &hidden, &e)) exit(1);
  cd_text_train_forward(&t, m, hidden.ctx);
  cd_l2_normalize_rows(t.features, NCLS, EMB);
  float noise[N * EMB];
  cd_test_fill(noise, N * EMB, 5, 0.05f);
  for (int i = 0; i < N; i++) {
    y[i] = i % NCLS;
    w[i] = 0.5f + (float)(i % 5) * 0.25f;
    for (int d = 0; d < EMB; d++) img[i * EMB + d] = t.features[y[i] * EMB + d] + noise[i * EMB + d];
  }
  cd_l2_normalize_rows(img, N, EMB);
  cd_text_train_free(&t);
  cd_prompt_free(&hidden);
}

static void check_optimisers(void) {
  printf("optimisers:\n");
  cd_optim_config c;
  cd_optim_config_default(&c);
  cd_optim o;
  cd_error e;
  float p[3] = {0.5f, -1.0f, 2.0f}, g[3][3] = {{0.1f, 0.2f, -0.3f}, {-0.4f, 0.0f, 0.25f},
                                                {0.05f, -0.15f, 0.6f}};
  double hp[3] = {0.5, -1.0, 2.0}, buf[3] = {0}, m[3] = {0}, v[3] = {0};
  cd_optim_init(&o, &c, 3, &e);
  for (int s = 0; s < 3; s++) {
    cd_optim_step(&o, p, g[s], 0.01);
    for (int i = 0; i < 3; i++) {
      double d = g[s][i] + 5e-4 * hp[i];
      buf[i] = s == 0 ? d : 0.9 * buf[i] + d;
      hp[i] -= 0.01 * buf[i];
    }
  }
  float hf[3] = {(float)hp[0], (float)hp[1], (float)hp[2]};
  cd_test_close("SGD momentum 0.9 wd 5e-4, 3 steps", p, hf, 3, 1e-6);
  cd_optim_free(&o);
  c.kind = CD_OPTIM_ADAM;
  float q[3] = {0.5f, -1.0f, 2.0f};
  double hq[3] = {0.5, -1.0, 2.0};
  cd_optim_init(&o, &c, 3, &e);
  for (int s = 0; s < 3; s++) {
    cd_optim_step(&o, q, g[s], 0.01);
    for (int i = 0; i < 3; i++) {
      double d = g[s][i] + 5e-4 * hq[i];
      m[i] = 0.9 * m[i] + 0.1 * d;
      v[i] = 0.999 * v[i] + 0.001 * d * d;
      double mh = m[i] / (1 - pow(0.9, s + 1)), vh = v[i] / (1 - pow(0.999, s + 1));
      hq[i] -= 0.01 * mh / (sqrt(vh) + 1e-8);
    }
  }
  float hqf[3] = {(float)hq[0], (float)hq[1], (float)hq[2]};
  cd_test_close("Adam with bias correction, 3 steps", q, hqf, 3, 1e-6);
  cd_optim_free(&o);
  /* PyTorch CosineAnnealingLR(T_max=50) behind a 1-epoch constant warm-up at 1e-5 */
  cd_optim_config_default(&c);
  const int ep[5] = {0, 1, 2, 25, 49};
  const float torch_lr[5] = {1e-5f, 0.002f, 0.0019980267284282717f, 0.001062790519529313f,
                             7.88529868552223e-06f};
  float ours[5];
  for (int i = 0; i < 5; i++) ours[i] = (float)cd_optim_lr_at(&c, ep[i]);
  for (int i = 0; i < 5; i++) {
    float r = fabsf(ours[i] - torch_lr[i]) / torch_lr[i];
    printf("  lr epoch %-2d ours %.10g torch %.10g rel %.1e\n", ep[i], ours[i], torch_lr[i], r);
    CHECK(r < 1e-6, "lr at epoch %d: %g vs %g", ep[i], ours[i], torch_lr[i]);
  }
}

typedef struct {
  float *log;
  long cap;
} loss_log;

static void log_step(void *user, long step, double loss) {
  loss_log *l = user;
  if (step <= l->cap) l->log[step - 1] = (float)loss;
}

/* Trains p (prompt head) on the toy data for epochs [start, stop) with checkpoints to ckpt. */
static int train(const cd_clip *m, cd_prompt *p, cd_optim *o, const float *img, const int32_t *y,
                 const float *w, int start, int stop, const char *ckpt, cd_prompt_ckpt_meta *meta,
                 loss_log *log, long *steps, cd_error *e) {
  cd_head h;
  cd_tune_session s;
  if (cd_head_init_prompt(&h, m, p, e)) return -1;
  cd_tune_data d = {img, y, w, N, 8, 3};
  cd_tune_hooks hk = {0};
  hk.step_end = log ? log_step : NULL;
  hk.user = log;
  hk.ckpt_path = ckpt;
  hk.meta = meta;
  int rc = cd_tune_session_init(&s, &h, o, &d, start, e) || cd_tune_session_run(&s, stop, &hk, e);
  if (steps) *steps = s.steps;
  cd_tune_session_free(&s);
  cd_head_free(&h);
  return rc ? -1 : 0;
}

static void evaluate(const cd_clip *m, cd_prompt *p, const float *img, const int32_t *y,
                     const float *w, double *loss, double *acc) {
  cd_head h;
  cd_error e;
  CHECK(!cd_head_init_prompt(&h, m, p, &e) && !cd_tune_evaluate(&h, img, y, w, N, loss, acc, &e),
        "%s", e.msg);
  cd_head_free(&h);
}

static void check_training(const cd_clip *m, const float *img, const int32_t *y, const float *w,
                           cd_optim_kind kind, double lr, int epochs) {
  cd_prompt p;
  if (make_prompt(&p, 0)) return;
  cd_prompt_init_random(&p, 1, 0.02f);
  cd_optim_config c;
  cd_optim_config_default(&c);
  c.kind = kind;
  c.lr = lr;
  c.max_epoch = epochs;
  c.warmup_epochs = 0;
  cd_optim o;
  cd_error e;
  cd_optim_init(&o, &c, p.ctx_numel, &e);
  float log[1024];
  loss_log ll = {log, 1024};
  double l0, acc0, l1, acc1;
  long steps = 0;
  evaluate(m, &p, img, y, w, &l0, &acc0);
  if (train(m, &p, &o, img, y, w, 0, 0, NULL, NULL, &ll, &steps, &e)) {
    CHECK(0, "%s", e.msg);
  } else {
    evaluate(m, &p, img, y, w, &l1, &acc1);
    double a = 0, b = 0;
    for (int i = 0; i < 20; i++) a += log[i] / 20, b += log[steps - 20 + i] / 20;
    printf("%s, %ld steps: initial loss %.4f accuracy %.1f%%; mean loss first 20 steps %.4f, "
           "last 20 %.4f, final loss %.4f accuracy %.1f%%\n", cd_optim_kind_name(kind), steps, l0,
           100 * acc0, a, b, l1, 100 * acc1);
    CHECK(acc0 < 1.0, "toy problem is already solved at the initial context");
    CHECK(b < 0.5 * a, "%s: loss did not go down enough (%.4f -> %.4f)", cd_optim_kind_name(kind),
          a, b);
    CHECK(acc1 == 1.0, "%s: final accuracy %.3f, expected 1", cd_optim_kind_name(kind), acc1);
  }
  cd_optim_free(&o);
  cd_prompt_free(&p);
}

static void check_resume(const cd_clip *m, const float *img, const int32_t *y, const float *w) {
  char dir[] = "/tmp/coop_train_XXXXXX";
  if (!mkdtemp(dir)) {
    CHECK(0, "mkdtemp failed");
    return;
  }
  char full[256], part[256];
  snprintf(full, sizeof full, "%s/full.npy", dir);
  snprintf(part, sizeof part, "%s/part.npy", dir);
  cd_optim_config c;
  cd_optim_config_default(&c);
  c.max_epoch = 6;
  c.lr = 0.05;
  char *names[NCLS] = {"a", "b", "c"};
  cd_prompt_ckpt_meta meta = {names, NCLS, NCTX, 1, W, CD_CLASS_END, "", "tiny", 0, 0, 3, 8, c, 0, "", CD_PREC_FP32};
  cd_error e;
  /* uninterrupted, class-specific context */
  cd_prompt p1, p2;
  cd_optim o1, o2;
  make_prompt(&p1, 1);
  cd_prompt_init_random(&p1, 4, 0.02f);
  cd_optim_init(&o1, &c, p1.ctx_numel, &e);
  CHECK(!train(m, &p1, &o1, img, y, w, 0, 0, full, &meta, NULL, NULL, &e), "%s", e.msg);
  /* interrupted after epoch 3 ... */
  make_prompt(&p2, 1);
  cd_prompt_init_random(&p2, 4, 0.02f);
  cd_optim_init(&o2, &c, p2.ctx_numel, &e);
  CHECK(!train(m, &p2, &o2, img, y, w, 0, 3, part, &meta, NULL, NULL, &e), "%s", e.msg);
  cd_optim_free(&o2);
  cd_prompt_free(&p2);
  /* ... and resumed from the files alone */
  cd_prompt_ckpt_meta got;
  if (cd_prompt_ckpt_load_meta(part, &got, &e)) {
    CHECK(0, "%s", e.msg);
    return;
  }
  CHECK(got.epoch == 3 && got.step == 3 * (N / 8) && got.csc == 1 && got.n_ctx == NCTX &&
            got.n_cls == NCLS && !strcmp(got.classnames[2], "c") && got.optim.lr == 0.05 &&
            got.optim.max_epoch == 6 && got.seed == 3 && got.batch == 8,
        "sidecar fields do not round-trip (epoch %d step %ld)", got.epoch, got.step);
  make_prompt(&p2, 1);
  cd_optim_init(&o2, &got.optim, p2.ctx_numel, &e);
  CHECK(!cd_prompt_ckpt_load_state(part, &p2, &o2, &e), "%s", e.msg);
  CHECK(!train(m, &p2, &o2, img, y, w, got.epoch, 0, part, &meta, NULL, NULL, &e), "%s", e.msg);
  double d = cd_test_max_abs(p2.ctx, p1.ctx, p1.ctx_numel);
  printf("resume after epoch 3 of 6: max |ctx - uninterrupted| = %.3g (steps %ld vs %ld)\n", d,
         o2.step, o1.step);
  CHECK(d == 0 && o2.step == o1.step, "resumed training differs from uninterrupted (%g)", d);
  cd_prompt_ckpt_meta_free(&got);
  cd_optim_free(&o1), cd_optim_free(&o2);
  cd_prompt_free(&p1), cd_prompt_free(&p2);
  const char *sfx[] = {".npy", ".optim.npy", ".json"};
  for (int i = 0; i < 3; i++) {
    char f[300];
    snprintf(f, sizeof f, "%s/full%s", dir, sfx[i]);
    unlink(f);
    snprintf(f, sizeof f, "%s/part%s", dir, sfx[i]);
    unlink(f);
  }
  rmdir(dir);
}

int main(void) {
  check_optimisers();
  tiny_model tm;
  tiny_build(&tm, 17);
  float img[N * EMB], w[N];
  int32_t y[N];
  make_data(&tm.m, img, y, w);
  check_training(&tm.m, img, y, w, CD_OPTIM_ADAM, 0.05, 40);
  check_training(&tm.m, img, y, w, CD_OPTIM_SGD, 0.5, 40);
  check_resume(&tm.m, img, y, w);
  free(tm.buf);
  return cd_test_finish("test_coop_train");
}
