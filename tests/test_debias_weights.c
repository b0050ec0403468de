/* Group weights against hand computation: the DPT target (exp(η(1 − p̄)) / N_g, mean per-sample
 * weight 1), its EMA, inverse frequency at η = 0, GroupDRO's q step; then the stateful
 * reweighting over batches (per-epoch p̄, per-step running estimates, GroupDRO batch weights
 * and denominators) and the state file round trip. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models/debias/group_weights.h"
#include "models/debias/reweight.h"
#include "tests/testutil.h"

static int near(double a, double b, double tol) { return fabs(a - b) <= tol; }

static void check_dpt_target(void) {
  const int64_t n[4] = {6, 2, 1, 3};
  const double p[4] = {0.9, 0.5, 0.2, 0.7};
  /* numpy: exp(2(1-p))/n scaled to sum(n w) = sum(n) */
  const double want[4] = {0.22798348, 1.52215967, 5.54711151, 0.68022276};
  double w[4], mass = 0;
  cd_dpt_target(4, n, p, 2.0, w);
  for (int g = 0; g < 4; g++) {
    CHECK(near(w[g], want[g], 5e-8), "dpt target w[%d] = %.9f, hand %.8f", g, w[g], want[g]);
    mass += (double)n[g] * w[g];
  }
  CHECK(near(mass, 12, 1e-12), "mean per-sample weight %.15f, want 1", mass / 12);
  /* ratio of two groups' total weight = exp(η (p_h - p_g)) */
  double r = (w[2] * 1) / (w[0] * 6);
  CHECK(near(r, exp(2 * (0.9 - 0.2)), 1e-12), "group mass ratio %.12f vs exp(1.4)", r);
  printf("dpt target: [%.8f %.8f %.8f %.8f], mean per-sample weight %.15f\n", w[0], w[1], w[2], w[3], mass / 12);

  /* η = 0: inverse frequency, every group carries N / G_present of the weight */
  const int64_t n2[4] = {6, 0, 2, 4};
  cd_dpt_target(4, n2, p, 0.0, w);
  CHECK(near(w[0], 12.0 / 3 / 6, 1e-15) && w[1] == 0 && near(w[2], 2.0, 1e-15) && near(w[3], 1.0, 1e-15),
        "inverse frequency with an empty group: %g %g %g %g", w[0], w[1], w[2], w[3]);

  /* EMA keeps the normalisation */
  double a[4] = {1, 1, 1, 1}, t[4];
  cd_dpt_target(4, n, p, 2.0, t);
  cd_weights_ema(4, a, t, 0.9);
  double m2 = 0;
  for (int g = 0; g < 4; g++) {
    CHECK(near(a[g], 0.9 + 0.1 * want[g], 5e-9), "ema w[%d] = %.9f", g, a[g]);
    m2 += (double)n[g] * a[g];
  }
  CHECK(near(m2, 12, 1e-12), "EMA broke the normalisation: %.15f", m2 / 12);
}

static void check_gdro(void) {
  const int64_t n[4] = {5, 1, 3, 2}, n0[4] = {5, 0, 3, 2};
  double q[4], loss[4] = {1.0, 0.5, 0.0, 2.0};
  cd_gdro_init(4, n, q);
  CHECK(q[0] == 0.25 && q[3] == 0.25, "uniform start %g", q[0]);
  cd_gdro_update(4, q, loss, 0.1);
  const double want[4] = {0.25244635, 0.24013439, 0.2284229, 0.27899636};
  for (int g = 0; g < 4; g++) CHECK(near(q[g], want[g], 5e-9), "gdro q[%d] = %.9f, hand %.8f", g, q[g], want[g]);
  printf("gdro q after one step: [%.8f %.8f %.8f %.8f]\n", q[0], q[1], q[2], q[3]);
  cd_gdro_init(4, n0, q);
  CHECK(q[1] == 0 && near(q[0], 1.0 / 3, 1e-15), "an empty group starts at q 0: %g %g", q[0], q[1]);
  double big[4] = {900, 0, 0, 0};
  cd_gdro_update(4, q, big, 1.0);
  CHECK(near(q[0], 1.0, 1e-12) && q[1] == 0 && isfinite(q[2]), "large step overflowed: %g %g", q[0], q[2]);
}

/* 8 training samples, groups 0 0 0 1 2 2 3 3 */
static const int32_t GROUP[8] = {0, 0, 0, 1, 2, 2, 3, 3};

static void check_dpt_epochs(void) {
  cd_reweight r;
  cd_error e;
  cd_reweight_params par = {CD_REWEIGHT_DPT, 2.0, 0.9, CD_DPT_EPOCH, 0, 0};
  CHECK(!cd_reweight_init(&r, &par, GROUP, 8, 4, &e), "%s", e.msg);
  const double p0[8] = {0.9, 0.8, 1.0, 0.3, 0.6, 0.4, 0.7, 0.9};
  cd_reweight_start(&r, p0);
  /* p̄ = [0.9, 0.3, 0.5, 0.8], counts [3,1,2,2] */
  const int64_t n[4] = {3, 1, 2, 2};
  const double pb[4] = {0.9, 0.3, 0.5, 0.8};
  double t[4];
  cd_dpt_target(4, n, pb, 2.0, t);
  for (int g = 0; g < 4; g++) CHECK(near(r.w[g], t[g], 1e-15), "initial w[%d] %g vs target %g", g, r.w[g], t[g]);
  /* a batch of samples 0, 3, 4, 6: w_i = w_{g_i}, denominator Σ w_i */
  int idx[4] = {0, 3, 4, 6};
  double ce[4] = {0.1, 1.2, 0.5, 0.3}, pt[4] = {0.5, 0.1, 0.6, 0.7};
  float w[4];
  double den;
  cd_reweight_batch(&r, idx, 4, ce, pt, w, &den);
  CHECK(w[0] == (float)t[0] && w[1] == (float)t[1] && w[2] == (float)t[2] && w[3] == (float)t[3],
        "batch weights %g %g %g %g", w[0], w[1], w[2], w[3]);
  CHECK(near(den, (double)w[0] + w[1] + w[2] + w[3], 1e-12), "denominator %g", den);
  int idx2[2] = {1, 7};
  double ce2[2] = {0, 0}, pt2[2] = {0.3, 0.5};
  cd_reweight_batch(&r, idx2, 2, ce2, pt2, w, &den);
  CHECK(r.w[0] == t[0], "epoch mode changed w inside the epoch");
  cd_reweight_epoch_end(&r);
  /* epoch p̄: g0 (0.5 + 0.3)/2 = 0.4, g1 0.1, g2 0.6, g3 (0.7 + 0.5)/2 = 0.6 */
  const double pe[4] = {0.4, 0.1, 0.6, 0.6};
  double t2[4];
  cd_dpt_target(4, n, pe, 2.0, t2);
  for (int g = 0; g < 4; g++) {
    CHECK(near(r.p_bar[g], pe[g], 1e-15), "epoch p_bar[%d] %g vs %g", g, r.p_bar[g], pe[g]);
    CHECK(near(r.w[g], 0.9 * t[g] + 0.1 * t2[g], 1e-14), "EMA w[%d]", g);
  }
  /* state file: round trip of the last two epochs */
  char dir[256];
  if (cd_test_make_tmpdir(dir, sizeof dir, "weights") == 0) {
    const char *path = cd_test_path(dir, "ctx.weights.json");
    double w1[4];
    memcpy(w1, r.w, sizeof w1);
    CHECK(!cd_reweight_save(&r, path, 1, &e), "%s", e.msg);
    cd_reweight_epoch_end(&r); /* nothing seen: p̄ kept, w moves toward the same target */
    CHECK(!cd_reweight_save(&r, path, 2, &e), "%s", e.msg);
    double w2[4];
    memcpy(w2, r.w, sizeof w2);
    CHECK(!cd_reweight_load(&r, path, 1, &e) && !memcmp(r.w, w1, sizeof w1), "epoch 1 state not restored");
    CHECK(!cd_reweight_load(&r, path, 2, &e) && !memcmp(r.w, w2, sizeof w2), "epoch 2 state not restored");
    CHECK(cd_reweight_load(&r, path, 7, &e) == -1 && strstr(e.msg, "epoch 7"), "missing epoch: '%s'", e.msg);
    cd_test_remove_tmpdir(dir);
  }
  cd_reweight_free(&r);
}

static void check_dpt_steps(void) {
  cd_reweight r;
  cd_error e;
  cd_reweight_params par = {CD_REWEIGHT_DPT, 1.0, 0.5, CD_DPT_STEP, 0, 0};
  cd_reweight_init(&r, &par, GROUP, 8, 4, &e);
  const double p0[8] = {0.9, 0.8, 1.0, 0.3, 0.6, 0.4, 0.7, 0.9};
  cd_reweight_start(&r, p0);
  double w0[4];
  memcpy(w0, r.w, sizeof w0);
  int idx[2] = {3, 4};
  double ce[2] = {0, 0}, pt[2] = {0.7, 0.2};
  float w[2];
  double den;
  cd_reweight_batch(&r, idx, 2, ce, pt, w, &den);
  CHECK(w[0] == (float)w0[1] && w[1] == (float)w0[2], "step mode: the batch uses the weights before its update");
  /* running p̄: g1 0.5·0.3 + 0.5·0.7 = 0.5, g2 0.5·0.5 + 0.5·0.2 = 0.35, others kept */
  CHECK(near(r.p_bar[1], 0.5, 1e-15) && near(r.p_bar[2], 0.35, 1e-15) && near(r.p_bar[0], 0.9, 1e-15),
        "running p_bar %g %g %g", r.p_bar[0], r.p_bar[1], r.p_bar[2]);
  const int64_t n[4] = {3, 1, 2, 2};
  double t[4];
  cd_dpt_target(4, n, r.p_bar, 1.0, t);
  for (int g = 0; g < 4; g++) CHECK(near(r.w[g], 0.5 * w0[g] + 0.5 * t[g], 1e-14), "step EMA w[%d]", g);
  cd_reweight_free(&r);
}

static void check_gdro_batches(void) {
  cd_reweight r;
  cd_error e;
  cd_reweight_params par = {CD_REWEIGHT_GDRO, 0, 0, CD_DPT_EPOCH, 0.5, 1.0};
  cd_reweight_init(&r, &par, GROUP, 8, 4, &e);
  cd_reweight_start(&r, NULL);
  int idx[3] = {0, 1, 7};
  double ce[3] = {0.2, 0.6, 1.0}, pt[3] = {0.8, 0.5, 0.4};
  float w[3];
  double den;
  cd_reweight_batch(&r, idx, 3, ce, pt, w, &den);
  /* batch group losses + 1/sqrt(N_g): g0 0.4 + 1/sqrt3, g1 0 + 1, g2 0 + 1/sqrt2, g3 1.0 + 1/sqrt2 */
  double l[4] = {0.4 + 1 / sqrt(3.0), 1.0, 1 / sqrt(2.0), 1.0 + 1 / sqrt(2.0)}, q[4], s = 0;
  for (int g = 0; g < 4; g++) s += q[g] = 0.25 * exp(0.5 * l[g]);
  for (int g = 0; g < 4; g++) CHECK(near(r.w[g], q[g] / s, 1e-14), "gdro q[%d] %g vs %g", g, r.w[g], q[g] / s);
  CHECK(den == 1.0, "gdro denominator %g", den);
  CHECK(near(w[0], q[0] / s / 2, 1e-7) && near(w[1], q[0] / s / 2, 1e-7) && near(w[2], q[3] / s, 1e-7),
        "gdro sample weights q_g / n_g: %g %g %g", w[0], w[1], w[2]);
  /* Σ w_i CE_i = Σ_g q_g · (unadjusted) mean loss_g */
  double robust = (q[0] * 0.4 + q[3] * 1.0) / s, got = w[0] * 0.2 + w[1] * 0.6 + w[2] * 1.0;
  CHECK(near(got, robust, 1e-7), "weighted batch loss %g vs robust loss %g", got, robust);
  cd_reweight_free(&r);
  /* a sample without a group is refused */
  const int32_t bad[2] = {0, -1};
  CHECK(cd_reweight_init(&r, &par, bad, 2, 4, &e) == -1 && strstr(e.msg, "sample 1"), "'%s'", e.msg);
}

int main(void) {
  check_dpt_target();
  check_gdro();
  check_dpt_epochs();
  check_dpt_steps();
  check_gdro_batches();
  return cd_test_finish("test_debias_weights");
}
