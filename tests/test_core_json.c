/* JSON parser: values, escapes, number exactness, every class of malformed input (each
 * asserting the message and its line:column), depth limit, writer round trip, and a
 * CLIP-sized vocab.json. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/json_write.h"
#include "tests/testutil.h"

#include <time.h>

/* CPU time of this thread: the machine is shared, so wall time would measure the load. */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static cd_json_doc *parse(const char *s, cd_error *e) { return cd_json_parse(s, strlen(s), "t.json", e); }

static void test_values(void) {
  cd_error e = {{0}};
  const char *s = "{\"a\": 1, \"b\": [true, false, null, -2.5e1, \"x\"], \"c\": {\"d\": \"e\"}, \"big\": 9007199254740993,"
                  " \"min\": -9223372036854775808, \"exp\": 1e3, \"frac\": 0.5, \"huge\": 1e400, \"\": 7}";
  cd_json_doc *d = parse(s, &e);
  CHECK(d, "parse failed: %s", e.msg);
  if (!d) return;
  const cd_json *r = cd_json_root(d);
  CHECK(r->type == CD_JSON_OBJECT && r->n == 9, "root: type %d n %zu", r->type, r->n);
  CHECK(!strcmp(r->keys[1], "b") && r->key_lens[1] == 1, "key order kept");
  CHECK(cd_json_get_int(r, "a", -1) == 1, "a");
  const cd_json *b = cd_json_get(r, "b");
  CHECK(b && b->type == CD_JSON_ARRAY && b->n == 5, "b array");
  if (b && b->n == 5) {
    CHECK(b->items[0].type == CD_JSON_BOOL && b->items[0].boolean == 1, "true");
    CHECK(b->items[1].type == CD_JSON_BOOL && b->items[1].boolean == 0, "false");
    CHECK(b->items[2].type == CD_JSON_NULL, "null");
    CHECK(b->items[3].type == CD_JSON_NUMBER && b->items[3].number == -25.0 && b->items[3].is_integer,
          "-2.5e1 = %g", b->items[3].number);
    CHECK(b->items[4].type == CD_JSON_STRING && !strcmp(b->items[4].str, "x") && b->items[4].len == 1, "x");
  }
  CHECK(!strcmp(cd_json_get_str(cd_json_get(r, "c"), "d", ""), "e"), "nested");
  const cd_json *big = cd_json_get(r, "big");
  CHECK(big && big->is_integer && big->integer == 9007199254740993LL, "2^53+1 kept exact: %lld",
        big ? (long long)big->integer : 0LL);
  CHECK(cd_json_get_int(r, "min", 0) == INT64_MIN, "INT64_MIN");
  CHECK(cd_json_get_int(r, "exp", 0) == 1000, "1e3 integral");
  const cd_json *fr = cd_json_get(r, "frac");
  CHECK(fr && !fr->is_integer && fr->number == 0.5, "0.5");
  CHECK(cd_json_get_num(r, "frac", 0) == 0.5, "get_num");
  CHECK(cd_json_get_num(r, "missing", 3.25) == 3.25, "num default");
  CHECK(cd_json_get_int(r, "frac", 42) == 42, "non-integer -> default");
  CHECK(!strcmp(cd_json_get_str(r, "a", "dflt"), "dflt"), "wrong type -> default");
  CHECK(cd_json_get_int(r, "", 0) == 7, "empty key");
  CHECK(cd_json_get(b, "x") == NULL, "get on array is NULL");
  const cd_json *h = cd_json_get(r, "huge");
  CHECK(h && h->number > 1e308 && !h->is_integer, "1e400 -> inf, not integer");
  cd_json_free(d);

  /* Top-level scalars, whitespace, BOM. */
  d = parse(" \t\r\n 42 \n", &e);
  CHECK(d && cd_json_root(d)->integer == 42, "scalar root");
  cd_json_free(d);
  d = parse("-0", &e);
  CHECK(d && cd_json_root(d)->is_integer && cd_json_root(d)->integer == 0 && signbit(cd_json_root(d)->number),
        "-0 keeps its sign as a double");
  cd_json_free(d);
  d = parse("\xEF\xBB\xBF[]", &e);
  CHECK(d && cd_json_root(d)->type == CD_JSON_ARRAY && cd_json_root(d)->n == 0, "BOM + empty array");
  cd_json_free(d);
}

static void test_strings(void) {
  cd_error e = {{0}};
  cd_json_doc *d = parse("[\"\\u00e9\\ud83d\\ude00\\n\\t\\\"\\\\\\/\\b\\f\\r\", \"a\\u0000b\", \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]", &e);
  CHECK(d, "strings: %s", e.msg);
  if (!d) return;
  const cd_json *r = cd_json_root(d);
  const char *want = "\xc3\xa9\xf0\x9f\x98\x80\n\t\"\\/\b\f\r";
  CHECK(r->items[0].len == strlen(want) && !memcmp(r->items[0].str, want, strlen(want)),
        "escapes decoded to UTF-8 (len %zu)", r->items[0].len);
  CHECK(r->items[1].len == 3 && r->items[1].str[1] == 0 && r->items[1].str[2] == 'b', "embedded NUL kept");
  CHECK(r->items[2].len == 9, "raw UTF-8 passes through");
  cd_json_free(d);
}

typedef struct {
  const char *text;
  const char *phrase; /* must appear in the message, including line:column */
} bad_case;

static void test_malformed(void) {
  static const bad_case cases[] = {
      {"", "t.json:1:1: unexpected end of input"},
      {"   ", "t.json:1:4: unexpected end of input"},
      {"{", "t.json:1:2: expected a string key"},
      {"{\n  \"a\": 1\n  \"b\": 2}", "t.json:3:3: expected ',' or '}'"},
      {"[1 2]", "t.json:1:4: expected ',' or ']'"},
      {"[1,]", "t.json:1:4: unexpected character"},
      {"{\"a\":1,}", "t.json:1:8: expected a string key"},
      {"{\"a\" 1}", "t.json:1:6: expected ':'"},
      {"{1:2}", "expected a string key"},
      {"01", "leading zero"},
      {"-", "invalid number"},
      {"1.", "digit expected after '.'"},
      {".5", "unexpected character"},
      {"+1", "unexpected character"},
      {"1e", "digit expected in exponent"},
      {"1e+", "digit expected in exponent"},
      {"NaN", "unexpected character"},
      {"Infinity", "unexpected character"},
      {"tru", "invalid literal"},
      {"nul", "invalid literal"},
      {"'a'", "unexpected character"},
      {"\"abc", "t.json:1:1: unterminated string"},
      {"\"abc\\", "unterminated string"},
      {"\"\\x\"", "invalid escape"},
      {"\"\\u12\"", "bad \\u escape"},
      {"\"\\ud800\"", "unpaired high surrogate"},
      {"\"\\ud800\\u0041\"", "unpaired high surrogate"},
      {"\"\\udc00\"", "unpaired low surrogate"},
      {"\"a\tb\"", "t.json:1:3: control character"},
      {"\"\xff\"", "invalid UTF-8"},
      {"\"\xc0\xaf\"", "invalid UTF-8"},        /* overlong '/' */
      {"\"\xed\xa0\x80\"", "invalid UTF-8"},    /* encoded surrogate */
      {"\"\xf4\x90\x80\x80\"", "invalid UTF-8"}, /* above U+10FFFF */
      {"\"\xe2\x82\"", "invalid UTF-8"},        /* truncated sequence */
      {"1 2", "t.json:1:3: unexpected data after"},
      {"{}}", "unexpected data after"},
      {"\"a\"\"b\"", "unexpected data after"},
      {"[\n\n   x]", "t.json:3:4: unexpected character"},
      {"[\"\xc3\xa9\xe2\x82\xac\", x]", "t.json:1:8: unexpected character"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cd_error e = {{0}};
    cd_json_doc *d = parse(cases[i].text, &e);
    CHECK(d == NULL, "case %zu should fail", i);
    CHECK(strstr(e.msg, cases[i].phrase) != NULL, "case %zu: message '%s' lacks '%s'", i, e.msg, cases[i].phrase);
    cd_json_free(d);
  }
  /* Not NUL-terminated: a length that cuts the text must be honoured. */
  cd_error e = {{0}};
  cd_json_doc *d = cd_json_parse("[1, 2]", 4, "t.json", &e);
  CHECK(!d && strstr(e.msg, "unexpected end of input"), "length honoured: %s", e.msg);
  d = cd_json_parse("123456", 2, "t.json", &e);
  CHECK(d && cd_json_root(d)->integer == 12, "number cut by length");
  cd_json_free(d);
  d = cd_json_parse(NULL, 0, "t.json", &e);
  CHECK(!d, "NULL text fails cleanly");
  printf("  malformed JSON: %zu cases rejected with line:column\n", sizeof cases / sizeof cases[0]);
}

static void test_depth(void) {
  char buf[300];
  for (int depth = 63; depth <= 66; depth++) {
    int n = 0;
    for (int i = 0; i < depth; i++) buf[n++] = '[';
    for (int i = 0; i < depth; i++) buf[n++] = ']';
    buf[n] = 0;
    cd_error e = {{0}};
    cd_json_doc *d = parse(buf, &e);
    if (depth <= 64) CHECK(d != NULL, "depth %d should parse: %s", depth, e.msg);
    else CHECK(!d && strstr(e.msg, "deeper than 64"), "depth %d: '%s'", depth, e.msg);
    cd_json_free(d);
  }
  /* A deeply nested hostile document must fail fast, not overflow the stack. */
  size_t n = 1000000;
  char *deep = malloc(n);
  memset(deep, '[', n);
  cd_error e = {{0}};
  cd_json_doc *d = cd_json_parse(deep, n, "deep.json", &e);
  CHECK(!d && strstr(e.msg, "deep.json:1:65: nesting deeper than 64"), "deep: '%s'", e.msg);
  free(deep);
}

static void test_write_string(void) {
  const char *s = "quote\" back\\ nl\n tab\t cr\r bell\x07 esc\x1b \xc3\xa9 end";
  FILE *fp = tmpfile();
  cd_json_write_string(fp, s);
  long n = ftell(fp);
  rewind(fp);
  char buf[256];
  size_t got = fread(buf, 1, sizeof buf, fp);
  fclose(fp);
  CHECK((long)got == n, "read back");
  cd_error e = {{0}};
  cd_json_doc *d = cd_json_parse(buf, got, "w.json", &e);
  CHECK(d && cd_json_root(d)->type == CD_JSON_STRING && !strcmp(cd_json_root(d)->str, s),
        "write_string round trip: %s", d ? "mismatch" : e.msg);
  cd_json_free(d);
}

/* Builds a vocab.json-shaped object of n entries (byte-level BPE keys with \u escapes). */
static char *make_vocab(int n, size_t *len) {
  size_t cap = (size_t)n * 40 + 16, o = 0;
  char *s = malloc(cap);
  s[o++] = '{';
  for (int i = 0; i < n; i++) {
    o += (size_t)snprintf(s + o, cap - o, "%s\"tok%d\\u0120\xc4\xa0</w>\": %d", i ? ", " : "", i, i);
  }
  s[o++] = '}';
  *len = o;
  return s;
}

/* A CLIP-sized vocab.json (49408 keys) parses with every entry intact. The time bound only
 * guards against quadratic behaviour (duplicate-key checks, key lookups): a linear parser
 * takes milliseconds, a quadratic one tens of seconds; speed itself is not tested here. */
#define QUADRATIC_GUARD_SECONDS 2.0

static void test_vocab_sized(void) {
  size_t len;
  char *v = make_vocab(49408, &len);
  cd_error e = {{0}};
  double t0 = cpu_now();
  cd_json_doc *d = cd_json_parse(v, len, "vocab", &e);
  double dt = cpu_now() - t0;
  CHECK(d && cd_json_root(d)->n == 49408, "synthetic vocab entries");
  if (d) {
    const cd_json *r = cd_json_root(d);
    CHECK(r->items[49407].integer == 49407 && !strcmp(r->keys[5], "tok5\xc4\xa0\xc4\xa0</w>"), "vocab content");
  }
  CHECK(dt < QUADRATIC_GUARD_SECONDS, "synthetic vocab parse took %.2f s CPU", dt);
  cd_json_free(d);
  free(v);

  const char *ref = cd_test_reference_dir();
  if (!ref) {
    printf("  reference vocab.json: skipped (../shared/reference absent)\n");
    return;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/tiny/vocab.json", ref);
  t0 = cpu_now();
  d = cd_json_parse_file(path, 64u << 20, &e);
  dt = cpu_now() - t0;
  CHECK(d != NULL, "vocab.json: %s", e.msg);
  if (!d) return;
  const cd_json *r = cd_json_root(d);
  CHECK(r->type == CD_JSON_OBJECT && r->n == 49408, "vocab.json entries: %zu", r->n);
  CHECK(cd_json_get_int(r, "<|startoftext|>", -1) == 49406 && cd_json_get_int(r, "<|endoftext|>", -1) == 49407,
        "special tokens");
  CHECK(cd_json_get_int(r, "!", -1) == 0, "first byte token");
  CHECK(dt < QUADRATIC_GUARD_SECONDS, "vocab.json parse took %.2f s CPU", dt);
  cd_json_free(d);
  cd_error e2 = {{0}};
  CHECK(!cd_json_parse_file(path, 1000, &e2) && strstr(e2.msg, "more than the 1000 allowed"), "max_size: %s",
        e2.msg);
  CHECK(!cd_json_parse_file("/nonexistent/x.json", 1000, &e2) && strstr(e2.msg, "/nonexistent/x.json"),
        "missing file: %s", e2.msg);
}

int main(void) {
  test_values();
  test_strings();
  test_malformed();
  test_depth();
  test_write_string();
  test_vocab_sized();
  return cd_test_finish("test_core_json");
}
