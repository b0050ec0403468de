/* JSON writer and checked-field reader: exact bytes for escapes (control characters, UTF-8
 * passed through), layouts (inline, block, line breaks, tight), numbers (round trip, NaN and
 * infinity as null), misuse refused, atomic files; the reader's message for a missing field,
 * a wrong type and a value out of range. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/json_write.h"
#include "tests/testutil.h"

/* Runs fn on a writer over a memory stream and returns the bytes (caller frees). */
static char *render(void (*fn)(cd_jw *), int *ok) {
  char *buf = NULL;
  size_t len = 0;
  FILE *ms = open_memstream(&buf, &len);
  cd_jw w;
  cd_jw_init(&w, ms);
  fn(&w);
  *ok = cd_jw_ok(&w) == 0;
  fclose(ms);
  return buf;
}

static void expect(const char *name, void (*fn)(cd_jw *), const char *want) {
  int ok;
  char *got = render(fn, &ok);
  CHECK(ok && !strcmp(got, want), "%s: got '%s' (ok %d), want '%s'", name, got, ok, want);
  free(got);
}

static void w_escapes(cd_jw *w) {
  cd_jw_str(w, "q\" b\\ n\n t\t r\r b\b f\f bell\x07 esc\x1b del\x7f \xc3\xa9\xe2\x82\xac\xf0\x9f\x90\xa6 /");
}

static void w_inline(cd_jw *w) {
  cd_jw_obj(w);
  cd_jw_kstr(w, "a", "x");
  cd_jw_key(w, "b");
  cd_jw_arr(w);
  cd_jw_int(w, 1);
  cd_jw_int(w, -2);
  cd_jw_end(w);
  cd_jw_key(w, "c");
  cd_jw_obj(w);
  cd_jw_end(w);
  cd_jw_kbool(w, "d", 1);
  cd_jw_key(w, "e");
  cd_jw_null(w);
  cd_jw_key(w, "f");
  cd_jw_str_or_null(w, "");
  cd_jw_end(w);
}

static void w_block(cd_jw *w) {
  cd_jw_obj_block(w);
  cd_jw_kint(w, "version", 1);
  cd_jw_key(w, "groups");
  cd_jw_arr_block(w);
  cd_jw_obj(w);
  cd_jw_kint(w, "g", 0);
  cd_jw_end(w);
  cd_jw_obj(w);
  cd_jw_kint(w, "g", 1);
  cd_jw_end(w);
  cd_jw_end(w);
  cd_jw_key(w, "empty");
  cd_jw_arr_block(w);
  cd_jw_end(w);
  cd_jw_key(w, "inner");
  cd_jw_obj_block(w);
  cd_jw_kint(w, "x", 2);
  cd_jw_end(w);
  cd_jw_end(w);
}

static void w_breaks(cd_jw *w) {
  w->indent = 1;
  cd_jw_obj(w);
  cd_jw_kint(w, "a", 1);
  cd_jw_kint(w, "b", 2);
  cd_jw_br(w);
  cd_jw_kint(w, "c", 3);
  cd_jw_end(w);
}

static void w_tight(cd_jw *w) {
  w->tight = 1;
  cd_jw_obj(w);
  cd_jw_key(w, "t");
  cd_jw_obj(w);
  cd_jw_kstr(w, "dtype", "F32");
  cd_jw_key(w, "shape");
  const int64_t s[2] = {2, 3};
  cd_jw_ints(w, s, 2);
  cd_jw_end(w);
  cd_jw_end(w);
}

static void w_numbers(cd_jw *w) {
  const double v[] = {0.9, 0.1 + 0.2, 3, -0.0, 1e15, 1e-300, NAN, INFINITY, -INFINITY, 123456.5};
  cd_jw_nums(w, v, 10);
}

static void w_other_numbers(cd_jw *w) {
  cd_jw_arr(w);
  cd_jw_g17(w, 0.9);
  cd_jw_fixed(w, 1.23456, 3);
  cd_jw_fixed(w, NAN, 3);
  cd_jw_int(w, INT64_MIN);
  const int32_t i32[2] = {-1, 7};
  cd_jw_int32s(w, i32, 2);
  const char *const s[2] = {"a", "b"};
  cd_jw_strs(w, s, 2);
  cd_jw_raw(w, "{\"r\": 1}");
  cd_jw_end(w);
}

static void test_layouts(void) {
  expect("escapes", w_escapes,
         "\"q\\\" b\\\\ n\\n t\\t r\\r b\\b f\\f bell\\u0007 esc\\u001b del\x7f \xc3\xa9\xe2\x82\xac\xf0\x9f\x90\xa6 /\"");
  expect("inline", w_inline, "{\"a\": \"x\", \"b\": [1, -2], \"c\": {}, \"d\": true, \"e\": null, \"f\": null}");
  expect("block", w_block,
         "{\n  \"version\": 1,\n  \"groups\": [\n    {\"g\": 0},\n    {\"g\": 1}\n  ],\n  \"empty\": [],\n"
         "  \"inner\": {\n    \"x\": 2\n  }\n}");
  expect("breaks", w_breaks, "{\"a\": 1, \"b\": 2,\n \"c\": 3}");
  expect("tight", w_tight, "{\"t\":{\"dtype\":\"F32\",\"shape\":[2,3]}}");
  expect("numbers", w_numbers, "[0.9, 0.30000000000000004, 3, 0, 1e+15, 1e-300, null, null, null, 123456.5]");
  expect("other numbers", w_other_numbers,
         "[0.90000000000000002, 1.235, null, -9223372036854775808, [-1, 7], [\"a\", \"b\"], {\"r\": 1}]");
}

/* Every double written reads back to the same bits; every string to the same bytes. */
static void test_round_trip(void) {
  uint64_t st = 12345;
  char *buf = NULL;
  size_t len = 0;
  FILE *ms = open_memstream(&buf, &len);
  cd_jw w;
  cd_jw_init(&w, ms);
  double v[2000];
  for (int i = 0; i < 2000; i++) {
    st = st * 6364136223846793005ULL + 1442695040888963407ULL;
    uint64_t bits = st >> 1;
    memcpy(&v[i], &bits, 8);
    if (!isfinite(v[i]) || i % 3 == 0) v[i] = (double)cd_test_randf(&st) * pow(10, i % 40 - 20);
  }
  cd_jw_obj_block(&w);
  cd_jw_key(&w, "v");
  cd_jw_nums(&w, v, 2000);
  char s[256];
  for (int i = 0; i < 255; i++) s[i] = (char)(i + 1); /* every byte but NUL, as it comes */
  s[255] = 0;
  /* the bytes >= 0x80 alone are not UTF-8; the parser refuses them, so the string is cut at 0x80 */
  s[127] = 0;
  cd_jw_kstr(&w, "s", s);
  cd_jw_end(&w);
  fclose(ms);
  CHECK(cd_jw_ok(&w) == 0, "round trip writer state");
  cd_error e = {{0}};
  cd_json_doc *d = cd_json_parse(buf, len, "rt.json", &e);
  CHECK(d != NULL, "round trip parse: %s", e.msg);
  if (d) {
    double got[2000];
    CHECK(cd_json_field_nums(cd_json_root(d), "v", got, 2000, "rt.json", &e) == 0, "nums: %s", e.msg);
    int bad = 0;
    for (int i = 0; i < 2000; i++) bad += memcmp(&got[i], &v[i], 8) != 0 && !(v[i] == 0 && got[i] == 0);
    CHECK(bad == 0, "%d of 2000 doubles did not read back bit-exact", bad);
    const char *rs = NULL;
    CHECK(cd_json_field_str(cd_json_root(d), "s", &rs, "rt.json", &e) == 0 && !strcmp(rs, s), "string round trip");
  }
  cd_json_free(d);
  free(buf);
}

static void w_key_in_array(cd_jw *w) {
  cd_jw_arr(w);
  cd_jw_key(w, "k");
  cd_jw_int(w, 1);
  cd_jw_end(w);
}
static void w_value_in_object(cd_jw *w) {
  cd_jw_obj(w);
  cd_jw_int(w, 1);
  cd_jw_end(w);
}
static void w_unclosed(cd_jw *w) { cd_jw_obj(w); }
static void w_extra_end(cd_jw *w) {
  cd_jw_arr(w);
  cd_jw_end(w);
  cd_jw_end(w);
}
static void w_dangling_key(cd_jw *w) {
  cd_jw_obj(w);
  cd_jw_key(w, "k");
  cd_jw_end(w);
}
static void w_too_deep(cd_jw *w) {
  for (int i = 0; i <= CD_JW_DEPTH; i++) cd_jw_arr(w);
  for (int i = 0; i <= CD_JW_DEPTH; i++) cd_jw_end(w);
}

static void test_misuse(void) {
  void (*fns[])(cd_jw *) = {w_key_in_array, w_value_in_object, w_unclosed, w_extra_end, w_dangling_key, w_too_deep};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    int ok;
    free(render(fns[i], &ok));
    CHECK(!ok, "misuse %zu was not noticed", i);
  }
}

static void test_atomic(void) {
  char dir[256];
  if (cd_test_make_tmpdir(dir, sizeof dir, "json_write")) return;
  char path[512];
  snprintf(path, sizeof path, "%s/out.json", dir);
  cd_error e = {{0}};
  cd_atomic_file af;
  cd_jw w;
  CHECK(cd_jw_open(&w, &af, path, &e) == 0, "open: %s", e.msg);
  cd_jw_obj_block(&w);
  cd_jw_kint(&w, "a", 1);
  cd_jw_end(&w);
  CHECK(cd_jw_commit(&w, &af, &e) == 0, "commit: %s", e.msg);
  uint8_t *data = NULL;
  size_t n = 0;
  CHECK(cd_file_read(path, 1 << 20, &data, &n, &e) == 0 && n == 13 && !memcmp(data, "{\n  \"a\": 1\n}\n", 13),
        "file bytes: '%.*s'", (int)n, data ? (char *)data : "");
  free(data);
  /* A misused writer leaves the old file in place and no temporary file. */
  CHECK(cd_jw_open(&w, &af, path, &e) == 0, "open 2: %s", e.msg);
  cd_jw_obj(&w);
  CHECK(cd_jw_commit(&w, &af, &e) == -1 && strstr(e.msg, "out.json: JSON writer misused"), "misuse commit: '%s'",
        e.msg);
  CHECK(!cd_file_exists(af.tmp_path), "temporary file left: %s", af.tmp_path);
  CHECK(cd_file_read(path, 1 << 20, &data, &n, &e) == 0 && n == 13, "old file kept (%zu bytes)", n);
  free(data);
  cd_test_remove_tmpdir(dir);
}

static void test_reader(void) {
  const char *s = "{\"n\": 5, \"big\": 9007199254740993, \"frac\": 2.5, \"s\": \"x\", \"b\": true, \"z\": null,"
                  " \"a\": [1, null, 2.5], \"bad\": [1, \"x\"], \"o\": {}}";
  cd_error e = {{0}};
  cd_json_doc *d = cd_json_parse(s, strlen(s), "f.json", &e);
  CHECK(d != NULL, "parse: %s", e.msg);
  if (!d) return;
  const cd_json *r = cd_json_root(d);
  int i = 0, b = 0;
  int64_t i64 = 0;
  double x = 0, arr[3];
  const char *str = NULL;
  const cd_json *o = NULL;
  CHECK(!cd_json_field_int(r, "n", 1, 10, &i, "f.json", &e) && i == 5, "int: %d %s", i, e.msg);
  CHECK(!cd_json_field_i64(r, "big", 0, INT64_MAX, &i64, "f.json", &e) && i64 == 9007199254740993LL, "i64");
  CHECK(!cd_json_field_num(r, "frac", 0, 3, &x, "f.json", &e) && x == 2.5, "num");
  CHECK(!cd_json_field_str(r, "s", &str, "f.json", &e) && !strcmp(str, "x"), "str");
  CHECK(!cd_json_field_bool(r, "b", &b, "f.json", &e) && b == 1, "bool");
  CHECK(!cd_json_field(r, "o", CD_JSON_OBJECT, &o, "f.json", &e) && o && o->type == CD_JSON_OBJECT, "object");
  CHECK(!cd_json_field_nums(r, "a", arr, 3, "f.json", &e) && arr[0] == 1 && isnan(arr[1]) && arr[2] == 2.5, "nums");
  CHECK(cd_json_has(r, "n") && !cd_json_has(r, "z") && !cd_json_has(r, "nope"), "has");
  struct {
    int rc;
    const char *want;
  } cases[] = {
      {cd_json_field_int(r, "missing", 0, 1, &i, "f.json", &e), "f.json: field \"missing\": missing"},
      {cd_json_field_int(r, "s", 0, 1, &i, "f.json", &e), "f.json: field \"s\": expected a number, found a string"},
      {cd_json_field_int(r, "n", 6, 10, &i, "f.json", &e), "f.json: field \"n\": 5 is outside [6, 10]"},
      {cd_json_field_int(r, "frac", 0, 10, &i, "f.json", &e), "f.json: field \"frac\": 2.5 is not an integer"},
      {cd_json_field_num(r, "frac", 0, 1, &x, "f.json", &e), "f.json: field \"frac\": 2.5 is outside [0, 1]"},
      {cd_json_field_str(r, "z", &str, "f.json", &e), "f.json: field \"z\": expected a string, found null"},
      {cd_json_field_bool(r, "n", &b, "f.json", &e), "f.json: field \"n\": expected a boolean, found a number"},
      {cd_json_field(r, "a", CD_JSON_OBJECT, &o, "f.json", &e), "f.json: field \"a\": expected an object, found an array"},
      {cd_json_field_nums(r, "a", arr, 2, "f.json", &e), "f.json: field \"a\": 3 numbers, expected 2"},
      {cd_json_field_nums(r, "bad", arr, 2, "f.json", &e), "f.json: field \"bad\": item 1 is a string, expected a number"},
  };
  /* each call above overwrote e; run them again one by one to read each message */
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) CHECK(cases[k].rc == -1, "case %zu did not fail", k);
  const char *got[10];
  static char msgs[10][1024];
  int c = 0;
#define MSG(call) (call, snprintf(msgs[c], sizeof msgs[c], "%s", e.msg), got[c] = msgs[c], c++)
  MSG(cd_json_field_int(r, "missing", 0, 1, &i, "f.json", &e));
  MSG(cd_json_field_int(r, "s", 0, 1, &i, "f.json", &e));
  MSG(cd_json_field_int(r, "n", 6, 10, &i, "f.json", &e));
  MSG(cd_json_field_int(r, "frac", 0, 10, &i, "f.json", &e));
  MSG(cd_json_field_num(r, "frac", 0, 1, &x, "f.json", &e));
  MSG(cd_json_field_str(r, "z", &str, "f.json", &e));
  MSG(cd_json_field_bool(r, "n", &b, "f.json", &e));
  MSG(cd_json_field(r, "a", CD_JSON_OBJECT, &o, "f.json", &e));
  MSG(cd_json_field_nums(r, "a", arr, 2, "f.json", &e));
  MSG(cd_json_field_nums(r, "bad", arr, 2, "f.json", &e));
#undef MSG
  for (int k = 0; k < c; k++) CHECK(!strcmp(got[k], cases[k].want), "message %d: '%s', want '%s'", k, got[k], cases[k].want);
  cd_json_free(d);
}

int main(void) {
  test_layouts();
  test_round_trip();
  test_misuse();
  test_atomic();
  test_reader();
  return cd_test_finish("test_core_json_write");
}
