/* A data set embedded with the library (committed fixture model) is a feature cache the
 * loader accepts: rows, labels and ids match the data set minus the skipped image, features
 * equal encoding the same files directly; one shard is refused by the loader and accepted
 * once merged; the merged cache equals the unsharded one. */
#include <stdlib.h>
#include <string.h>

#include "core/npy.h"
#include "data/datasets/feature_cache.h"
#include "models/embed/embed_dataset.h"
#include "tests/testutil.h"

static char g_dir[64];

static void embed(const cd_clip *m, const cd_dataset *d, const char *out, int shard, int count, cd_embed_dataset_result *r) {
  cd_embed_dataset_opts o = {{0, 0, 0}, shard, count, {4, 1, 0, NULL, "test", NULL, 0, CD_F32}};
  cd_error e = {{0}};
  CHECK(cd_embed_dataset(m, d, out, &o, r, &e) == 0, "embed into %s: %s", out, e.msg);
}

int main(void) {
  if (cd_test_make_tmpdir(g_dir, sizeof g_dir, "embed_dataset")) return 1;
  cd_error e = {{0}};
  cd_clip m;
  cd_clip_load_opts lo = {0};
  if (cd_clip_load(&m, "tests/fixtures/model/hf_f32", &lo, &e)) return fprintf(stderr, "%s\n", e.msg), 1;
  cd_dataset d;
  cd_dataset_opts dopts = {.name = "waterbirds", .root = "tests/fixtures/datasets/waterbirds/grpdro"};
  if (cd_dataset_load(&dopts, &d, &e)) return fprintf(stderr, "%s\n", e.msg), 1;

  char whole[128], parts[3][128];
  snprintf(whole, sizeof whole, "%s/whole", g_dir);
  cd_embed_dataset_result r;
  embed(&m, &d, whole, 0, 1, &r);
  CHECK(r.rows == 17 && r.skipped == 1 && r.total == 18 && !r.reused, "rows %d skipped %d", r.rows, r.skipped);
  cd_feature_cache c;
  CHECK(cd_feature_cache_load(whole, &c, &e) == 0, "load: %s", e.msg);
  if (c.N == 17) {
    CHECK(c.D == m.embed_dim && c.n_cls == 2 && c.n_attr == 2 && !strcmp(c.dataset, "waterbirds"), "shape and names");
    CHECK(!strcmp(c.model_path, "tests/fixtures/model/hf_f32") && !strncmp(c.model_checksum, "xxh64-16M:", 10), "model %s %s",
          c.model_path, c.model_checksum);
    int labels_ok = 1;
    for (int i = 0; i < c.N; i++) {
      int k = c.ids[i];
      labels_ok &= k >= 0 && k < d.n && !strcmp(c.filenames[i], d.filenames[k]) && c.y[i] == d.y[k] && c.a[i] == d.a[k] &&
                   c.split[i] == d.split[k];
    }
    CHECK(labels_ok, "every row's labels are its data set record's");
    /* Row 0 is the first record: encode its file directly and compare bit for bit. */
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", d.root, c.filenames[0]);
    cd_image_list l = {(const char *const[]){path}, 1, "", 0, 1, 0, 0, 0};
    char direct[128];
    snprintf(direct, sizeof direct, "%s/direct.npy", g_dir);
    cd_embed_opts eo = {1, 0, 0, direct, "direct", NULL, 0, CD_F32};
    cd_embed_result res;
    cd_array row0 = {0};
    CHECK(cd_image_list_slice(&l, &e) == 0 && cd_embed_image_list(&m, &l, &eo, &res, &e) == 0 &&
              cd_embed_result_commit(&res, direct, &e) == 0 && cd_npy_load_f32(direct, 2, &row0, &e) == 0,
          "direct: %s", e.msg);
    CHECK(res.rows == 1 && row0.shape[0] == 1 && !memcmp(row0.data, c.features, sizeof(float) * (size_t)c.D),
          "row 0 == encoding its file directly");
    cd_embed_result_free(&res);
    cd_array_free(&row0);
  }
  embed(&m, &d, whole, 0, 1, &r);
  CHECK(r.reused, "second run: reused");

  for (int k = 0; k < 3; k++) {
    snprintf(parts[k], sizeof parts[k], "%s/part%d", g_dir, k);
    embed(&m, &d, parts[k], k, 3, &r);
    CHECK(r.begin == 6 * k && r.end == 6 * k + 6, "shard %d covers [%d, %d)", k, r.begin, r.end);
  }
  cd_feature_cache p;
  CHECK(cd_feature_cache_load(parts[1], &p, &e) == -1 && strstr(e.msg, "shard 2 of 3 only"), "a shard is refused: %s", e.msg);
  CHECK(cd_feature_cache_load_shard(parts[1], &p, &e) == 0 && p.N == 6, "a shard loads as a shard (%d rows)", p.N);
  cd_feature_cache_free(&p);
  char merged[128];
  snprintf(merged, sizeof merged, "%s/merged", g_dir);
  const char *order[3] = {parts[2], parts[0], parts[1]};
  CHECK(cd_feature_cache_merge(merged, order, 3, &e) == 0, "merge: %s", e.msg);
  cd_feature_cache mc;
  CHECK(cd_feature_cache_load(merged, &mc, &e) == 0, "load merged: %s", e.msg);
  CHECK(mc.N == c.N && mc.D == c.D && !memcmp(mc.features, c.features, sizeof(float) * (size_t)c.N * (size_t)c.D) &&
            !memcmp(mc.ids, c.ids, sizeof(int32_t) * (size_t)c.N),
        "merged == whole");
  const char *two[2] = {parts[0], parts[1]};
  CHECK(cd_feature_cache_merge(merged, two, 2, &e) == -1 && strstr(e.msg, "but 2 caches were given"), "incomplete set: %s", e.msg);
  cd_feature_cache_free(&mc);
  cd_feature_cache_free(&c);
  cd_dataset_free(&d);
  cd_clip_free(&m);
  cd_test_remove_tmpdir(g_dir);
  return cd_test_finish("test_embed_dataset");
}
