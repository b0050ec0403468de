/* safetensors: writer/reader round trip (layout as the reference writer makes it), and
 * every rejection path on hostile files generated here, each asserting the message. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/safetensors.h"
#include "tests/testutil.h"

static char g_dir[64];

static const char *tmp_path(const char *name) { return cd_test_path(g_dir, name); }

static void write_raw(const char *path, const void *data, size_t n) {
  CHECK(cd_test_write_file(path, data, n) == 0, "cannot write %s", path);
}

/* Writes <u64 header length><header><ndata bytes of 0xAB>. hdr_len_override != 0 lies. */
static void write_st(const char *path, const char *header, size_t ndata, uint64_t hdr_len_override) {
  size_t hl = strlen(header);
  uint64_t n = hdr_len_override ? hdr_len_override : hl;
  uint8_t *buf = malloc(8 + hl + ndata + 1);
  for (int i = 0; i < 8; i++) buf[i] = (uint8_t)(n >> (8 * i));
  memcpy(buf + 8, header, hl);
  memset(buf + 8 + hl, 0xAB, ndata);
  write_raw(path, buf, 8 + hl + ndata);
  free(buf);
}

static void test_round_trip(void) {
  float a[6] = {1.5f, -2.0f, 3.25f, 0.0f, -0.0f, 1e-30f};
  uint16_t h[4] = {0x3C00, 0xC000, 0x7C00, 0x0001};
  int64_t s = -1234567890123LL;
  uint8_t u[1] = {0};
  uint16_t bf[3] = {0x3F80, 0x4000, 0xBF80};
  const char *names[] = {"visual.conv1.weight", "h\"alf\n", "scalar", "empty", "bf"};
  cd_dtype dt[] = {CD_F32, CD_F16, CD_I64, CD_U8, CD_BF16};
  int nd[] = {2, 1, 0, 1, 2};
  int64_t s0[] = {2, 3}, s1[] = {4}, s3[] = {0}, s4[] = {1, 3};
  const int64_t *shapes[] = {s0, s1, NULL, s3, s4};
  const void *data[] = {a, h, &s, u, bf};
  cd_error e = {{0}};
  const char *p = tmp_path("rt.safetensors");
  CHECK(cd_st_write(p, 5, names, dt, nd, shapes, data, &e) == 0, "write: %s", e.msg);
  CHECK(access(tmp_path("rt.safetensors.tmp"), F_OK) != 0, "no temp file left");

  cd_safetensors st;
  if (cd_st_open(&st, p, &e) != 0) {
    CHECK(0, "open: %s", e.msg);
    return;
  }
  CHECK(st.n_tensors == 5, "n_tensors %d", st.n_tensors);
  uint64_t hl = 0;
  const uint8_t *fb = st.file.data;
  for (int i = 7; i >= 0; i--) hl = (hl << 8) | fb[i];
  size_t close_at = 8 + hl - 1;
  while (close_at > 8 && fb[close_at] == ' ') close_at--;
  CHECK(hl % 8 == 0 && fb[close_at] == '}', "header length %llu padded to 8 with spaces", (unsigned long long)hl);
  const uint8_t *d0 = fb + 8 + hl;
  for (int i = 0; i < 5; i++) {
    const cd_st_tensor *t = cd_st_find(&st, names[i]);
    CHECK(t != NULL, "find '%s'", names[i]);
    if (!t) continue;
    CHECK(t->dtype == dt[i] && t->ndim == nd[i], "'%s' dtype/ndim", names[i]);
    size_t numel = 1;
    for (int k = 0; k < nd[i]; k++) {
      CHECK(t->shape[k] == shapes[i][k], "'%s' shape[%d]", names[i], k);
      numel *= (size_t)shapes[i][k];
    }
    CHECK(t->numel == numel && t->nbytes == numel * cd_dtype_size(dt[i]), "'%s' numel %zu", names[i], t->numel);
    CHECK(t->nbytes == 0 || !memcmp(t->data, data[i], t->nbytes), "'%s' bytes equal", names[i]);
    /* Largest elements first: every tensor sits at a multiple of its element size. */
    CHECK(((size_t)((const uint8_t *)t->data - d0)) % cd_dtype_size(dt[i]) == 0, "'%s' aligned", names[i]);
  }
  CHECK(cd_st_find(&st, "nope") == NULL && cd_st_find(&st, "") == NULL, "absent tensor -> NULL");
  CHECK(cd_st_meta(&st, "format") == NULL, "no metadata");
  cd_st_close(&st);

  /* Writer errors. */
  const char *dup[] = {"x", "x"};
  cd_dtype dd[] = {CD_F32, CD_F16};
  int nd1[] = {1, 1};
  int64_t one[] = {1};
  const int64_t *sh1[] = {one, one};
  const void *dat[] = {a, h};
  CHECK(cd_st_write(tmp_path("dup.safetensors"), 2, dup, dd, nd1, sh1, dat, &e) == -1 && strstr(e.msg, "used twice"),
        "duplicate name: %s", e.msg);
  cd_dtype bad[] = {CD_DTYPE_INVALID, CD_F32};
  const char *ok2[] = {"x", "y"};
  CHECK(cd_st_write(tmp_path("bad.safetensors"), 2, ok2, bad, nd1, sh1, dat, &e) == -1 && strstr(e.msg, "invalid dtype"),
        "invalid dtype: %s", e.msg);
  CHECK(access(tmp_path("dup.safetensors"), F_OK) != 0, "failed write leaves no file");

  /* An empty file set is valid ("{}" padded). */
  CHECK(cd_st_write(tmp_path("none.safetensors"), 0, NULL, NULL, NULL, NULL, NULL, &e) == 0, "empty write");
  CHECK(cd_st_open(&st, tmp_path("none.safetensors"), &e) == 0 && st.n_tensors == 0, "empty open: %s", e.msg);
  CHECK(st.file.size == 16, "empty file is 8 + 8 bytes: %zu", st.file.size);
  cd_st_close(&st);
}

static void test_metadata_and_overlap(void) {
  const char *p = tmp_path("meta.safetensors");
  write_st(p,
           "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"caf\\u00e9\"},"
           "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
           "\"b\":{\"dtype\":\"I32\",\"shape\":[4],\"data_offsets\":[0,16]},"
           "\"c\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[13,16],\"extra\":1}}   ",
           16, 0);
  cd_safetensors st;
  cd_error e = {{0}};
  CHECK(cd_st_open(&st, p, &e) == 0, "metadata file: %s", e.msg);
  CHECK(st.n_meta == 2 && !strcmp(cd_st_meta(&st, "format"), "pt") && !strcmp(cd_st_meta(&st, "note"), "caf\xc3\xa9"),
        "metadata values");
  CHECK(st.n_tensors == 3, "overlapping tensors accepted (%d)", st.n_tensors);
  const cd_st_tensor *c = cd_st_find(&st, "c");
  CHECK(c && c->dtype == CD_BOOL && c->nbytes == 3 && ((const uint8_t *)c->data)[0] == 0xAB, "tensor c");
  CHECK(!strcmp(st.tensors[0].name, "a") && !strcmp(st.tensors[2].name, "c"), "sorted by name");
  cd_st_close(&st);

  /* The memory variant gives the same view. */
  uint8_t *buf;
  size_t n;
  FILE *fp = fopen(p, "rb");
  fseek(fp, 0, SEEK_END);
  n = (size_t)ftell(fp);
  rewind(fp);
  buf = malloc(n);
  CHECK(fread(buf, 1, n, fp) == n, "read");
  fclose(fp);
  CHECK(cd_st_open_memory(&st, buf, n, "mem", &e) == 0 && st.n_tensors == 3, "open_memory: %s", e.msg);
  cd_st_close(&st);
  CHECK(cd_st_open_memory(&st, buf, 7, "mem", &e) == -1 && strstr(e.msg, "mem: file is 7 bytes"), "memory short: %s",
        e.msg);
  free(buf);
}

typedef struct {
  const char *label;
  const char *header;
  size_t ndata;
  uint64_t len_override;
  const char *phrase;
} bad_case;

static void test_rejections(void) {
  static const bad_case cases[] = {
      {"header length beyond file", "{}", 0, 4096, "header length 4096 exceeds the file (2 bytes after the length)"},
      {"header length over 16 MB", "{}", 0, 20000000, "larger than the 16 MB limit"},
      {"malformed JSON", "{\"a\":{\"dtype\":\"F32\" \"shape\":[1]}}", 0, 0, "bad.safetensors: header:1:21: expected ',' or '}'"},
      {"truncated JSON", "{\"a\":", 0, 0, "header:1:6: unexpected end of input"},
      {"non-object header", "[1,2]", 0, 0, "header is not a JSON object"},
      {"entry not an object", "{\"w\":[1]}", 0, 0, "tensor 'w': entry is not an object"},
      {"missing dtype", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0, "tensor 'w': missing \"dtype\""},
      {"missing shape", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, 0, "tensor 'w': missing \"shape\""},
      {"missing offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, 0, "tensor 'w': missing \"data_offsets\""},
      {"dtype not a string", "{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0, "\"dtype\" is not a string"},
      {"unknown dtype", "{\"visual.w\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, 0,
       "tensor 'visual.w': unsupported dtype 'F8_E4M3'"},
      {"shape not an array", "{\"w\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,16]}}", 16, 0, "\"shape\" is not an array"},
      {"negative dim", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, 0,
       "shape[0] is not a non-negative integer"},
      {"fractional dim", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,2.5],\"data_offsets\":[0,4]}}", 4, 0,
       "shape[1] is not a non-negative integer"},
      {"too many dims", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, 0,
       "shape has 9 dimensions, at most 8"},
      {"numel overflow", "{\"w\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,4]}}", 4,
       0, "shape overflows the element count"},
      {"byte count overflow", "{\"w\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,4]}}", 4, 0,
       "shape overflows the byte count"},
      {"offsets out of range", "{\"visual.conv1.weight\":{\"dtype\":\"F32\",\"shape\":[1024],\"data_offsets\":[0,4096]}}",
       100, 0, "tensor 'visual.conv1.weight': data_offsets [0, 4096] exceed the 100 bytes of data"},
      {"offsets reversed", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 16, 0,
       "data_offsets [8, 4] end before they begin"},
      {"size mismatch", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,8]}}", 16, 0,
       "data_offsets [0, 8] hold 8 bytes but F32 shape needs 16"},
      {"offsets arity", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, 0,
       "\"data_offsets\" must be [begin, end]"},
      {"negative offset", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4, 0,
       "\"data_offsets\" must be [begin, end]"},
      {"offset beyond int64", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,1e300]}}", 4, 0,
       "\"data_offsets\" must be [begin, end]"},
      {"duplicate tensor", "{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
       1, 0, "tensor 'w' appears twice"},
      {"metadata not an object", "{\"__metadata__\":[]}", 0, 0, "\"__metadata__\" is not an object"},
      {"metadata non-string", "{\"__metadata__\":{\"epoch\":3}}", 0, 0, "\"__metadata__\" value of 'epoch' is not a string"},
      {"control chars in name", "{\"a\\u001bb\":{\"dtype\":\"Q\",\"shape\":[],\"data_offsets\":[0,0]}}", 0, 0,
       "tensor 'a?b': unsupported dtype 'Q'"},
      {"NUL in name", "{\"a\\u0000b\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[0,1]}}", 1, 0, "embedded NUL"},
  };
  const char *p = tmp_path("bad.safetensors");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    write_st(p, cases[i].header, cases[i].ndata, cases[i].len_override);
    cd_safetensors st;
    cd_error e = {{0}};
    int rc = cd_st_open(&st, p, &e);
    CHECK(rc == -1, "%s: should fail", cases[i].label);
    CHECK(strstr(e.msg, cases[i].phrase) != NULL, "%s: message '%s' lacks '%s'", cases[i].label, e.msg,
          cases[i].phrase);
    CHECK(strncmp(e.msg, p, strlen(p)) == 0, "%s: message names the file: %s", cases[i].label, e.msg);
    if (rc == 0) cd_st_close(&st);
  }
  size_t ncases = sizeof cases / sizeof cases[0];

  /* Files too short for the length prefix, and a missing file. */
  cd_safetensors st;
  cd_error e = {{0}};
  write_raw(p, "\x02\0\0\0", 4);
  CHECK(cd_st_open(&st, p, &e) == -1 && strstr(e.msg, "file is 4 bytes, too short"), "4-byte file: %s", e.msg);
  write_raw(p, "", 0);
  CHECK(cd_st_open(&st, p, &e) == -1 && strstr(e.msg, "file is 0 bytes, too short"), "empty file: %s", e.msg);
  CHECK(cd_st_open(&st, tmp_path("missing.safetensors"), &e) == -1 && strstr(e.msg, "cannot open"),
        "missing file: %s", e.msg);
  CHECK(cd_st_open(&st, g_dir, &e) == -1 && strstr(e.msg, "is a directory"), "directory: %s", e.msg);
  /* Truncating a valid file anywhere must fail cleanly. */
  float v[8] = {0};
  const char *nm[] = {"v"};
  cd_dtype dt[] = {CD_F32};
  int nd[] = {1};
  int64_t sh[] = {8};
  const int64_t *shp[] = {sh};
  const void *dp[] = {v};
  const char *good = tmp_path("good.safetensors");
  CHECK(cd_st_write(good, 1, nm, dt, nd, shp, dp, &e) == 0, "write good");
  uint8_t full[512];
  FILE *fp = fopen(good, "rb");
  size_t n = fread(full, 1, sizeof full, fp);
  fclose(fp);
  int all_fail = 1;
  for (size_t cut = 0; cut < n; cut++) {
    write_raw(p, full, cut);
    if (cd_st_open(&st, p, &e) == 0) {
      all_fail = 0;
      cd_st_close(&st);
    }
  }
  CHECK(all_fail, "every truncation of a %zu-byte file is rejected", n);
  write_raw(p, full, n - 1);
  CHECK(cd_st_open(&st, p, &e) == -1 && strstr(e.msg, "exceed the 31 bytes of data"), "truncated data: %s", e.msg);
  printf("  safetensors: %zu hostile headers + short/empty/missing/directory + %zu truncations rejected\n", ncases, n);
}

static void test_reference_checkpoint(void) {
  const char *ref = cd_test_reference_dir();
  if (!ref) {
    printf("  reference checkpoint: skipped (../shared/reference absent)\n");
    return;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/tiny/openai.safetensors", ref);
  cd_safetensors st;
  cd_error e = {{0}};
  CHECK(cd_st_open(&st, path, &e) == 0, "reference: %s", e.msg);
  if (st.n_tensors == 0) return;
  const cd_st_tensor *t = cd_st_find(&st, "visual.conv1.weight");
  CHECK(t && t->dtype == CD_F32 && t->ndim == 4 && t->shape[0] == 128 && t->shape[1] == 3 && t->shape[2] == 32,
        "visual.conv1.weight [128,3,32,32]");
  size_t total = 0;
  for (int i = 0; i < st.n_tensors; i++) total += st.tensors[i].nbytes;
  printf("  reference openai.safetensors: %d tensors, %zu data bytes\n", st.n_tensors, total);
  cd_st_close(&st);
}

int main(void) {
  if (cd_test_make_tmpdir(g_dir, sizeof g_dir, "cd_st")) return 1;
  test_round_trip();
  test_metadata_and_overlap();
  test_rejections();
  test_reference_checkpoint();
  cd_test_remove_tmpdir(g_dir);
  return cd_test_finish("test_core_safetensors");
}
