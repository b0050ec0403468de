/* The public API's main job end to end on the shipped toy CLIP and a small toy world: a data
 * set embedded into a cache and inspected, zero-shot and pseudo-labels, a run of methods over
 * a seed and a one-pair tune, and their metrics read back, each checked against the engine's
 * own files (results.json, a_pseudo.npy, predictions.npy) and against each other. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipdebias.h"
#include "core/npy.h"
#include "data/toyworld/toyworld.h"
#include "tests/testutil.h"

#define TOYCLIP "models/toyclip"
#define ERR char err[1024] = ""

static int32_t *read_i32(const char *path, int n) {
  cd_array a = {0};
  cd_error e;
  if (cd_npy_load(path, &a, &e) || a.dtype != CD_I32 || (int)a.numel != n) {
    CHECK(0, "%s: %s", path, e.msg);
    cd_array_free(&a);
    return NULL;
  }
  return a.data;
}

/* The cache made from the world agrees with the data set it came from. */
static void check_cache(const clipdebias_cache *c, int images) {
  int rows = clipdebias_cache_rows(c);
  CHECK(rows == images, "rows %d, images %d", rows, images);
  CHECK(clipdebias_cache_dims(c) == 96 && clipdebias_cache_classes(c) == 2 && clipdebias_cache_attributes(c) == 2 &&
            clipdebias_cache_groups(c) == 4,
        "dims %d classes %d attrs %d groups %d", clipdebias_cache_dims(c), clipdebias_cache_classes(c),
        clipdebias_cache_attributes(c), clipdebias_cache_groups(c));
  CHECK(!strcmp(clipdebias_cache_dataset(c), "waterbirds") && !strcmp(clipdebias_cache_class_name(c, 1), "waterbird") &&
            !strcmp(clipdebias_cache_attribute_name(c, 0), "land") && !clipdebias_cache_class_name(c, 2),
        "names %s %s %s", clipdebias_cache_dataset(c), clipdebias_cache_class_name(c, 1),
        clipdebias_cache_attribute_name(c, 0));
  int sum = 0;
  for (int s = 0; s < 3; s++) sum += clipdebias_cache_split_rows(c, s);
  CHECK(sum == rows && clipdebias_cache_split_rows(c, 0) > 0, "split rows sum %d of %d", sum, rows);
  float *f = malloc(sizeof(float) * 2 * 96);
  ERR;
  CHECK(clipdebias_cache_features(c, rows - 2, 2, 1, f, err, sizeof err) == 0, "%s", err);
  double norm = 0;
  for (int k = 0; k < 96; k++) norm += (double)f[k] * f[k];
  CHECK(fabs(norm - 1) < 1e-5, "normalised row: |x|^2 = %g", norm);
  CHECK(clipdebias_cache_features(c, rows - 1, 2, 0, f, err, sizeof err) != 0 && strstr(err, "outside"),
        "rows past the end refused: %s", err);
  free(f);
}

/* Two shards embedded apart and merged: the same features and rows as the whole cache. */
static void check_shards(const clipdebias_model *m, const clipdebias_dataset *d, const char *dir) {
  ERR;
  char shard[2][512];
  for (int i = 0; i < 2; i++) {
    snprintf(shard[i], sizeof shard[i], "%s/shard%d", dir, i);
    clipdebias_embed_options o = {.shard_index = i, .shard_count = 2};
    CHECK(clipdebias_embed_dataset(m, d, shard[i], &o, NULL, err, sizeof err) == 0, "shard %d: %s", i, err);
  }
  const char *const dirs[2] = {shard[1], shard[0]};
  CHECK(clipdebias_cache_merge(cd_test_path(dir, "merged"), dirs, 2, err, sizeof err) == 0, "merge: %s", err);
  CHECK(cd_test_same_file(cd_test_path(dir, "merged/features.npy"), cd_test_path(dir, "cache/features.npy")) &&
            cd_test_same_file(cd_test_path(dir, "merged/index.csv"), cd_test_path(dir, "cache/index.csv")),
        "merged shards == the whole cache");
  CHECK(clipdebias_cache_merge(cd_test_path(dir, "merged1"), dirs, 1, err, sizeof err) && strstr(err, "shard"),
        "one shard of two refused: %s", err);
}

/* metrics of an entry on the test split: avg and worst equal to within the JSON's digits */
static void same_split(const clipdebias_metrics *a, int ea, const clipdebias_metrics *b, int eb, const char *what) {
  double avg_a, worst_a, avg_b, worst_b, acc_a[4], acc_b[4];
  int found = clipdebias_metrics_split(a, ea, 2, &avg_a, &worst_a, NULL, acc_a, NULL) == 0 &&
              clipdebias_metrics_split(b, eb, 2, &avg_b, &worst_b, NULL, acc_b, NULL) == 0;
  CHECK(found, "%s: test split missing", what);
  if (!found) return; /* nothing to compare (the values were never written) */
  CHECK(fabs(avg_a - avg_b) < 1e-9 && fabs(worst_a - worst_b) < 1e-9, "%s: avg %.6f vs %.6f, worst %.6f vs %.6f", what,
        avg_a, avg_b, worst_a, worst_b);
  for (int g = 0; g < 4; g++) CHECK(fabs(acc_a[g] - acc_b[g]) < 1e-9, "%s: group %d %.6f vs %.6f", what, g, acc_a[g], acc_b[g]);
}

static int entry_of(const clipdebias_metrics *r, const char *name) {
  for (int i = 0; i < clipdebias_metrics_count(r); i++)
    if (!strcmp(clipdebias_metrics_name(r, i), name)) return i;
  return -1;
}

static void check_run(const clipdebias_model *m, const clipdebias_cache *c, const char *dir) {
  ERR;
  int N = clipdebias_cache_rows(c);
  char run[512], tune[512]; /* cd_test_path's buffers rotate: these stay */
  snprintf(run, sizeof run, "%s", cd_test_path(dir, "run"));
  snprintf(tune, sizeof tune, "%s", cd_test_path(dir, "tune"));
  const char *opts[] = {"methods=zeroshot,erm,dpt", "seeds=0", "epochs=2", "batch=16"};
  CHECK(clipdebias_run(TOYCLIP, cd_test_path(dir, "cache"), run, opts, 4, NULL, err, sizeof err) == 0, "run: %s", err);
  clipdebias_metrics *res = clipdebias_metrics_read(run, err, sizeof err);
  CHECK(res != NULL, "read %s: %s", run, err);
  if (!res) return;
  CHECK(clipdebias_metrics_count(res) == 3 && clipdebias_metrics_groups(res) == 4, "entries %d groups %d",
        clipdebias_metrics_count(res), clipdebias_metrics_groups(res));
  /* zero-shot through the API == the run's zeroshot row */
  int32_t *pred = malloc(sizeof(int32_t) * (size_t)N), *attr = malloc(sizeof(int32_t) * (size_t)N);
  CHECK(clipdebias_zeroshot(m, c, NULL, NULL, 0, pred, NULL, err, sizeof err) == 0, "zeroshot: %s", err);
  clipdebias_metrics *zs = clipdebias_evaluate(c, pred, err, sizeof err);
  CHECK(zs != NULL, "evaluate: %s", err);
  int32_t *run_zs = read_i32(cd_test_path(run, "zeroshot/predictions.npy"), N);
  CHECK(run_zs && !memcmp(run_zs, pred, sizeof(int32_t) * (size_t)N), "zero-shot predictions == the run's");
  if (zs) same_split(zs, 0, res, entry_of(res, "zeroshot"), "zeroshot vs results.json");
  /* pseudo-labels with the data set's default prompts == the run's a_pseudo.npy */
  CHECK(clipdebias_pseudolabels(m, c, NULL, 0, attr, err, sizeof err) == 0, "pseudolabels: %s", err);
  int32_t *run_a = read_i32(cd_test_path(run, "a_pseudo.npy"), N);
  CHECK(run_a && !memcmp(run_a, attr, sizeof(int32_t) * (size_t)N), "pseudo-labels == the run's a_pseudo.npy");
  const char *const *prompts;
  int K;
  CHECK(clipdebias_cache_attr_prompts(c, NULL, 0, &prompts, &K, err, sizeof err) == 0 && K == 2 &&
            !strcmp(prompts[1], "a photo of a bird on water."),
        "default prompts: %s", err);
  const char *saved = cd_test_path(dir, "a_pseudo.npy");
  CHECK(clipdebias_pseudolabels_save(c, attr, prompts, K, saved, NULL, err, sizeof err) == 0, "save: %s", err);
  CHECK(cd_test_same_file(saved, cd_test_path(run, "a_pseudo.npy")), "saved pseudo-labels == the run's file");
  const char *single[1] = {"a bird."};
  CHECK(clipdebias_pseudolabels(m, c, single, 1, attr, err, sizeof err) && strstr(err, "1 attribute prompts for 2"),
        "one prompt for two values refused: %s", err);
  /* the dpt pair's selected context, predicted through the API == its row in results.json */
  const char *kind = NULL;
  CHECK(clipdebias_predict_saved(m, c, cd_test_path(run, "dpt/seed0/ctx_selected.npy"), NULL, stderr, pred, &kind, err,
                                 sizeof err) == 0 &&
            kind && !strcmp(kind, "prompt"),
        "predict_saved: %s", err);
  clipdebias_metrics *dpt = clipdebias_evaluate(c, pred, err, sizeof err);
  if (dpt) same_split(dpt, 0, res, entry_of(res, "dpt"), "dpt ctx_selected vs results.json");
  /* a one-pair tune: the same pair as the run's, so the same context and numbers */
  char ctx[4200];
  CHECK(clipdebias_tune(TOYCLIP, cd_test_path(dir, "cache"), tune, "dpt", 0, opts + 2, 2, NULL, ctx, sizeof ctx, err,
                        sizeof err) == 0,
        "tune: %s", err);
  CHECK(cd_test_same_file(ctx, cd_test_path(run, "dpt/seed0/ctx_selected.npy")), "tune's %s == the run's", ctx);
  clipdebias_metrics *one = clipdebias_metrics_read(tune, err, sizeof err);
  CHECK(one && clipdebias_metrics_count(one) == 1 && !strcmp(clipdebias_metrics_name(one, 0), "dpt"), "tune: %s", err);
  if (one) same_split(one, 0, res, entry_of(res, "dpt"), "tune vs run");
  /* a stage folder's metrics.json reads back as written */
  const char *mj = cd_test_path(dir, "zs_metrics.json");
  CHECK(zs && clipdebias_metrics_write(zs, c, mj, "zeroshot", err, sizeof err) == 0, "write: %s", err);
  clipdebias_metrics *back = clipdebias_metrics_read(mj, err, sizeof err);
  CHECK(back && !strcmp(clipdebias_metrics_name(back, 0), "zeroshot"), "read back: %s", err);
  if (back && zs) same_split(back, 0, zs, 0, "metrics.json round trip");
  clipdebias_metrics_free(back), clipdebias_metrics_free(one), clipdebias_metrics_free(dpt);
  clipdebias_metrics_free(zs), clipdebias_metrics_free(res);
  free(pred), free(attr), free(run_zs), free(run_a);
}

static void check_refusals(const char *dir) {
  ERR;
  CHECK(!clipdebias_cache_open(cd_test_path(dir, "nope"), err, sizeof err) && strstr(err, "nope"),
        "a missing cache named: %s", err);
  CHECK(!clipdebias_metrics_read(cd_test_path(dir, "nope.json"), err, sizeof err) && strstr(err, "nope.json"),
        "missing metrics named: %s", err);
  /* a malformed results.json: the file, the method and the field named */
  const char *bad_res = cd_test_path(dir, "bad_results.json");
  FILE *fp = fopen(bad_res, "w");
  if (fp) fputs("{\"n_groups\": 4, \"methods\": {\"erm\": {\"test\": {\"groups\": [{\"acc\": 1}]}}}}\n", fp), fclose(fp);
  CHECK(!clipdebias_metrics_read(bad_res, err, sizeof err) &&
            strstr(err, "bad_results.json: method \"erm\": field \"test\": 1 groups, expected 4"),
        "a split with too few groups: %s", err);
  fp = fopen(bad_res, "w");
  if (fp) fputs("{\"n_groups\": \"4\", \"methods\": {}}\n", fp), fclose(fp);
  CHECK(!clipdebias_metrics_read(bad_res, err, sizeof err) &&
            strstr(err, "bad_results.json: field \"n_groups\": expected a number, found a string"),
        "n_groups of the wrong type: %s", err);
  const char *bad[] = {"eta=much"}, *unknown[] = {"speed=11"};
  CHECK(clipdebias_run(TOYCLIP, cd_test_path(dir, "cache"), cd_test_path(dir, "r2"), bad, 1, NULL, err, sizeof err) &&
            strstr(err, "eta=much: not a number"),
        "bad value: %s", err);
  CHECK(clipdebias_run(TOYCLIP, cd_test_path(dir, "cache"), cd_test_path(dir, "r2"), unknown, 1, NULL, err, sizeof err) &&
            strstr(err, "'speed': unknown"),
        "unknown option: %s", err);
  CHECK(clipdebias_tune(TOYCLIP, cd_test_path(dir, "cache"), cd_test_path(dir, "r3"), "zeroshot", 0, NULL, 0, NULL,
                        NULL, 0, err, sizeof err) &&
            strstr(err, "erm, dpt, oracle or gdro"),
        "tune of a training-free method: %s", err);
  clipdebias_embed_options o = {.splits = "train,,val"};
  CHECK(clipdebias_embed_options_check(&o, err, sizeof err) && strstr(err, "empty item"), "splits: %s", err);
  CHECK(!clipdebias_dataset_open("waterbirds", cd_test_path(dir, "nope"), NULL, err, sizeof err) && strstr(err, "nope"),
        "a missing data set root named: %s", err);
  CHECK(clipdebias_set_threads(100000, err, sizeof err) && strstr(err, "100000"), "threads: %s", err);
}

int main(void) {
  char dir[256];
  if (cd_test_make_tmpdir(dir, sizeof dir, "api_job")) return 1;
  cd_toyworld_options o;
  cd_toyworld_defaults(&o);
  o.scale = 0.02;
  cd_error e;
  ERR;
  CHECK(cd_toyworld_write_waterbirds(cd_test_path(dir, "world"), &o, &e) == 0, "%s", e.msg);
  /* trainable: the text tower as the run loads it, so zero-shot agrees bit for bit, and a
   * prompt context can run on it */
  clipdebias_load_options lo = {.need_tokenizer = 1, .trainable = 1};
  clipdebias_model *m = clipdebias_load_with(TOYCLIP, &lo, err, sizeof err);
  clipdebias_dataset *d = clipdebias_dataset_open("waterbirds", cd_test_path(dir, "world"), NULL, err, sizeof err);
  CHECK(m && d, "%s", err);
  clipdebias_embed_report r = {0};
  if (m && d)
    CHECK(clipdebias_embed_dataset(m, d, cd_test_path(dir, "cache"), NULL, &r, err, sizeof err) == 0 && !r.reused &&
              r.rows == clipdebias_dataset_images(d) && r.skipped == 0,
          "embed: %s (rows %d of %d)", err, r.rows, clipdebias_dataset_images(d));
  if (m && d)
    CHECK(clipdebias_embed_dataset(m, d, cd_test_path(dir, "cache"), NULL, &r, err, sizeof err) == 0 && r.reused,
          "a second embed reuses the cache: %s", err);
  if (m && d) check_shards(m, d, dir);
  clipdebias_cache *c = clipdebias_cache_open(cd_test_path(dir, "cache"), err, sizeof err);
  CHECK(c != NULL, "%s", err);
  if (c && d) check_cache(c, clipdebias_dataset_images(d));
  if (c && m) CHECK(clipdebias_cache_check_model(c, m, err, sizeof err) == 0, "%s", err);
  if (c && m) check_run(m, c, dir);
  check_refusals(dir);
  clipdebias_cache_close(c);
  clipdebias_dataset_close(d);
  clipdebias_free(m);
  cd_test_remove_tmpdir(dir);
  return cd_test_finish("test_api_job");
}
