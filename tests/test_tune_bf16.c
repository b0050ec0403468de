/* The bf16 tuning tower on the shipped toy CLIP (a trained model, models/toyclip): the text
 * tower loaded with its weights as bfloat16 rows (text_rows = bf16) gives the CoOp loss and
 * d loss / d ctx within 1e-2 (relative L2) of the float32 tower's, for a unified and a
 * class-specific context; 1 and 2 threads give the same bits. The images lie around their
 * class's text feature, scattered so that the loss (0.2 to 0.3) is one training goes
 * through; a saturated loss (near 0) leaves a gradient that is mostly rounding. (The random
 * fixtures of test_coop_fixture.c, whose sharpened attention amplifies the rounding, are held
 * to a looser bound there.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "models/clip/clip.h"
#include "models/tuning/coop_loss.h"
#include "models/tuning/text_train.h"
#include "models/tuning/tune_session.h"
#include "tests/testutil.h"

#define MODEL "models/toyclip"
enum { N = 64 };
#ifndef NOISE
#define NOISE 0.5f
#endif

static double rel_l2(const float *a, const float *b, size_t n) {
  double d = 0, r = 0;
  for (size_t i = 0; i < n; i++) d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), r += (double)b[i] * b[i];
  return r > 0 ? sqrt(d / r) : sqrt(d);
}

/* Loss and context gradient of prompt p on tower m, images img [N, E] (normalised). */
static double loss_grad(const cd_clip *m, const cd_prompt *p, const float *img, const int32_t *y, float *grad) {
  cd_text_train t;
  cd_error e;
  double loss = NAN;
  if (cd_text_train_init(&t, m, p, &e)) {
    CHECK(0, "%s", e.msg);
    return NAN;
  }
  int E = m->embed_dim;
  float *logits = malloc(sizeof(float) * N * p->n_cls), *dtxt = malloc(sizeof(float) * p->n_cls * E);
  memset(grad, 0, sizeof(float) * p->ctx_numel);
  cd_text_train_forward(&t, m, p->ctx);
  CHECK(!cd_coop_loss(img, N, t.features, p->n_cls, E, m->logit_scale_log, y, NULL, logits, &loss, dtxt, NULL, &e),
        "%s", e.msg);
  cd_text_train_backward(&t, m, dtxt, grad);
  free(logits), free(dtxt);
  cd_text_train_free(&t);
  return loss;
}

static void check(const cd_clip *m32, const cd_clip *m16, int csc) {
  char *names[2] = {"landbird", "waterbird"};
  cd_prompt_spec spec = {names, 2, 4, NULL, csc, CD_CLASS_END, 7};
  cd_prompt p;
  cd_error e;
  if (cd_prompt_setup(&p, m32, &spec, &e)) {
    CHECK(0, "%s", e.msg);
    return;
  }
  /* images near the zero-shot text features of their class, so the loss is a realistic one */
  int E = m32->embed_dim;
  float *img = malloc(sizeof(float) * N * E), *g32 = malloc(sizeof(float) * p.ctx_numel);
  float *g16 = malloc(sizeof(float) * p.ctx_numel), *g16b = malloc(sizeof(float) * p.ctx_numel);
  int32_t y[N];
  cd_text_train t;
  if (cd_text_train_init(&t, m32, &p, &e)) {
    CHECK(0, "%s", e.msg);
    return;
  }
  cd_text_train_forward(&t, m32, p.ctx);
  cd_l2_normalize_rows(t.features, p.n_cls, E);
  cd_test_fill(img, (size_t)N * E, 11, NOISE);
  for (int i = 0; i < N; i++) {
    y[i] = i % 2;
    for (int d = 0; d < E; d++) img[(size_t)i * E + d] += t.features[(size_t)y[i] * E + d];
  }
  cd_text_train_free(&t);
  cd_l2_normalize_rows(img, N, E);
  double l32 = loss_grad(m32, &p, img, y, g32), l16 = loss_grad(m16, &p, img, y, g16);
  double rel = rel_l2(g16, g32, p.ctx_numel);
  printf("%s context: loss fp32 %.6f bf16 %.6f; d loss / d ctx relative L2 %.2e (tol 1e-2)\n",
         csc ? "class-specific" : "unified", l32, l16, rel);
  CHECK(fabs(l16 - l32) <= 1e-2 * fabs(l32), "loss %.6f vs %.6f", l16, l32);
  CHECK(rel <= 1e-2, "bf16 gradient %.3e from fp32's", rel);
  cd_threads_set(1);
  loss_grad(m16, &p, img, y, g16b);
  cd_threads_set(2);
  loss_grad(m16, &p, img, y, g16);
  CHECK(memcmp(g16, g16b, sizeof(float) * p.ctx_numel) == 0, "bf16 gradient differs between 1 and 2 threads");
  free(img), free(g32), free(g16), free(g16b);
  cd_prompt_free(&p);
}

int main(void) {
  cd_clip m32, m16;
  cd_error e;
  cd_clip_load_opts lo = {.require_tokenizer = 1}, lo16 = {.require_tokenizer = 1, .text_rows = CD_PREC_BF16};
  lo.towers = lo16.towers = CD_TOWER_TEXT;
  if (cd_clip_load(&m32, MODEL, &lo, &e) || cd_clip_load(&m16, MODEL, &lo16, &e)) {
    CHECK(0, "%s", e.msg);
    return cd_test_finish("test_tune_bf16");
  }
  check(&m32, &m16, 0);
  check(&m32, &m16, 1);
  /* a packed (inference) tower has no bf16 rows to offer: refused at load, not run */
  cd_clip bad;
  cd_clip_load_opts lp = {.towers = CD_TOWER_TEXT, .pack_text = 1, .text_rows = CD_PREC_BF16};
  CHECK(cd_clip_load(&bad, MODEL, &lp, &e) != 0 && strstr(e.msg, "fp32 or bf16"), "pack_text with bf16 rows accepted");
  cd_clip_free(&m32);
  cd_clip_free(&m16);
  return cd_test_finish("test_tune_bf16");
}
