/* Feature cache: exact round trip of every field (quoted file names, unknown attributes,
 * id gaps), the minimal cache.json, and one malformed cache per validation rule, each
 * checked for the message naming the file (and row) and the problem. */
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/npy.h"
#include "data/datasets/feature_cache.h"
#include "tests/testutil.h"

static char g_dir[64];

static char *names[] = {"landbird", "waterbird"};
static char *attrs[] = {"land", "water"};

/* A 5-row, 3-dim cache with awkward file names and one unknown attribute. */
typedef struct {
  cd_feature_cache c;
  float f[15];
  int32_t y[5], a[5], split[5], ids[5];
  char *files[5];
} sample;

static void make_sample(sample *s) {
  memset(s, 0, sizeof *s);
  static char *files[5] = {"001.Albatross/a b.jpg", "dir,with,commas/x.jpg", "q\"uote.jpg", "cat(indoor)/1.jpg", "e.png"};
  int32_t y[5] = {0, 1, 1, 0, 1}, a[5] = {0, 1, -1, 1, 0}, sp[5] = {0, 0, 1, 2, 2}, ids[5] = {0, 3, 4, 7, 100};
  for (int i = 0; i < 15; i++) s->f[i] = (float)(i * 0.37 - 2.0) / 3.0f;
  s->f[4] = -0.0f;
  s->f[7] = 1e-38f;
  memcpy(s->y, y, sizeof y);
  memcpy(s->a, a, sizeof a);
  memcpy(s->split, sp, sizeof sp);
  memcpy(s->ids, ids, sizeof ids);
  memcpy(s->files, files, sizeof files);
  cd_feature_cache *c = &s->c;
  c->N = 5, c->D = 3, c->features = s->f, c->y = s->y, c->a = s->a, c->split = s->split, c->ids = s->ids;
  c->filenames = s->files, c->n_cls = 2, c->n_attr = 2, c->classnames = names, c->attr_names = attrs;
  snprintf(c->dataset, sizeof c->dataset, "waterbirds");
  snprintf(c->model_path, sizeof c->model_path, "/models/tiny");
  snprintf(c->model_checksum, sizeof c->model_checksum, "xxh64:0123456789abcdef");
}

static const char *META =
    "{\"version\": 1, \"complete\": true,\n"
    " \"model\": {\"path\": \"/models/tiny\", \"layout\": \"hf\", \"embed_dim\": 3, \"image_size\": 32, \"checksum\": \"xxh64:0123456789abcdef\"},\n"
    " \"preprocess\": {\"resize\": \"bicubic\", \"crop\": \"center\", \"size\": 32},\n"
    " \"dataset\": {\"name\": \"waterbirds\", \"root\": \"/data/wb\", \"classnames\": [\"landbird\", \"waterbird\"],\n"
    "             \"attr_names\": [\"land\", \"water\"], \"official_split\": true},\n"
    " \"splits\": [\"train\", \"val\", \"test\"], \"rows\": 5, \"skipped\": []}\n";

static void test_round_trip(void) {
  sample s;
  make_sample(&s);
  cd_error e = {{0}};
  const char *dir = cd_test_path(g_dir, "good");
  CHECK(cd_feature_cache_write(dir, &s.c, META, &e) == 0, "write: %s", e.msg);
  cd_feature_cache c;
  CHECK(cd_feature_cache_load(dir, &c, &e) == 0, "load: %s", e.msg);
  if (c.N != 5) return;
  CHECK(c.D == 3 && !memcmp(c.features, s.f, sizeof s.f), "features bit-identical after the round trip");
  CHECK(!memcmp(c.y, s.y, sizeof s.y) && !memcmp(c.a, s.a, sizeof s.a) && !memcmp(c.split, s.split, sizeof s.split),
        "labels identical");
  CHECK(!memcmp(c.ids, s.ids, sizeof s.ids), "ids identical (gaps kept)");
  for (int i = 0; i < 5; i++) CHECK(!strcmp(c.filenames[i], s.files[i]), "filename %d: '%s' vs '%s'", i, c.filenames[i], s.files[i]);
  CHECK(c.n_cls == 2 && !strcmp(c.classnames[1], "waterbird"), "classnames");
  CHECK(c.n_attr == 2 && !strcmp(c.attr_names[0], "land") && !strcmp(c.attr_names[1], "water"), "attr_names");
  CHECK(!strcmp(c.dataset, "waterbirds") && !strcmp(c.model_path, "/models/tiny") &&
            !strcmp(c.model_checksum, "xxh64:0123456789abcdef"), "dataset/model strings");
  cd_feature_cache_free(&c);
  CHECK(c.features == NULL && c.N == 0, "free zeroes the struct");
}

/* Without meta_json a minimal cache.json is written; without any known a, n_attr is 0. */
static void test_default_meta(void) {
  sample s;
  make_sample(&s);
  for (int i = 0; i < 5; i++) s.a[i] = -1;
  s.c.ids = NULL;
  s.c.n_attr = 0;
  s.c.attr_names = NULL;
  cd_error e = {{0}};
  const char *dir = cd_test_path(g_dir, "nested/dirs/plain");
  CHECK(cd_feature_cache_write(dir, &s.c, NULL, &e) == 0, "write with default meta: %s", e.msg);
  cd_feature_cache c;
  CHECK(cd_feature_cache_load(dir, &c, &e) == 0, "load: %s", e.msg);
  CHECK(c.N == 5 && c.n_attr == 0 && c.attr_names == NULL, "n_attr 0 when no row knows a (got %d)", c.n_attr);
  for (int i = 0; i < c.N; i++) CHECK(c.ids[i] == i && c.a[i] == -1, "row %d: id %d a %d", i, c.ids[i], c.a[i]);
  cd_feature_cache_free(&c);
}

/* ---- malformed caches ------------------------------------------------------------------- */

static char *read_text(const char *path) {
  uint8_t *d;
  size_t n;
  cd_error e;
  return cd_file_read(path, 1 << 20, &d, &n, &e) ? NULL : (char *)d;
}

/* Fresh copy of the good cache in dir "bad", then one file replaced by `text` (NULL:
 * deleted), or with `from` replaced by `to` inside it. */
static const char *bad_cache(const char *file, const char *from, const char *to) {
  sample s;
  make_sample(&s);
  cd_error e;
  const char *dir = cd_test_path(g_dir, "bad");
  cd_feature_cache_write(dir, &s.c, META, &e);
  const char *path = cd_test_path(dir, file);
  if (!from) {
    if (to) cd_test_write_file(path, to, strlen(to));
    else remove(path);
    return dir;
  }
  char *text = read_text(path), *at = text ? strstr(text, from) : NULL;
  CHECK(at != NULL, "test setup: '%s' not in %s", from, file);
  if (!at) return dir;
  size_t n = strlen(text), nf = strlen(from), nt = strlen(to);
  char *out = malloc(n - nf + nt + 1);
  memcpy(out, text, (size_t)(at - text));
  memcpy(out + (at - text), to, nt);
  memcpy(out + (at - text) + nt, at + nf, n - (size_t)(at - text) - nf + 1);
  cd_test_write_file(path, out, strlen(out));
  free(out);
  free(text);
  return dir;
}

static void expect_fail(const char *dir, const char *what, const char *want1, const char *want2) {
  cd_feature_cache c;
  cd_error e = {{0}};
  int rc = cd_feature_cache_load(dir, &c, &e);
  CHECK(rc == -1, "%s: load should fail", what);
  CHECK(strstr(e.msg, want1) && (!want2 || strstr(e.msg, want2)), "%s: message '%s' lacks '%s' / '%s'", what, e.msg,
        want1, want2 ? want2 : "");
  if (rc == 0) cd_feature_cache_free(&c);
  else CHECK(c.features == NULL && c.y == NULL && c.classnames == NULL, "%s: nothing left allocated", what);
}

static void test_bad_json(void) {
  expect_fail(bad_cache("cache.json", NULL, NULL), "no cache.json", "bad/cache.json: not found", "clipdebias embed");
  expect_fail(bad_cache("cache.json", "\"complete\": true", "\"complete\": false"), "incomplete", "cache.json: the cache is incomplete",
              "run the same");
  expect_fail(bad_cache("cache.json", "\"rows\": 5,", "\"rows\": 5, \"shard\": {\"index\": 1, \"count\": 3},"), "shard",
              "shard 2 of 3", "clipdebias merge");
  expect_fail(bad_cache("cache.json", "\"version\": 1", "\"version\": 2"), "version", "unsupported cache version 2", NULL);
  expect_fail(bad_cache("cache.json", "\"rows\": 5", "\"rows\": 6"), "rows vs features", "features.npy: has 5 rows, but cache.json says 6",
              NULL);
  expect_fail(bad_cache("cache.json", "\"embed_dim\": 3", "\"embed_dim\": 512"), "embed_dim", "features.npy: rows have 3 values",
              "embed_dim is 512");
  expect_fail(bad_cache("cache.json", "\"classnames\"", "\"names\""), "classnames", "cache.json: field \"classnames\": missing", NULL);
  expect_fail(bad_cache("cache.json", "\"splits\": [\"train\", \"val\", \"test\"]", "\"splits\": [\"train\", \"val\"]"),
              "split not embedded", "index.csv: row 3 (cat(indoor)/1.jpg): split test", "\"splits\"");
  expect_fail(bad_cache("cache.json", "\"rows\": 5,", "\"rows\": 5 "), "broken JSON", "cache.json:", NULL);
  expect_fail(bad_cache("cache.json", NULL, "<!DOCTYPE html><html>quota exceeded</html>"), "HTML cache.json", "cache.json", NULL);
}

static void test_bad_features(void) {
  char dir[256];
  snprintf(dir, sizeof dir, "%s", bad_cache("features.npy", NULL, NULL));
  expect_fail(dir, "no features", "features.npy: cannot open", NULL);
  double d[15] = {0};
  int64_t sh[2] = {5, 3};
  cd_error e;
  cd_npy_save(cd_test_path(dir, "features.npy"), CD_F64, 2, sh, d, &e);
  expect_fail(dir, "float64 features", "features.npy: expected float32 or float16 [N, D]", NULL);
  float f[15] = {0};
  f[7] = NAN;
  cd_npy_save_f32(cd_test_path(dir, "features.npy"), 2, sh, f, &e);
  expect_fail(dir, "NaN", "features.npy: row 2 holds a non-finite value", NULL);
  int64_t sh4[2] = {4, 3};
  cd_npy_save_f32(cd_test_path(dir, "features.npy"), 2, sh4, f, &e);
  expect_fail(dir, "short features", "features.npy: has 4 rows, but cache.json says 5", NULL);
  f[7] = 0.5f; /* the right shape, finite, but not the values embedded */
  cd_npy_save_f32(cd_test_path(dir, "features.npy"), 2, sh, f, &e);
  expect_fail(dir, "other values", "features.npy: its values are not the ones", "features_checksum xxh64:");
}

static long long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static int copy_file(const char *from, const char *to) {
  char *text = NULL;
  uint8_t *d;
  size_t n;
  cd_error e;
  if (cd_file_read(from, 1 << 20, &d, &n, &e)) return -1;
  text = (char *)d;
  int rc = cd_test_write_file(to, text, n);
  free(text);
  return rc;
}

/* float16: the round trip gives the float32 values rounded to nearest even, exactly; the
 * file holds half the data bytes; rows read back in any range. */
static void test_f16(void) {
  sample s;
  make_sample(&s);
  s.f[3] = 65504.0f; /* float16's largest */
  s.f[5] = 1e-7f;    /* a float16 subnormal */
  cd_error e = {{0}};
  char d32[256], d16[256], n32[300], n16[300]; /* cd_test_path reuses one buffer */
  snprintf(d32, sizeof d32, "%s", cd_test_path(g_dir, "f32"));
  snprintf(d16, sizeof d16, "%s", cd_test_path(g_dir, "f16"));
  snprintf(n32, sizeof n32, "%s/features.npy", d32);
  snprintf(n16, sizeof n16, "%s/features.npy", d16);
  CHECK(cd_feature_cache_write(d32, &s.c, NULL, &e) == 0, "write f32: %s", e.msg);
  s.c.dtype = CD_F16;
  CHECK(cd_feature_cache_write(d16, &s.c, NULL, &e) == 0, "write f16: %s", e.msg);
  cd_feature_cache c32, c16;
  CHECK(cd_feature_cache_load(d32, &c32, &e) == 0, "load f32: %s", e.msg);
  CHECK(cd_feature_cache_load(d16, &c16, &e) == 0, "load f16: %s", e.msg);
  if (c16.N != 5 || c32.N != 5) return;
  CHECK(c16.dtype == CD_F16 && c16.features == NULL && c16.D == 3, "f16 cache: dtype F16, no float32 copy, D 3");
  CHECK(c32.dtype == CD_F32 && c32.features == (float *)c32.map.a.data, "f32 cache: features used in place in the map");
  float r32[15], r16[15], part[6];
  cd_feature_cache_rows(&c32, 0, 5, r32);
  cd_feature_cache_rows(&c16, 0, 5, r16);
  CHECK(!memcmp(r32, s.f, sizeof r32), "f32 rows bit-identical to what was written");
  int same = 1;
  for (int i = 0; i < 15; i++) {
    float want = cd_f16_to_f32(cd_f32_to_f16(r32[i]));
    same &= !memcmp(&want, &r16[i], sizeof want);
  }
  CHECK(same, "f16 cache == f32 cache rounded to float16, every value");
  CHECK(r16[3] == 65504.0f && r16[5] > 0 && r16[5] != 1e-7f && fabsf(r16[5] - 1e-7f) < 6e-8f, "max and subnormal kept");
  cd_feature_cache_rows(&c16, 2, 2, part);
  CHECK(!memcmp(part, r16 + 6, sizeof part), "rows [2, 4) read alone == the same rows of the whole");
  CHECK(file_size(n16) == 128 + 15 * 2 && file_size(n32) == 128 + 15 * 4,
        "f16 data is half the bytes (%lld vs %lld with the 128-byte header)", (long long)file_size(n16),
        (long long)file_size(n32));
  char *meta = read_text(cd_test_path(d16, "cache.json"));
  CHECK(meta && strstr(meta, "\"features_dtype\": \"float16\""), "cache.json records float16");
  free(meta);
  cd_feature_cache_free(&c32);
  cd_feature_cache_free(&c16);
  CHECK(c16.map.file.data == NULL && c16.features == NULL, "free unmaps");

  /* A float16 cache.json with float32 features, and the other way round: refused. */
  CHECK(copy_file(n32, n16) == 0, "copy");
  expect_fail(d16, "f16 cache.json, f32 features", "f16/features.npy: holds float32 features, but cache.json says float16", NULL);
  s.c.dtype = CD_F16;
  CHECK(cd_feature_cache_write(d16, &s.c, NULL, &e) == 0, "rewrite f16: %s", e.msg);
  CHECK(copy_file(n16, n32) == 0, "copy");
  expect_fail(d32, "f32 cache.json, f16 features", "f32/features.npy: holds float16 features, but cache.json says float32", NULL);
  /* Truncated: the last value cut off. */
  CHECK(truncate(n16, 128 + 15 * 2 - 2) == 0, "truncate");
  expect_fail(d16, "truncated f16", "f16/features.npy: truncated: data needs 30 bytes, file has 28", NULL);
  /* A value past float16's range was written as inf: refused, naming the row. */
  s.f[10] = 70000.0f;
  CHECK(cd_feature_cache_write(d16, &s.c, NULL, &e) == 0, "write f16 overflow: %s", e.msg);
  expect_fail(d16, "f16 overflow", "f16/features.npy: row 3 holds a non-finite value (inf)", NULL);
  /* The meta text given to write must say the same dtype. */
  s.f[10] = 0;
  CHECK(cd_feature_cache_write(d16, &s.c, META, &e) == -1 && strstr(e.msg, "\"features_dtype\" says float32, the features are written as float16"),
        "meta without features_dtype for an f16 write: refused: %s", e.msg);
}

static void test_bad_index(void) {
  expect_fail(bad_cache("index.csv", "id,filename,y,a,split", "id,file,y,a,split"), "header", "index.csv: line 1: header must be exactly",
              "found id,file,y,a,split");
  expect_fail(bad_cache("index.csv", "id,filename,y,a,split", "id,filename,y,split,a"), "column order", "header must be exactly", NULL);
  expect_fail(bad_cache("index.csv", "100,e.png,1,0,2\n", ""), "row missing", "index.csv: has 4 rows, but features.npy and cache.json have 5",
              NULL);
  expect_fail(bad_cache("index.csv", "100,e.png,1,0,2\n", "100,e.png,1,0,2\n101,f.png,1,0,2\n"), "extra row",
              "index.csv: has more than the 5 rows", NULL);
  expect_fail(bad_cache("index.csv", "7,cat(indoor)/1.jpg,0,1,2", "7,cat(indoor)/1.jpg,2,1,2"), "y out of range",
              "index.csv: row 3 (cat(indoor)/1.jpg): y = 2 is out of range for 2 classes", NULL);
  expect_fail(bad_cache("index.csv", "7,cat(indoor)/1.jpg,0,1,2", "7,cat(indoor)/1.jpg,0,5,2"), "a out of range",
              "row 3 (cat(indoor)/1.jpg): a = 5 is out of range for 2 attribute values", NULL);
  expect_fail(bad_cache("index.csv", "7,cat(indoor)/1.jpg,0,1,2", "7,cat(indoor)/1.jpg,0,1,3"), "split out of range",
              "row 3 (line 5): split = 3 is out of range [0, 2]", NULL);
  expect_fail(bad_cache("index.csv", "7,cat(indoor)/1.jpg,0,1,2", "7,cat(indoor)/1.jpg,x,1,2"), "non-integer y",
              "row 3 (line 5): y 'x' is not an integer", NULL);
  expect_fail(bad_cache("index.csv", "7,cat(indoor)/1.jpg,0,1,2", "7,cat(indoor)/1.jpg,0,1"), "short row",
              "row 3 (line 5): has 4 fields, expected 5", NULL);
  expect_fail(bad_cache("index.csv", "7,cat(indoor)/1.jpg", "4,cat(indoor)/1.jpg"), "duplicate id",
              "row 3 (line 5): id 4 does not increase", NULL);
  expect_fail(bad_cache("index.csv", "7,cat(indoor)/1.jpg", "7,"), "empty filename", "row 3 (line 5): empty filename", NULL);
  expect_fail(bad_cache("index.csv", "\"q\"\"uote.jpg\"", "\"q\"\"uote.jpg"), "open quote", "index.csv: line 4: a quoted field is never closed",
              NULL);
  expect_fail(bad_cache("index.csv", NULL, "<!DOCTYPE html>\n<html><body>Google Drive - Quota exceeded</body></html>\n"), "HTML index",
              "index.csv: is an HTML page", NULL);
  expect_fail(bad_cache("index.csv", NULL, "PK\x03\x04rest-of-zip"), "zip index", "index.csv: is a zip archive", "unzip");
  expect_fail(bad_cache("index.csv", NULL, ""), "empty index", "index.csv: the file is empty", NULL);
  /* edits that keep the row count and every value in range: refused by the index checksum */
  expect_fail(bad_cache("index.csv", "7,cat(indoor)/1.jpg,0,1,2", "7,cat(indoor)/1.jpg,1,1,2"), "label flipped",
              "index.csv: its rows are not the ones", "index_checksum xxh64:");
  expect_fail(bad_cache("index.csv", "7,cat(indoor)/1.jpg,0,1,2", "7,cat(indoor)/1.jpg,0,1,0"), "split moved",
              "labels, file names or their order were changed", NULL);
  /* attribute known on some rows but no names for it */
  expect_fail(bad_cache("cache.json", "\"attr_names\": [\"land\", \"water\"]", "\"attr_names\": []"), "a without names",
              "row 0 (001.Albatross/a b.jpg): a = 0 is out of range for 0 attribute values (no attr_names given)", NULL);
}

static void test_write_refuses(void) {
  sample s;
  make_sample(&s);
  cd_error e = {{0}};
  const char *dir = cd_test_path(g_dir, "refused");
  s.y[2] = 2;
  CHECK(cd_feature_cache_write(dir, &s.c, META, &e) == -1 && strstr(e.msg, "row 2 (q\"uote.jpg): y = 2 is out of range"),
        "write refuses y out of range: %s", e.msg);
  CHECK(!cd_file_exists(cd_test_path(dir, "features.npy")), "nothing written");
  s.y[2] = 1;
  s.split[0] = -1;
  CHECK(cd_feature_cache_write(dir, &s.c, META, &e) == -1 && strstr(e.msg, "split = -1"), "write refuses split -1: %s", e.msg);
  s.split[0] = 0;
  CHECK(cd_feature_cache_write(dir, &s.c, "{\"rows\": 4, \"dataset\": {\"classnames\": [\"landbird\", \"waterbird\"]}}", &e) == -1 &&
            strstr(e.msg, "\"rows\" is 4, the cache has 5"), "meta rows mismatch: %s", e.msg);
  CHECK(cd_feature_cache_write(dir, &s.c, "{\"rows\": 5, \"dataset\": {\"classnames\": [\"a\", \"b\"]}}", &e) == -1 &&
            strstr(e.msg, "classnames[0] differs"), "meta classnames mismatch: %s", e.msg);
  /* Rewriting a cache: an old cache.json is gone before the new features land. */
  CHECK(cd_feature_cache_write(dir, &s.c, META, &e) == 0, "write: %s", e.msg);
  CHECK(cd_test_write_file(cd_test_path(dir, "features.npy"), "x", 1) == 0, "clobber");
  s.c.D = 0;
  CHECK(cd_feature_cache_write(dir, &s.c, META, &e) == -1, "D = 0 refused");
}

int main(void) {
  if (cd_test_make_tmpdir(g_dir, sizeof g_dir, "feature_cache")) return 1;
  test_round_trip();
  test_default_meta();
  test_bad_json();
  test_bad_features();
  test_bad_index();
  test_write_refuses();
  test_f16();
  cd_test_remove_tmpdir(g_dir);
  return cd_test_finish("test_feature_cache");
}
