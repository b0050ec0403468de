/* The data set API on the synthetic trees (record order, ids, relative file names, labels,
 * re-rooted paths, the seeded MetaShift split), the split x group table text, the XXH64
 * checksums (against xxhsum 0.8.1) and the cache identity comparison. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cpu.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/md5.h"
#include "data/datasets/cache_meta.h"
#include "data/datasets/dataset.h"
#include "data/datasets/dataset_internal.h"
#include "data/datasets/group_table.h"
#include "tests/testutil.h"


static char g_dir[64];
#define FX "tests/fixtures/datasets/"

static void test_xxh64(void) {
  CHECK(cd_xxh64("", 0, 0) == 0xef46db3751d8e999ull, "xxh64('') = %016llx", (unsigned long long)cd_xxh64("", 0, 0));
  CHECK(cd_xxh64("abc", 3, 0) == 0x44bc2cf5ad770999ull, "xxh64('abc')");
  size_t n = 100003;
  unsigned char *buf = malloc(n);
  for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)((i * 31 + 7) % 256);
  CHECK(cd_xxh64(buf, 31, 0) == 0x4a74f3a1a39ad4a1ull, "xxh64 of 31 bytes (tail path only)");
  CHECK(cd_xxh64(buf, n, 0) == 0xc333c0bff6f9efdbull, "xxh64 of 100003 bytes = %016llx (xxhsum: c333c0bff6f9efdb)",
        (unsigned long long)cd_xxh64(buf, n, 0));
  cd_xxh64_state s;
  cd_xxh64_init(&s, 0);
  for (size_t at = 0, step = 1; at < n; at += step, step = step * 3 % 97 + 1)
    cd_xxh64_update(&s, buf + at, at + step <= n ? step : n - at);
  CHECK(cd_xxh64_final(&s) == 0xc333c0bff6f9efdbull, "streaming in odd pieces == one call");
  uint64_t one = cd_xxh64(buf, n, 0);
  unsigned char le[8];
  for (int b = 0; b < 8; b++) le[b] = (unsigned char)(one >> (8 * b));
  CHECK(cd_xxh64_chunked(buf, n) == cd_xxh64(le, 8, n), "chunked: one chunk = hash of its hash, seeded by the size");
  free(buf);
  size_t big = ((size_t)40 << 20) + 5; /* three chunks */
  unsigned char *b2 = malloc(big);
  for (size_t i = 0; i < big; i++) b2[i] = (unsigned char)(i * 2654435761u >> 13);
  cd_threads_set(1);
  uint64_t h1 = cd_xxh64_chunked(b2, big);
  cd_threads_set(3);
  uint64_t h3 = cd_xxh64_chunked(b2, big);
  b2[big - 1] ^= 1;
  CHECK(h1 == h3 && cd_xxh64_chunked(b2, big) != h1, "chunked: thread count does not matter, the last byte does");
  free(b2);
}

static void test_group_table(void) {
  int32_t y[] = {0, 0, 1, 1, 1, 0, 1, 0}, a[] = {0, 1, 0, 1, 1, -1, 1, 0}, sp[] = {0, 0, 0, 0, 1, 2, 2, 0};
  char *cls[] = {"landbird", "waterbird"}, *att[] = {"land", "water"};
  cd_group_counts gc;
  cd_error e = {{0}};
  CHECK(cd_group_counts_make(&gc, 8, y, a, sp, 2, 2, &e) == 0, "counts: %s", e.msg);
  CHECK(gc.count[0 * 3 + 0] == 2 && gc.count[3 * 3 + 0] == 1 && gc.count[3 * 3 + 1] == 1 && gc.count[3 * 3 + 2] == 1, "cells");
  CHECK(gc.unknown[0 * 3 + 2] == 1 && gc.any_unknown && gc.total == 8 && gc.split_total[0] == 5, "unknown a, totals");
  char *text = NULL;
  size_t len = 0;
  FILE *fp = open_memstream(&text, &len);
  cd_group_counts_print(fp, &gc, cls, att);
  fclose(fp);
  const char *want =
      "  group                      train       val      test      total\n"
      "  g0 landbird/land               2         0         0          2\n"
      "  g1 landbird/water              1         0         0          1\n"
      "  g2 waterbird/land              1         0         0          1\n"
      "  g3 waterbird/water             1         1         1          3\n"
      "  landbird/? (a unknown)         0         0         1          1\n"
      "  total                          5         1         2          8\n";
  CHECK(text && !strcmp(text, want), "table text:\n%s", text);
  free(text);
  cd_group_counts_free(&gc);
  a[2] = 2;
  CHECK(cd_group_counts_make(&gc, 8, y, a, sp, 2, 2, &e) == -1 && strstr(e.msg, "row 2 has y=1 a=2"), "out of range: %s", e.msg);
  CHECK(cd_group_counts_make(&gc, 8, y, NULL, sp, 2, 0, &e) == 0 && gc.n_groups == 2 && gc.count[1 * 3 + 2] == 1, "no attribute");
  cd_group_counts_free(&gc);
}

static int load(cd_dataset_opts o, cd_dataset *d) {
  cd_error e = {{0}};
  int rc = cd_dataset_load(&o, d, &e);
  CHECK(rc == 0, "%s at %s: %s", o.name, o.root ? o.root : o.csv, e.msg);
  return rc;
}

static void test_waterbirds(void) {
  cd_dataset d;
  if (load((cd_dataset_opts){.name = "waterbirds", .root = FX "waterbirds/cub"}, &d)) return;
  CHECK(d.n == 18 && d.n_cls == 2 && d.n_attr == 2 && d.official_total == 11788 && d.official_split, "shape");
  /* metadata order: the first row of metadata.csv is id 1 */
  CHECK(!strcmp(d.filenames[0], "009.Brewer_Blackbird/Brewer_Blackbird_0100_3.jpg") && d.y[0] == 0 && d.a[0] == 1 && d.split[0] == 2,
        "first record: %s y%d a%d s%d", d.filenames[0], d.y[0], d.a[0], d.split[0]);
  const char *tail = "cub/cub/data/waterbird_complete95_forest2water2";
  CHECK(d.root[0] == '/' && strlen(d.root) > strlen(tail) && !strcmp(d.root + strlen(d.root) - strlen(tail), tail), "root %s", d.root);
  CHECK(d.warnings && strstr(d.warnings, "the official release has 11788"), "official warning");
  CHECK(!strcmp(d.options_json, "{}"), "no options");
  cd_dataset_free(&d);
}

static void test_celeba(void) {
  cd_dataset d;
  if (load((cd_dataset_opts){.name = "celeba", .root = FX "celeba/reordered"}, &d)) return;
  /* the partition file is reversed; joined by name, 000001..7 are train, 012..16 test */
  CHECK(d.n == 16 && d.split[0] == 0 && d.split[6] == 0 && d.split[7] == 1 && d.split[15] == 2, "splits joined by name");
  CHECK(!strcmp(d.classnames[1], "blond hair") && !strcmp(d.attr_names[0], "female"), "names");
  CHECK(!strcmp(d.options_json, "{\"target\": \"Blond_Hair\", \"spurious\": \"Male\"}"), "options %s", d.options_json);
  cd_dataset_free(&d);
  if (load((cd_dataset_opts){.name = "celeba", .root = FX "celeba/drive", .target = "Wavy_Hair", .spurious = "Young"}, &d)) return;
  CHECK(!strcmp(d.classnames[0], "not wavy hair") && !strcmp(d.attr_names[1], "young") && d.official == NULL, "other attributes");
  cd_dataset_free(&d);
}

/* The official txt files' MD5 is compared (a warning only); Kaggle's CSVs have no MD5. */
static void test_celeba_md5(void) {
  cd_dataset d = {0};
  const char lf[] = "000001.jpg 0\n000002.jpg 2\n", crlf[] = "000001.jpg 0\r\n000002.jpg 2\r\n";
  char want[33], got[33];
  cd_md5_hex(lf, sizeof lf - 1, want);
  cd_md5_hex(crlf, sizeof crlf - 1, got);
  cd_ds_check_md5(&d, "p.txt", lf, sizeof lf - 1, want);
  CHECK(d.warnings == NULL, "matching MD5: no warning (%s)", d.warnings ? d.warnings : "");
  cd_ds_check_md5(&d, "p.txt", crlf, sizeof crlf - 1, want);
  char line[200];
  snprintf(line, sizeof line, "warning: p.txt: MD5 %s, expected %s (the official file's); a re-saved copy (CRLF", got, want);
  CHECK(d.warnings && !strncmp(d.warnings, line, strlen(line)) && strchr(d.warnings, '\n') == d.warnings + strlen(d.warnings) - 1,
        "CRLF copy: one warning line naming the file and both MD5s: %s", d.warnings ? d.warnings : "");
  cd_dataset_free(&d);
  if (load((cd_dataset_opts){.name = "celeba", .root = FX "celeba/reordered"}, &d)) return;
  CHECK(d.warnings && strstr(d.warnings, "reordered/list_attr_celeba.txt: MD5 7398c2da4b914a3cb7d79fe46776fc0f, expected "
                                         "75e246fa4810816ffd6ee81facbd244c") &&
            strstr(d.warnings, "reordered/list_eval_partition.txt: MD5 d3522d6cbb2130926abb1a8db568d604, expected "
                               "d32c9cbf5e040fd4025c592c306e6668"),
        "txt files: MD5 warnings: %s", d.warnings ? d.warnings : "");
  cd_dataset_free(&d);
  if (load((cd_dataset_opts){.name = "celeba", .root = FX "celeba/kaggle"}, &d)) return;
  CHECK(d.warnings && !strstr(d.warnings, "MD5"), "Kaggle CSVs: no MD5 check: %s", d.warnings ? d.warnings : "");
  cd_dataset_free(&d);
}

static void test_metashift(void) {
  cd_dataset d;
  if (load((cd_dataset_opts){.name = "metashift", .root = FX "metashift/subpopbench"}, &d)) return;
  CHECK(d.n == 24 && !strncmp(d.filenames[0], "train/cat/cat(indoor)/", 22) && d.y[0] == 1 && d.a[0] == 1, "re-rooted: %s",
        d.filenames[0]);
  CHECK(d.official_split && strstr(d.options_json, "subpopbench"), "SubpopBench split");
  cd_dataset_free(&d);
  const char *split = cd_test_path(g_dir, "split.csv");
  if (load((cd_dataset_opts){.name = "metashift", .root = FX "metashift/folders", .split_csv = split}, &d)) return;
  int count[3] = {0, 0, 0};
  for (int i = 0; i < d.n; i++) count[d.split[i]]++;
  CHECK(d.n == 24 && count[2] == 6 && count[1] == 2 && count[0] == 16, "25%% test, 10%% val of 24: %d %d %d", count[0], count[1], count[2]);
  CHECK(!d.official_split && strstr(d.options_json, "\"seed\": \"42\""), "own split labelled: %s", d.options_json);
  for (int i = 1; i < d.n; i++)
    if (strncmp(d.filenames[i - 1], d.filenames[i], 22) == 0)
      CHECK(strcmp(d.filenames[i - 1], d.filenames[i]) < 0, "sorted within a folder: %s, %s", d.filenames[i - 1], d.filenames[i]);
  int first_split[24];
  for (int i = 0; i < d.n; i++) first_split[i] = d.split[i];
  cd_dataset_free(&d);
  remove(split);
  if (load((cd_dataset_opts){.name = "metashift", .root = FX "metashift/folders", .split_csv = split}, &d)) return;
  int same = d.n == 24;
  for (int i = 0; same && i < d.n; i++) same = d.split[i] == first_split[i];
  CHECK(same, "the seeded split is reproducible from the folder alone");
  cd_dataset_free(&d);
}

static void test_csv(void) {
  char csv[600], cwd[400];
  CHECK(getcwd(cwd, sizeof cwd) != NULL, "getcwd");
  snprintf(csv, sizeof csv, "%s/abs.csv", g_dir);
  FILE *fp = fopen(csv, "w");
  fprintf(fp, "image_path,label,partition\n%s/" FX "csv/noattr/shape_0.png,0,train\n" FX "csv/noattr/shape_1.png,1,validation\n", cwd);
  fclose(fp);
  cd_dataset d;
  if (load((cd_dataset_opts){.name = "csv", .csv = csv, .root = cwd, .classnames = "a, b"}, &d)) return;
  CHECK(d.n == 2 && !strcmp(d.filenames[0], FX "csv/noattr/shape_0.png") && d.split[1] == 1 && d.n_attr == 0 && d.a[0] == -1,
        "absolute name under the root made relative: %s", d.filenames[0]);
  CHECK(!strcmp(d.classnames[1], "b"), "class names trimmed");
  cd_dataset_free(&d);
}

/* One hostile metadata file in dir g_dir/<name>/, loaded as `kind`: the message names it. */
static void expect_bad(const char *kind, const char *name, const char *file, const char *text, const char *want) {
  char dir[200], path[300];
  snprintf(dir, sizeof dir, "%s/%s", g_dir, name);
  snprintf(path, sizeof path, "%s/%s", dir, file);
  mkdir(dir, 0777);
  cd_test_write_file(path, text, strlen(text));
  cd_dataset d;
  cd_dataset_opts o = {.name = kind, .root = dir};
  cd_error e = {{0}};
  int rc = cd_dataset_load(&o, &d, &e);
  CHECK(rc == -1 && strstr(e.msg, want) && strstr(e.msg, name), "%s: '%s' lacks '%s'", name, e.msg, want);
  if (rc == 0) cd_dataset_free(&d);
}

static void test_bad_metadata(void) {
  expect_bad("waterbirds", "wb_y2", "metadata.csv", "img_id,img_filename,y,split,place\n1,a.jpg,2,0,0\n", "row 1 (line 2): y = 2 is out of range (0..1)");
  expect_bad("waterbirds", "wb_split", "metadata.csv", "img_id,img_filename,y,split,place\n1,a.jpg,0,dev,0\n", "split 'dev' is not 0/1/2");
  expect_bad("waterbirds", "wb_fields", "metadata.csv", "img_id,img_filename,y,split,place\n1,a.jpg,0,0\n", "row 1 (line 2): has 4 fields, the header has 5");
  expect_bad("waterbirds", "wb_noa", "metadata.csv", "img_id,img_filename,y,split\n1,a.jpg,0,0\n", "no column for the spurious attribute a");
  expect_bad("waterbirds", "wb_empty", "metadata.csv", "img_id,img_filename,y,split,place\n", "lists no images");
  expect_bad("waterbirds", "wb_gz", "metadata.csv", "\x1f\x8b\x08\x00rest", "is gzip-compressed");
  expect_bad("celeba", "cb_value", "list_attr_celeba.txt", "1\nBlond_Hair Male\n000001.jpg 2 -1\n", "row 1 (line 3): value '2' is not -1 or 1");
  expect_bad("celeba", "cb_short", "list_attr_celeba.txt", "1\nBlond_Hair Male\n000001.jpg 1\n", "row 1 (line 3): has 2 fields, expected 3");
  expect_bad("celeba", "cb_nopart", "list_attr_celeba.csv", "image_id,Blond_Hair,Male\n000001.jpg,1,-1\n", "but no list_eval_partition.txt or .csv");
  expect_bad("celeba", "cb_partcols", "list_eval_partition.csv", "file,part\n000001.jpg,0\n", "no annotation files found");
}

static void test_meta_compare(void) {
  const char *a = "{\"model\": {\"path\": \"/x\", \"checksum\": \"c1\", \"embed_dim\": 512}, \"dataset\": {\"name\": \"waterbirds\", "
                  "\"options\": {}, \"records_checksum\": \"r1\", \"root\": \"/data/a\"}, \"splits\": [\"train\"]}";
  const char *b = "{\"model\": {\"path\": \"/y\", \"checksum\": \"c1\", \"embed_dim\": 512}, \"dataset\": {\"name\": \"waterbirds\", "
                  "\"options\": {}, \"records_checksum\": \"r1\", \"root\": \"/elsewhere\"}, \"splits\": [\"train\"]}";
  const char *c = "{\"model\": {\"path\": \"/y\", \"checksum\": \"c2\", \"embed_dim\": 512}, \"dataset\": {\"name\": \"waterbirds\", "
                  "\"options\": {}, \"records_checksum\": \"r1\"}, \"splits\": [\"train\"]}";
  cd_error e;
  cd_json_doc *da = cd_json_parse(a, strlen(a), "a", &e), *db = cd_json_parse(b, strlen(b), "b", &e), *dc = cd_json_parse(c, strlen(c), "c", &e);
  char what[400] = "";
  CHECK(cd_cache_meta_differs(cd_json_root(da), cd_json_root(db), what, sizeof what) == 0, "moved model and data agree: %s", what);
  CHECK(cd_cache_meta_differs(cd_json_root(da), cd_json_root(dc), what, sizeof what) == -1 &&
            !strcmp(what, "another model: /x (\"c1\") vs /y (\"c2\")"), "checksum differs: %s", what);
  cd_json_free(da), cd_json_free(db), cd_json_free(dc);
}

int main(void) {
  if (cd_test_make_tmpdir(g_dir, sizeof g_dir, "datasets")) return 1;
  test_xxh64();
  test_group_table();
  test_waterbirds();
  test_celeba();
  test_celeba_md5();
  test_metashift();
  test_csv();
  test_bad_metadata();
  test_meta_compare();
  cd_test_remove_tmpdir(g_dir);
  return cd_test_finish("test_datasets");
}
