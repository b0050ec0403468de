/* cd_run_group (models/run/run.h): several runs in one process, their prompt-tuned pairs in
 * lockstep across the runs, on the fixture model and the Waterbirds fixture. Checks that every
 * run's files are those of the same run alone (cd_run), bit for bit, for runs that share the
 * tower's pass (another --dims, another --eta) and one that does not (another prompt layout:
 * --n-ctx 3); that a run which cannot start (a missing cache) fails alone; and that a group
 * stopped inside training (one pair's epoch hook) stops its runs resumably, the rerun giving
 * the same files again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/run/run.h"
#include "tests/testutil.h"

#define MODEL "tests/fixtures/model/hf_f32"

static const char *const PAIR_FILES[] = {"metrics.jsonl", "ctx_selected.npy", "ctx_last.npy", "predictions.npy"};
static const char *const METHODS[] = {"erm", "dpt", "oracle"};

static void config(cd_run_config *c, const char *cache, const char *out) {
  cd_run_config_default(c);
  c->cache_dir = cache, c->model = MODEL, c->out_dir = out;
  c->optim.max_epoch = 2;
  c->seeds[0] = 0, c->seeds[1] = 1, c->n_seeds = 2;
}

/* Every pair's files and the run's own (metrics.jsonl, a_pseudo.npy, zero-shot predictions,
 * projection.npy when reduced) are the same in both folders. */
static void same_run(const char *a, const char *b, int reduced, const char *what) {
  char pa[4096], pb[4096];
  const char *top[] = {"metrics.jsonl", "a_pseudo.npy", "zeroshot/predictions.npy", "projection.npy"};
  int n = 0, same = 1;
  for (int k = 0; k < 3 + reduced; k++) {
    snprintf(pa, sizeof pa, "%s/%s", a, top[k]), snprintf(pb, sizeof pb, "%s/%s", b, top[k]);
    same &= cd_test_same_file(pa, pb), n++;
  }
  for (int m = 0; m < 3; m++)
    for (int s = 0; s < 2; s++)
      for (int f = 0; f < 4; f++) {
        snprintf(pa, sizeof pa, "%s/%s/seed%d/%s", a, METHODS[m], s, PAIR_FILES[f]);
        snprintf(pb, sizeof pb, "%s/%s/seed%d/%s", b, METHODS[m], s, PAIR_FILES[f]);
        same &= cd_test_same_file(pa, pb), n++;
      }
  CHECK(same, "%s: %d files differ from the run alone", what, n);
  if (same) printf("%s: %d files = the run alone\n", what, n);
}

static int stop_dpt_seed1(void *user, cd_method m, int seed, int epoch) {
  (void)user;
  return m == CD_METHOD_DPT && seed == 1 && epoch == 1;
}

int main(void) {
  char dir[512], cache[600], embed[600];
  if (cd_test_make_tmpdir(dir, sizeof dir, "run_group")) return 1;
  snprintf(embed, sizeof embed, "%s/embed", dir);
  snprintf(cache, sizeof cache, "%s/embed/cache", dir);
  cd_error e;
  /* the cache: a run with --dataset embeds it into RUN_DIR/cache */
  cd_dataset_opts ds = {.name = "waterbirds", .root = "tests/fixtures/datasets/waterbirds/wilds"};
  cd_run_config c0;
  config(&c0, NULL, embed);
  c0.dataset = &ds, c0.skip_bad = 1, c0.methods[0] = CD_METHOD_ZEROSHOT, c0.n_methods = 1;
  if (cd_run(&c0, NULL, &e)) {
    CHECK(0, "embedding the fixture: %s", e.msg);
    return cd_test_finish("test_run_group");
  }

  enum { N = 4 };
  const char *names[N] = {"dims4_eta1", "full_eta2", "nctx3", "nocache"};
  char group_out[N][700], alone_out[N][700], missing[700];
  cd_run_config g[N], a[N];
  snprintf(missing, sizeof missing, "%s/no-cache", dir);
  for (int i = 0; i < N; i++) {
    snprintf(group_out[i], sizeof group_out[i], "%s/group/%s", dir, names[i]);
    snprintf(alone_out[i], sizeof alone_out[i], "%s/alone/%s", dir, names[i]);
    config(&g[i], i == 3 ? missing : cache, group_out[i]);
  }
  g[0].dims = 4, g[0].debias.eta = 1;
  g[1].debias.eta = 2;
  g[2].n_ctx = 3, g[2].ctx_init = ""; /* another prompt layout: its own lockstep group */
  for (int i = 0; i < N; i++) a[i] = g[i], a[i].out_dir = alone_out[i];

  /* stopped inside training: dpt seed 1 of the second run asks to stop after its epoch 1 */
  const cd_run_config *cp[N] = {&g[0], &g[1], &g[2], &g[3]};
  FILE *logs[N] = {NULL, NULL, NULL, NULL};
  int rc[N];
  cd_error errs[N];
  g[1].on_epoch = stop_dpt_seed1;
  cd_run_group(cp, N, logs, rc, errs);
  CHECK(rc[1] == -1 && strstr(errs[1].msg, "stopped after epoch 1"), "the stopped run: rc %d, %s", rc[1], errs[1].msg);
  CHECK(rc[0] == -1 && strstr(errs[0].msg, "stopped with the pairs trained in lockstep with") &&
            strstr(errs[0].msg, names[1]),
        "a run of its lockstep group stops with it: rc %d, %s", rc[0], errs[0].msg);
  CHECK(rc[2] == 0, "the run of another prompt layout (another lockstep group, trained first) finished: %d %s", rc[2],
        errs[2].msg);
  CHECK(rc[3] == -1 && strstr(errs[3].msg, "no-cache"), "the run without a cache fails alone: %s", errs[3].msg);
  g[1].on_epoch = NULL;

  /* the rerun resumes every pair where it stopped */
  cd_run_group(cp, N, logs, rc, errs);
  for (int i = 0; i < 3; i++) CHECK(rc[i] == 0, "rerun %s: rc %d, %s", names[i], rc[i], errs[i].msg);
  for (int i = 0; i < 3; i++) {
    int r = cd_run(&a[i], NULL, &e);
    CHECK(r == 0, "%s alone: %s", names[i], e.msg);
  }
  for (int i = 0; i < 3; i++) same_run(group_out[i], alone_out[i], i == 0, names[i]);

  /* a group straight through, without the interruption */
  for (int i = 0; i < 3; i++) {
    snprintf(group_out[i], sizeof group_out[i], "%s/straight/%s", dir, names[i]);
    g[i].out_dir = group_out[i];
  }
  cd_run_group(cp, 3, logs, rc, errs);
  for (int i = 0; i < 3; i++) {
    CHECK(rc[i] == 0, "straight %s: rc %d, %s", names[i], rc[i], errs[i].msg);
    same_run(group_out[i], alone_out[i], i == 0, names[i]);
  }
  cd_test_remove_tmpdir(dir);
  return cd_test_finish("test_run_group");
}
