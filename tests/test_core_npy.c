/* .npy: byte-exact headers against numpy 1.24's np.save, round trips of every dtype,
 * conversions, labels, header dialects numpy accepts, and every rejection path. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/npy.h"
#include "tests/testutil.h"

static char g_dir[64];

static const char *tmp_path(const char *name) { return cd_test_path(g_dir, name); }

static void write_raw(const char *path, const void *data, size_t n) {
  CHECK(cd_test_write_file(path, data, n) == 0, "cannot write %s", path);
}

static size_t read_raw(const char *path, uint8_t *buf, size_t cap) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return 0;
  size_t n = fread(buf, 1, cap, fp);
  fclose(fp);
  return n;
}

/* Writes magic + version + length + dict (unpadded) + data. */
static void write_npy(const char *path, int major, const char *dict, const void *data, size_t ndata) {
  size_t dl = strlen(dict), pre = major == 1 ? 10 : 12;
  uint8_t *b = malloc(pre + dl + ndata + 1);
  memcpy(b, "\x93NUMPY", 6);
  b[6] = (uint8_t)major;
  b[7] = 0;
  b[8] = (uint8_t)dl;
  b[9] = (uint8_t)(dl >> 8);
  if (major != 1) b[10] = (uint8_t)(dl >> 16), b[11] = (uint8_t)(dl >> 24);
  memcpy(b + pre, dict, dl);
  if (ndata) memcpy(b + pre + dl, data, ndata);
  write_raw(path, b, pre + dl + ndata);
  free(b);
}

/* Headers as numpy 1.24 np.save writes them (printed with repr from Python). */
static void check_numpy_header(const char *path, const char *dict) {
  uint8_t buf[256];
  size_t n = read_raw(path, buf, sizeof buf);
  char want[129];
  memcpy(want, "\x93NUMPY\x01\x00\x76\x00", 10);
  size_t dl = strlen(dict);
  memcpy(want + 10, dict, dl);
  memset(want + 10 + dl, ' ', 128 - 10 - dl);
  want[127] = '\n';
  CHECK(n >= 128 && !memcmp(buf, want, 128), "%s: header differs from numpy's for %s", path, dict);
}

static void test_round_trip(void) {
  cd_error e = {{0}};
  float f[6] = {1, -2, 3.5f, 1e-38f, -0.0f, 65504};
  int64_t sh23[] = {2, 3};
  const char *p = tmp_path("f.npy");
  CHECK(cd_npy_save_f32(p, 2, sh23, f, &e) == 0, "save f32: %s", e.msg);
  check_numpy_header(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
  cd_array a;
  CHECK(cd_npy_load(p, &a, &e) == 0, "load: %s", e.msg);
  CHECK(a.dtype == CD_F32 && a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3 && a.numel == 6, "f32 shape");
  CHECK(((uintptr_t)a.data & 63) == 0, "64-byte aligned data");
  CHECK(!memcmp(a.data, f, sizeof f), "f32 data");
  cd_array_free(&a);

  int64_t i8[5] = {-1, 0, 1, INT64_MAX, INT64_MIN}, sh5[] = {5};
  p = tmp_path("i8.npy");
  CHECK(cd_npy_save(p, CD_I64, 1, sh5, i8, &e) == 0, "save i8");
  check_numpy_header(p, "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }");
  CHECK(cd_npy_load(p, &a, &e) == 0 && a.dtype == CD_I64 && a.ndim == 1 && !memcmp(a.data, i8, sizeof i8), "i8 data");
  cd_array_free(&a);

  uint8_t u = 200;
  p = tmp_path("u1.npy");
  CHECK(cd_npy_save(p, CD_U8, 0, NULL, &u, &e) == 0, "save u1 scalar");
  check_numpy_header(p, "{'descr': '|u1', 'fortran_order': False, 'shape': (), }");
  CHECK(cd_npy_load(p, &a, &e) == 0 && a.ndim == 0 && a.numel == 1 && ((uint8_t *)a.data)[0] == 200, "u1 scalar");
  cd_array_free(&a);

  int64_t sh04[] = {0, 4};
  p = tmp_path("b1.npy");
  CHECK(cd_npy_save(p, CD_BOOL, 2, sh04, NULL, &e) == 0, "save empty bool");
  check_numpy_header(p, "{'descr': '|b1', 'fortran_order': False, 'shape': (0, 4), }");
  CHECK(cd_npy_load(p, &a, &e) == 0 && a.numel == 0 && a.data != NULL, "empty array has non-NULL data");
  cd_array_free(&a);

  /* Every other dtype round trips; big shapes take the growth padding into account. */
  double d[3] = {1e300, -1.5, 0.1};
  int32_t i4[3] = {-7, 0, 2147483647};
  int64_t sh3[] = {3};
  CHECK(cd_npy_save(tmp_path("f8.npy"), CD_F64, 1, sh3, d, &e) == 0, "save f8");
  CHECK(cd_npy_save(tmp_path("i4.npy"), CD_I32, 1, sh3, i4, &e) == 0, "save i4");
  CHECK(cd_npy_load(tmp_path("f8.npy"), &a, &e) == 0 && a.dtype == CD_F64 && !memcmp(a.data, d, sizeof d), "f8");
  cd_array_free(&a);
  CHECK(cd_npy_load(tmp_path("i4.npy"), &a, &e) == 0 && a.dtype == CD_I32 && !memcmp(a.data, i4, sizeof i4), "i4");
  cd_array_free(&a);
  int64_t sh8[] = {1, 1, 1, 1, 1, 1, 1, 1};
  CHECK(cd_npy_save(tmp_path("nd8.npy"), CD_F32, 8, sh8, f, &e) == 0, "save 8-D");
  CHECK(cd_npy_load(tmp_path("nd8.npy"), &a, &e) == 0 && a.ndim == 8, "8-D load");
  cd_array_free(&a);
  CHECK(cd_npy_save(tmp_path("bf.npy"), CD_BF16, 1, sh3, f, &e) == -1 && strstr(e.msg, "BF16 cannot be stored"),
        "bf16 save refused: %s", e.msg);
  CHECK(access(tmp_path("bf.npy"), F_OK) != 0, "refused save leaves no file");
  int64_t neg[] = {-1};
  CHECK(cd_npy_save(tmp_path("neg.npy"), CD_F32, 1, neg, f, &e) == -1 && strstr(e.msg, "invalid shape"), "neg shape");

  /* Every saved file has its data on a 64-byte boundary, like numpy's. */
  uint8_t buf[256];
  size_t n = read_raw(tmp_path("nd8.npy"), buf, sizeof buf);
  CHECK(n > 10 && (10 + (size_t)(buf[8] | buf[9] << 8)) % 64 == 0, "8-D header aligned");
}

static void test_conversions(void) {
  cd_error e = {{0}};
  cd_array a;
  double d[4] = {0.5, -3.0, 1e10, 0.1};
  int64_t sh[] = {2, 2};
  CHECK(cd_npy_save(tmp_path("c.npy"), CD_F64, 2, sh, d, &e) == 0, "save");
  CHECK(cd_npy_load_f32(tmp_path("c.npy"), 2, &a, &e) == 0 && a.dtype == CD_F32, "load_f32 from f8: %s", e.msg);
  float want[4] = {0.5f, -3.0f, 1e10f, 0.1f};
  if (a.data) cd_test_close("f8 -> f32", a.data, want, 4, 0);
  CHECK(((uintptr_t)a.data & 63) == 0, "converted data aligned");
  cd_array_free(&a);
  CHECK(cd_npy_load_f32(tmp_path("c.npy"), 3, &a, &e) == -1 && strstr(e.msg, "expected a 3-D array, got 2-D"),
        "ndim check: %s", e.msg);
  uint8_t u[4] = {0, 1, 128, 255};
  CHECK(cd_npy_save(tmp_path("u.npy"), CD_U8, 2, sh, u, &e) == 0, "save u1");
  CHECK(cd_npy_load_f32(tmp_path("u.npy"), 0, &a, &e) == 0, "u1 -> f32");
  float wu[4] = {0, 1, 128, 255};
  if (a.data) cd_test_close("u1 -> f32", a.data, wu, 4, 0);
  cd_array_free(&a);
  int32_t i4[4] = {-5, 7, 16777216, -16777216};
  CHECK(cd_npy_save(tmp_path("i.npy"), CD_I32, 2, sh, i4, &e) == 0, "save i4");
  CHECK(cd_npy_load_f32(tmp_path("i.npy"), 2, &a, &e) == 0, "i4 -> f32");
  float wi[4] = {-5, 7, 16777216, -16777216};
  if (a.data) cd_test_close("i4 -> f32", a.data, wi, 4, 0);
  cd_array_free(&a);
}

static void test_labels(void) {
  cd_error e = {{0}};
  cd_array a;
  int64_t l8[4] = {0, 1, 1, 0}, sh4[] = {4}, sh41[] = {4, 1}, sh22[] = {2, 2};
  CHECK(cd_npy_save(tmp_path("l.npy"), CD_I64, 1, sh4, l8, &e) == 0, "save");
  CHECK(cd_npy_load_labels(tmp_path("l.npy"), &a, &e) == 0 && a.dtype == CD_I32 && a.ndim == 1 && a.shape[0] == 4,
        "labels i8: %s", e.msg);
  int32_t want[4] = {0, 1, 1, 0};
  CHECK(a.data && !memcmp(a.data, want, sizeof want), "label values");
  cd_array_free(&a);
  int32_t l4[4] = {3, -1, 2, 9};
  CHECK(cd_npy_save(tmp_path("l41.npy"), CD_I32, 2, sh41, l4, &e) == 0, "save [4,1]");
  CHECK(cd_npy_load_labels(tmp_path("l41.npy"), &a, &e) == 0 && a.ndim == 1 && a.shape[0] == 4 &&
            !memcmp(a.data, l4, sizeof l4),
        "[N,1] labels flattened: %s", e.msg);
  cd_array_free(&a);
  uint8_t b1[4] = {1, 0, 1, 1};
  CHECK(cd_npy_save(tmp_path("lb.npy"), CD_BOOL, 1, sh4, b1, &e) == 0, "save bool");
  CHECK(cd_npy_load_labels(tmp_path("lb.npy"), &a, &e) == 0 && ((int32_t *)a.data)[3] == 1, "bool labels");
  cd_array_free(&a);
  float f[4] = {0, 1, 0, 1};
  CHECK(cd_npy_save_f32(tmp_path("lf.npy"), 1, sh4, f, &e) == 0, "save f4");
  CHECK(cd_npy_load_labels(tmp_path("lf.npy"), &a, &e) == -1 && strstr(e.msg, "labels must be integers, got float32"),
        "float labels rejected: %s", e.msg);
  CHECK(cd_npy_save(tmp_path("l22.npy"), CD_I32, 2, sh22, l4, &e) == 0, "save [2,2]");
  CHECK(cd_npy_load_labels(tmp_path("l22.npy"), &a, &e) == -1 && strstr(e.msg, "shape [N] or [N,1]"),
        "[2,2] labels rejected: %s", e.msg);
  int64_t big[4] = {0, 1, 4294967296LL, 0};
  CHECK(cd_npy_save(tmp_path("lbig.npy"), CD_I64, 1, sh4, big, &e) == 0, "save big");
  CHECK(cd_npy_load_labels(tmp_path("lbig.npy"), &a, &e) == -1 &&
            strstr(e.msg, "label 4294967296 at index 2 does not fit in int32"),
        "out-of-range label: %s", e.msg);
}

static void test_dialects(void) {
  /* Header spellings numpy (and older numpy / Python 2) produce or accept. */
  static const char *ok[] = {
      "{'shape': (2,), 'fortran_order': False, 'descr': '<f4'}",
      "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,)}",
      "{ 'descr' : '=f4' ,'fortran_order':False,'shape':( 2 , ) , }  \n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2L,), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2), }",
  };
  float v[2] = {4.5f, -1};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    for (int major = 1; major <= 3; major++) {
      write_npy(tmp_path("d.npy"), major, ok[i], v, sizeof v);
      cd_array a;
      cd_error e = {{0}};
      CHECK(cd_npy_load(tmp_path("d.npy"), &a, &e) == 0 && a.ndim == 1 && a.shape[0] == 2 &&
                !memcmp(a.data, v, sizeof v),
            "dialect %zu v%d: %s", i, major, e.msg);
      cd_array_free(&a);
    }
  }
  /* '>' on one-byte types carries no byte order and is accepted. */
  uint8_t u[2] = {1, 2};
  write_npy(tmp_path("d.npy"), 1, "{'descr': '>u1', 'fortran_order': False, 'shape': (2,), }", u, 2);
  cd_array a;
  cd_error e = {{0}};
  CHECK(cd_npy_load(tmp_path("d.npy"), &a, &e) == 0 && a.dtype == CD_U8, ">u1: %s", e.msg);
  cd_array_free(&a);
}

typedef struct {
  const char *label;
  const char *dict;
  size_t ndata;
  const char *phrase;
} bad_case;

static void test_rejections(void) {
  static const bad_case cases[] = {
      {"fortran order", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16, "fortran_order=True arrays are not supported"},
      {"big-endian", "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8, "big-endian dtype '>f4' is not supported"},
      {"big-endian i8", "{'descr': '>i8', 'fortran_order': False, 'shape': (2,), }", 16, "big-endian dtype '>i8'"},
      {"complex", "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16, "unsupported dtype '<c8'"},
      {"unicode", "{'descr': '<U5', 'fortran_order': False, 'shape': (2,), }", 40, "unsupported dtype '<U5'"},
      {"object", "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16, "unsupported dtype '|O'"},
      {"structured", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8, "structured arrays are not supported"},
      {"missing shape", "{'descr': '<f4', 'fortran_order': False, }", 8, "header lacks 'shape'"},
      {"missing descr", "{'fortran_order': False, 'shape': (2,), }", 8, "header lacks 'descr'"},
      {"extra key", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", 8, "unexpected key 'x'"},
      {"duplicate key", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", 8, "'descr' twice"},
      {"negative dim", "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", 8, "non-negative integers"},
      {"float dim", "{'descr': '<f4', 'fortran_order': False, 'shape': (2.0,), }", 8, "tuple is malformed"},
      {"list shape", "{'descr': '<f4', 'fortran_order': False, 'shape': [2], }", 8, "'shape' is not a tuple"},
      {"9 dims", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4, "more than 8 dimensions"},
      {"numel overflow", "{'descr': '|u1', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }", 8,
       "overflows the element count"},
      {"byte overflow", "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904,), }", 8,
       "overflows the byte count"},
      {"huge dim", "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,), }", 8, "dimension too large"},
      {"bad fortran value", "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }", 8, "not True or False"},
      {"not a dict", "['descr', '<f4']", 8, "not a Python dict literal"},
      {"trailing text", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x", 8, "unexpected text after"},
      {"missing colon", "{'descr' '<f4'}", 8, "expected ':' after 'descr'"},
      {"unterminated", "{'descr': '<f4", 8, "not a simple dtype string"},
      {"truncated data", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20,
       "truncated: data needs 24 bytes, file has 20 after the header"},
  };
  const char *p = tmp_path("bad.npy");
  uint8_t zeros[64] = {0};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    write_npy(p, 1, cases[i].dict, zeros, cases[i].ndata);
    cd_array a;
    cd_error e = {{0}};
    int rc = cd_npy_load(p, &a, &e);
    CHECK(rc == -1, "%s: should fail", cases[i].label);
    CHECK(strstr(e.msg, cases[i].phrase) && !strncmp(e.msg, p, strlen(p)), "%s: message '%s' lacks '%s'",
          cases[i].label, e.msg, cases[i].phrase);
    if (!rc) cd_array_free(&a);
    /* The in-memory loader gives the same verdict. */
    uint8_t buf[512];
    size_t n = read_raw(p, buf, sizeof buf);
    CHECK(cd_npy_load_memory(buf, n, "mem", &a, &e) == -1 && strstr(e.msg, cases[i].phrase), "%s (memory): %s",
          cases[i].label, e.msg);
  }
  size_t ncases = sizeof cases / sizeof cases[0];

  cd_array a;
  cd_error e = {{0}};
  write_raw(p, "\x93NUMPX\x01\x00\x10\x00{}", 12);
  CHECK(cd_npy_load(p, &a, &e) == -1 && strstr(e.msg, "not a .npy file (bad magic)"), "bad magic: %s", e.msg);
  write_raw(p, "PK\x03\x04", 4);
  CHECK(cd_npy_load(p, &a, &e) == -1 && strstr(e.msg, "bad magic"), "zip (npz) file: %s", e.msg);
  write_raw(p, "", 0);
  CHECK(cd_npy_load(p, &a, &e) == -1 && strstr(e.msg, "bad magic"), "empty: %s", e.msg);
  write_raw(p, "\x93NUMPY\x04\x00\x10\x00", 10);
  CHECK(cd_npy_load(p, &a, &e) == -1 && strstr(e.msg, "unsupported .npy format version 4.0"), "version: %s", e.msg);
  write_raw(p, "\x93NUMPY\x01\x00\x00\x10{'descr'", 18);
  CHECK(cd_npy_load(p, &a, &e) == -1 && strstr(e.msg, "truncated: header needs 4106 bytes, file has 18"),
        "truncated header: %s", e.msg);
  write_raw(p, "\x93NUMPY\x02\x00\x00\x00\x00\x40", 12);
  CHECK(cd_npy_load(p, &a, &e) == -1 && strstr(e.msg, "implausibly large"), "huge header: %s", e.msg);
  CHECK(cd_npy_load(tmp_path("missing.npy"), &a, &e) == -1 && strstr(e.msg, "cannot open"), "missing: %s", e.msg);
  CHECK(cd_npy_load(g_dir, &a, &e) == -1 && strstr(e.msg, "not a regular file"), "directory: %s", e.msg);

  /* Every truncation of a valid file fails. */
  float v[6] = {1, 2, 3, 4, 5, 6};
  int64_t sh[] = {2, 3};
  const char *good = tmp_path("good.npy");
  CHECK(cd_npy_save_f32(good, 2, sh, v, &e) == 0, "save good");
  uint8_t full[512];
  size_t n = read_raw(good, full, sizeof full);
  int all_fail = 1;
  for (size_t cut = 0; cut < n; cut++) {
    write_raw(p, full, cut);
    if (cd_npy_load(p, &a, &e) == 0) {
      all_fail = 0;
      cd_array_free(&a);
    }
  }
  CHECK(all_fail, "every truncation of a %zu-byte file is rejected", n);
  printf("  npy: %zu hostile headers + magic/version/empty/header-length/missing/directory + %zu truncations rejected\n",
         ncases, n);
}

static void test_reference(void) {
  const char *ref = cd_test_reference_dir();
  if (!ref) {
    printf("  reference .npy: skipped (../shared/reference absent)\n");
    return;
  }
  char path[4096];
  cd_array a;
  cd_error e = {{0}};
  snprintf(path, sizeof path, "%s/tiny/golden/tokens.npy", ref);
  CHECK(cd_npy_load(path, &a, &e) == 0 && a.dtype == CD_I32 && a.ndim == 2 && a.shape[1] == 77,
        "tokens.npy int32 [N,77]: %s", e.msg);
  if (a.data) CHECK(((int32_t *)a.data)[0] == 49406, "first token is SOT");
  cd_array_free(&a);
  snprintf(path, sizeof path, "%s/tiny/golden/pixels.npy", ref);
  CHECK(cd_npy_load_f32(path, 4, &a, &e) == 0 && a.shape[1] == 3 && a.shape[2] == 224, "pixels.npy: %s", e.msg);
  printf("  reference pixels.npy: [%lld,3,224,224] loaded\n", (long long)a.shape[0]);
  cd_array_free(&a);
}

int main(void) {
  if (cd_test_make_tmpdir(g_dir, sizeof g_dir, "cd_npy")) return 1;
  test_round_trip();
  test_conversions();
  test_labels();
  test_dialects();
  test_rejections();
  test_reference();
  cd_test_remove_tmpdir(g_dir);
  return cd_test_finish("test_core_npy");
}
