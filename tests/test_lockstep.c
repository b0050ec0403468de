/* Lockstep prompt tuning gives every run the bits it gets alone:
 *  - the stacked text tower (text_train copies): each copy's features and context gradient
 *    against a tower of one copy, bit for bit, with more than 96 stacked rows (past the
 *    row count where the plain forward switches from the row-wise kernel to the packed GEMM),
 *    with fewer copies active than allocated, for the shared-prefix layout and the
 *    block-diagonal one (csc), and for widths that are not multiples of the vector width;
 *  - sessions (tune_lockstep): seven runs with different seeds, contexts, weights and start
 *    epochs (one resumed) stepped together (at 2 threads in parts of copies) against each
 *    trained alone: every step's loss, the final context and the optimiser state bit for bit;
 *  - a run that diverges leaves the group with the epoch and message it gets alone, and the
 *    run beside it keeps its bits;
 *  - the same at 1 and 2 threads, and with the input gradients through transposed rows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "models/clip/clip.h"
#include "models/tuning/optim.h"
#include "models/tuning/prompt.h"
#include "models/tuning/text_train.h"
#include "models/tuning/tune_lockstep.h"
#include "models/tuning/tune_session.h"
#include "tests/testutil.h"
#include "tests/tiny_clip.h"

enum { NCLS = 3, NCTX = 4, CTXLEN = 16, VOCAB = 50, EMB = 8, COPIES = 8 };

static int make_prompt(cd_prompt *p, int width, int csc, cd_class_position pos) {
  const int32_t n0[] = {10, 11}, n1[] = {12}, n2[] = {13, 14, 15};
  const int32_t *names[NCLS] = {n0, n1, n2};
  int lens[NCLS] = {2, 1, 3};
  int32_t prefix[NCTX] = {5, 5, 5, 5}, tokens[NCLS * CTXLEN];
  cd_error e;
  if (cd_prompt_build_tokens(NCLS, NCTX, prefix, names, lens, 7, 48, 49, CTXLEN, tokens, &e) ||
      cd_prompt_init(p, NCLS, NCTX, width, csc, pos, tokens, CTXLEN, lens, &e)) {
    CHECK(0, "%s", e.msg);
    return -1;
  }
  return 0;
}

static int same_bits(const float *a, const float *b, size_t n) { return !memcmp(a, b, sizeof(float) * n); }

/* COPIES contexts stacked (n of them active) vs each alone. */
static void check_copies(const cd_clip *m, int width, int csc, cd_class_position pos, int n) {
  cd_prompt p;
  if (make_prompt(&p, width, csc, pos)) return;
  cd_text_train one, many;
  cd_error e;
  if (cd_text_train_init(&one, m, &p, &e) || cd_text_train_init_copies(&many, m, &p, COPIES, &e)) {
    CHECK(0, "%s", e.msg);
    return;
  }
  size_t nc = p.ctx_numel, CE = (size_t)NCLS * EMB;
  float *ctx = malloc(sizeof(float) * nc * COPIES), *dctx = calloc(nc * COPIES, sizeof(float));
  float *dfeat = malloc(sizeof(float) * CE * COPIES), *alone = calloc(nc, sizeof(float));
  const float *cp[COPIES];
  float *dp[COPIES];
  cd_test_fill(ctx, nc * COPIES, 11 + (uint64_t)n, 0.5f);
  cd_test_fill(dfeat, CE * COPIES, 23 + (uint64_t)n, 1.0f);
  for (int k = 0; k < COPIES; k++) cp[k] = ctx + k * nc, dp[k] = dctx + k * nc;
  cd_text_train_forward_copies(&many, m, cp, n);
  cd_text_train_backward_copies(&many, m, dfeat, dp, n);
  int feat_ok = 1, grad_ok = 1;
  for (int k = 0; k < n; k++) {
    cd_text_train_forward(&one, m, cp[k]);
    feat_ok &= same_bits(many.features + k * CE, one.features, CE);
    memset(alone, 0, sizeof(float) * nc);
    cd_text_train_backward(&one, m, dfeat + k * CE, alone);
    grad_ok &= same_bits(dctx + k * nc, alone, nc);
  }
  double g = 0;
  for (size_t i = 0; i < nc * n; i++) g += fabs(dctx[i]);
  printf("  width %d %s %s: %d of %d copies (%d stacked rows): features %s, context gradients %s "
         "(mean |g| %.3g)\n", width, csc ? "csc" : "unified", cd_class_position_name(pos), n, COPIES,
         n * one.R, feat_ok ? "same bits" : "DIFFER", grad_ok ? "same bits" : "DIFFER", g / (nc * n));
  CHECK(feat_ok, "width %d csc %d: stacked features differ from one copy alone", width, csc);
  CHECK(grad_ok, "width %d csc %d: stacked context gradients differ from one copy alone", width, csc);
  CHECK(g > 1e-6, "context gradients are zero: the check would pass vacuously");
  free(ctx), free(dctx), free(dfeat), free(alone);
  cd_text_train_free(&one);
  cd_text_train_free(&many);
  cd_prompt_free(&p);
}

/* ---- sessions ---- */
/* 7 runs: at 2 threads a step runs in parts of 2 copies and a last part of 1 (the thread plan
 * of tune_lockstep.c for a tower that stays in cache) */
enum { N = 40, BATCH = 8, EPOCHS = 3, RUNS = 7, MAXSTEPS = 64 };

typedef struct {
  float loss[MAXSTEPS];
  int reweight;
} run_log;

static void log_step(void *user, long step, double loss) {
  run_log *l = user;
  if (step <= MAXSTEPS) l->loss[step - 1] = (float)loss;
}

/* A weights hook that depends on the run's own predictions (like DPT's and GroupDRO's). */
static void hook_weights(void *user, const int *idx, int B, const double *ce, const double *p_true,
                         float *w, double *denom) {
  (void)user;
  *denom = 0;
  for (int i = 0; i < B; i++) w[i] = (float)(0.5 + (1.0 - p_true[i]) + 0.01 * (idx[i] % 3) + 0.1 * ce[i]), *denom += w[i];
}

typedef struct {
  cd_prompt p;
  cd_head h;
  cd_optim o;
  cd_tune_session s;
  cd_tune_hooks hk;
  run_log log;
} run;

static void run_init_lr(run *r, const cd_clip *m, int i, const float *img, const int32_t *y, const float *w,
                        double lr);
static void run_init(run *r, const cd_clip *m, int i, const float *img, const int32_t *y, const float *w) {
  run_init_lr(r, m, i, img, y, w, 0);
}

static void run_init_lr(run *r, const cd_clip *m, int i, const float *img, const int32_t *y, const float *w,
                        double lr) {
  cd_error e;
  memset(r, 0, sizeof *r);
  cd_optim_config c;
  cd_optim_config_default(&c);
  c.max_epoch = EPOCHS;
  c.lr = 0.05;
  if (i == 2) c.kind = CD_OPTIM_ADAM, c.lr = 0.01;
  if (lr > 0) c.lr = lr, c.warmup_epochs = 0;
  if (make_prompt(&r->p, m->text.tf.width, 0, CD_CLASS_END)) exit(1);
  cd_prompt_init_random(&r->p, 100 + (uint64_t)i, 0.3f);
  cd_tune_data d = {img, y, i == 1 ? w : NULL, N, BATCH, (uint64_t)(7 + i)};
  r->hk.step_end = log_step;
  r->hk.batch_weights = i == 3 ? hook_weights : NULL;
  r->hk.user = &r->log;
  if (cd_head_init_prompt(&r->h, m, &r->p, &e) || cd_optim_init(&r->o, &c, r->p.ctx_numel, &e) ||
      cd_tune_session_init(&r->s, &r->h, &r->o, &d, 0, &e)) {
    fprintf(stderr, "%s\n", e.msg);
    exit(1);
  }
}

static void run_free(run *r) {
  cd_tune_session_free(&r->s);
  cd_optim_free(&r->o);
  cd_head_free(&r->h);
  cd_prompt_free(&r->p);
}

static void check_sessions(const cd_clip *m) {
  float img[N * EMB], w[N];
  int32_t y[N];
  cd_test_fill(img, N * EMB, 5, 1.0f);
  cd_l2_normalize_rows(img, N, EMB);
  for (int i = 0; i < N; i++) y[i] = i % NCLS, w[i] = 0.5f + 0.25f * (i % 4);
  run alone[RUNS], lock[RUNS];
  cd_error e;
  int failed = -1;
  for (int i = 0; i < RUNS; i++) {
    run_init(&alone[i], m, i, img, y, w);
    run_init(&lock[i], m, i, img, y, w);
    /* run 0 was interrupted after its first epoch: it resumes from there in both */
    if (i == 0) {
      CHECK(!cd_tune_session_run(&alone[0].s, 1, &alone[0].hk, &e), "%s", e.msg);
      CHECK(!cd_tune_session_run(&lock[0].s, 1, &lock[0].hk, &e), "%s", e.msg);
    }
    CHECK(!cd_tune_session_run(&alone[i].s, 0, &alone[i].hk, &e), "%s", e.msg);
  }
  cd_tune_session *sp[RUNS];
  const cd_tune_hooks *hp[RUNS];
  for (int i = 0; i < RUNS; i++) sp[i] = &lock[i].s, hp[i] = &lock[i].hk;
  CHECK(cd_tune_lockstep_compatible(sp, RUNS), "the runs should share a tower pass");
  CHECK(!cd_tune_lockstep_run(sp, hp, RUNS, 0, NULL, &failed, NULL, &e), "%s", e.msg);
  for (int i = 0; i < RUNS; i++) {
    int steps = (int)alone[i].o.step;
    int ok = steps == (int)lock[i].o.step && same_bits(alone[i].log.loss, lock[i].log.loss, steps < MAXSTEPS ? steps : MAXSTEPS) &&
             same_bits(alone[i].p.ctx, lock[i].p.ctx, alone[i].p.ctx_numel) &&
             same_bits(alone[i].o.m, lock[i].o.m, alone[i].o.n) &&
             (!alone[i].o.v || same_bits(alone[i].o.v, lock[i].o.v, alone[i].o.n));
    double moved = 0;
    cd_prompt init;
    if (!make_prompt(&init, m->text.tf.width, 0, CD_CLASS_END)) {
      cd_prompt_init_random(&init, 100 + (uint64_t)i, 0.3f);
      for (size_t k = 0; k < init.ctx_numel; k++) moved += fabs(init.ctx[k] - lock[i].p.ctx[k]);
      cd_prompt_free(&init);
    }
    printf("  run %d: %d steps, epochs %d/%d, last loss %.6f: losses, context and optimiser state %s "
           "(context moved %.3g)\n", i, steps, lock[i].s.epoch, alone[i].s.epoch, lock[i].log.loss[steps - 1],
           ok ? "same bits" : "DIFFER", moved);
    CHECK(ok, "run %d: lockstep differs from the run alone", i);
    CHECK(moved > 1e-3, "run %d: the context did not move: the check would pass vacuously", i);
    CHECK(lock[i].s.epoch == EPOCHS, "run %d stopped at epoch %d", i, lock[i].s.epoch);
  }
  /* a linear head cannot join */
  cd_head lin;
  float txt[NCLS * EMB];
  cd_test_fill(txt, NCLS * EMB, 3, 1.0f);
  if (!cd_head_init_linear(&lin, txt, NCLS, EMB, 2.0f, &e)) {
    cd_tune_session *keep = sp[1];
    cd_head *h = lock[1].s.head;
    lock[1].s.head = &lin;
    CHECK(!cd_tune_lockstep_compatible(sp, RUNS), "a linear head was accepted into a lockstep group");
    CHECK(cd_tune_lockstep_run(sp, hp, RUNS, 0, NULL, &failed, NULL, &e) && failed == -1,
          "lockstep with a linear head did not fail");
    lock[1].s.head = h;
    sp[1] = keep;
    cd_head_free(&lin);
  }
  for (int i = 0; i < RUNS; i++) run_free(&alone[i]), run_free(&lock[i]);
}

/* A run that diverges leaves the group with the message it gets alone; the other goes on
 * with its bits. */
static void check_divergence(const cd_clip *m) {
  float img[N * EMB], w[N];
  int32_t y[N];
  cd_test_fill(img, N * EMB, 5, 1.0f);
  cd_l2_normalize_rows(img, N, EMB);
  for (int i = 0; i < N; i++) y[i] = i % NCLS, w[i] = 1.0f;
  run alone[2], lock[2];
  cd_error e, alone_msg, msgs[2];
  int failed = -1;
  for (int i = 0; i < 2; i++) {
    run_init_lr(&alone[i], m, i, img, y, w, i == 1 ? 1e36 : 0);
    run_init_lr(&lock[i], m, i, img, y, w, i == 1 ? 1e36 : 0);
  }
  CHECK(!cd_tune_session_run(&alone[0].s, 0, &alone[0].hk, &e), "%s", e.msg);
  int rc = cd_tune_session_run(&alone[1].s, 0, &alone[1].hk, &alone_msg);
  CHECK(rc && alone[1].s.diverged, "lr 1e36 did not diverge alone");
  cd_tune_session *sp[2] = {&lock[0].s, &lock[1].s};
  const cd_tune_hooks *hp[2] = {&lock[0].hk, &lock[1].hk};
  CHECK(!cd_tune_lockstep_run(sp, hp, 2, 0, NULL, &failed, msgs, &e), "lockstep failed: %s", e.msg);
  int same_div = lock[1].s.diverged && lock[1].s.diverged_epoch == alone[1].s.diverged_epoch &&
                 !strcmp(msgs[1].msg, alone_msg.msg);
  int same_other = alone[0].o.step == lock[0].o.step && same_bits(alone[0].p.ctx, lock[0].p.ctx, alone[0].p.ctx_numel);
  printf("  divergence: alone \"%s\"; in lockstep %s, the other run %s\n", alone_msg.msg,
         same_div ? "the same epoch and message" : "DIFFERENT", same_other ? "same bits" : "DIFFERS");
  CHECK(same_div, "lockstep divergence differs: \"%s\" vs \"%s\"", msgs[1].msg, alone_msg.msg);
  CHECK(same_other, "the run beside a diverged one differs from the run alone");
  for (int i = 0; i < 2; i++) run_free(&alone[i]), run_free(&lock[i]);
}

static void check_all(int threads) {
  cd_threads_set(threads);
  printf("threads %d:\n", threads);
  const struct {
    int width, heads, mlp;
  } shapes[] = {{16, 2, 64}, {24, 3, 40}};
  for (int s = 0; s < 2; s++) {
    cd_tiny_clip t;
    cd_tiny_dims d = {shapes[s].width, 2, shapes[s].heads, shapes[s].mlp, VOCAB, CTXLEN, EMB, CD_ACT_QUICKGELU};
    if (cd_tiny_clip_build(&t, &d, 3 + (uint64_t)s)) {
      CHECK(0, "cannot build the tiny model");
      return;
    }
    t.m.logit_scale_log = logf(20.0f);
    check_copies(&t.m, shapes[s].width, 0, CD_CLASS_END, COPIES);
    check_copies(&t.m, shapes[s].width, 0, CD_CLASS_END, 3);
    check_copies(&t.m, shapes[s].width, 1, CD_CLASS_MIDDLE, COPIES);
    if (s == 0) check_sessions(&t.m), check_divergence(&t.m);
    if (s == 0) { /* again with the input gradients through transposed rows (a large tower's) */
      cd_weight *tw[4 * 2 + 1];
      int ntw = cd_clip_text_weights(&t.m, tw);
      cd_error e;
      for (int i = 0; i < ntw; i++) CHECK(cd_weight_transpose_rows(tw[i], &e) == 0 && tw[i]->rows_t, "transposing");
      printf("with transposed rows:\n");
      check_copies(&t.m, shapes[s].width, 0, CD_CLASS_END, COPIES);
      check_copies(&t.m, shapes[s].width, 1, CD_CLASS_MIDDLE, COPIES);
      check_sessions(&t.m);
      cd_clip_free_text_rows_t(&t.m);
    }
    cd_tiny_clip_free(&t);
  }
}

int main(void) {
  check_all(1);
  check_all(2);
  return cd_test_finish("test_lockstep");
}
