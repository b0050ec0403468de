/* Tokenizer against ids from a Python transcription of OpenAI's simple_tokenizer.py
 * (tools/gen/gen_tokenizer_fixtures.py): tricky texts (HTML entities, scripts, emoji,
 * contractions, special-token text, whitespace, long inputs) with the real merges file when
 * ../shared/clip is present, and with a small committed vocabulary always. Also the
 * truncation rules, the too-long message and load errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/file.h"
#include "core/json.h"
#include "data/text/tokenizer.h"
#include "tests/testutil.h"

#define FIX "tests/fixtures/tokenizer/"

static int ints_equal(const cd_json *arr, const int32_t *ids, int n) {
  if (!arr || arr->type != CD_JSON_ARRAY || (int)arr->n != n) return 0;
  for (int i = 0; i < n; i++)
    if (arr->items[i].integer != ids[i]) return 0;
  return 1;
}

/* Returns the number of cases whose ids, tokens and too-long status all match. */
static int run_cases(const char *name, const cd_tokenizer *t, const char *path, int *total) {
  cd_error e;
  cd_json_doc *doc = cd_json_parse_file(path, 1 << 22, &e);
  CHECK(doc != NULL, "%s", e.msg);
  if (!doc) return 0;
  const cd_json *cases = cd_json_root(doc);
  int ok = 0;
  for (size_t i = 0; i < cases->n; i++) {
    const cd_json *c = &cases->items[i];
    const char *text = cd_json_get_str(c, "text", "");
    const cd_json *too = cd_json_get(c, "too_long");
    int too_long = too && too->boolean;
    int32_t *ids = NULL, tok[CD_CONTEXT], tok2[CD_CONTEXT];
    int n = 0, good = 1;
    if (cd_tokenizer_encode(t, text, &ids, &n, &e)) {
      CHECK(0, "%s case %zu: %s", name, i, e.msg);
      continue;
    }
    int same_ids = ints_equal(cd_json_get(c, "ids"), ids, n);
    CHECK(same_ids, "%s case %zu (\"%.60s\"): %d ids differ from Python's", name, i, text, n);
    good &= same_ids;
    int rc = cd_tokenize(t, text, CD_CONTEXT, 1, tok, &e);
    int same_tok = rc == 0 && ints_equal(cd_json_get(c, "tokens"), tok, CD_CONTEXT);
    CHECK(same_tok, "%s case %zu (\"%.60s\"): truncate=1 tokens differ", name, i, text);
    good &= same_tok;
    rc = cd_tokenize(t, text, CD_CONTEXT, 0, tok2, &e);
    if (too_long) {
      char want[1200];
      snprintf(want, sizeof want, "Input %s is too long for context length 77", text);
      int msg_ok = rc != 0 && (strlen(text) > 200 ? strstr(e.msg, "is too long for context length 77") != NULL
                                                    : strcmp(e.msg, want) == 0);
      CHECK(msg_ok, "%s case %zu: truncate=0 must fail with upstream's message, got rc %d '%s'", name, i, rc,
            rc ? e.msg : "");
      good &= msg_ok;
    } else {
      int same = rc == 0 && !memcmp(tok, tok2, sizeof tok);
      CHECK(same, "%s case %zu: truncate=0 differs from truncate=1 on a text that fits", name, i);
      good &= same;
    }
    ok += good;
    free(ids);
  }
  *total = (int)cases->n;
  cd_json_free(doc);
  return ok;
}

static void test_truncation(const cd_tokenizer *t) {
  int32_t sot = (int32_t)cd_tokenizer_vocab_size(t) - 2, eot = sot + 1, a = -1, tok[8];
  int32_t *ids;
  int n;
  cd_error e;
  CHECK(cd_tokenizer_encode(t, "a", &ids, &n, &e) == 0 && n == 1, "encode 'a'");
  if (n == 1) a = ids[0];
  free(ids);
  CHECK(!strcmp(cd_tokenizer_id_to_str(t, a), "a</w>"), "id %d is '%s', want 'a</w>'", a, cd_tokenizer_id_to_str(t, a));
  /* 4 ids: ctx 6 fits exactly, ctx 5 keeps tokens[:5] with EOT last, or fails. */
  int rc = cd_tokenize(t, "A a  a\ta", 6, 0, tok, &e);
  int32_t fit[6] = {sot, a, a, a, a, eot};
  CHECK(rc == 0 && !memcmp(tok, fit, sizeof fit), "ctx 6: exact fit");
  rc = cd_tokenize(t, "A a  a\ta", 5, 1, tok, &e);
  int32_t cut[5] = {sot, a, a, a, eot};
  CHECK(rc == 0 && !memcmp(tok, cut, sizeof cut), "ctx 5 truncate: [SOT a a a EOT]");
  rc = cd_tokenize(t, "A a  a\ta", 5, 0, tok, &e);
  CHECK(rc != 0 && !strcmp(e.msg, "Input A a  a\ta is too long for context length 5"), "message '%s'",
        rc ? e.msg : "");
  printf("  too long: \"%s\"\n", e.msg);
  rc = cd_tokenize(t, "", 2, 0, tok, &e);
  CHECK(rc == 0 && tok[0] == sot && tok[1] == eot, "empty text -> [SOT EOT]");
  rc = cd_tokenize(t, "a", 2, 1, tok, &e);
  CHECK(rc == 0 && tok[0] == sot && tok[1] == eot, "ctx 2 truncate -> [SOT EOT]");
  rc = cd_tokenize(t, "a", 1, 1, tok, &e);
  CHECK(rc != 0, "ctx 1 must be rejected");
  /* A huge text is cut in the message but still named. */
  size_t big = 5000;
  char *s = malloc(big + 1);
  for (size_t i = 0; i < big; i++) s[i] = i % 2 ? ' ' : 'a';
  s[big] = 0;
  int32_t tok77[CD_CONTEXT];
  rc = cd_tokenize(t, s, CD_CONTEXT, 0, tok77, &e);
  CHECK(rc != 0 && !strncmp(e.msg, "Input a a a", 11) && strstr(e.msg, "too long for context length 77") &&
            strlen(e.msg) < 400,
        "huge text message '%.100s'", e.msg);
  free(s);
  /* Invalid UTF-8 is an error, not a crash. */
  CHECK(cd_tokenizer_encode(t, "ab\xff", &ids, &n, &e) != 0 && strstr(e.msg, "UTF-8"), "invalid UTF-8");
  CHECK(cd_tokenizer_encode(t, "\xed\xa0\x80", &ids, &n, &e) != 0, "encoded surrogate must be rejected");
  CHECK(cd_tokenizer_id_to_str(t, -1) == NULL && cd_tokenizer_id_to_str(t, sot + 2) == NULL,
        "out-of-range ids give NULL");
  CHECK(!strcmp(cd_tokenizer_id_to_str(t, sot), "<|startoftext|>"), "SOT text");
}

/* Random texts built from the pieces the pipeline treats specially (entities, special-token
 * text, sigma, dotted I, combining marks, invalid bytes): no crash, ids in range. */
static void test_random_texts(const cd_tokenizer *t) {
  static const char *frag[] = {"&", "#", "x", "X", "amp", ";", "lt", "nbsp", "1", "39", "\xce\xa3", "\xc4\xb0",
                               " ", "\t", "\n", "'", "s", "ll", "<|", "startoftext", "endoftext", "|>",
                               "\xcd\x85", "\xc3\xa9", "\xf0\x9f\x99\x82", "\xe2\x80\x83", "A", "\xff", "\xc5\xbf", "&#x10FFFF;", "&#99999999999999999999", "&NotEqualTilde;"};
  uint64_t st = 12345;
  int bad_ids = 0, errors = 0;
  for (int it = 0; it < 3000; it++) {
    char text[512];
    size_t len = 0;
    int pieces = (int)((cd_test_randf(&st) + 1) * 20);
    for (int p = 0; p < pieces; p++) {
      const char *f = frag[(int)((cd_test_randf(&st) + 1) * 0.5 * (sizeof frag / sizeof *frag)) % (sizeof frag / sizeof *frag)];
      size_t fl = strlen(f);
      if (len + fl >= sizeof text) break;
      memcpy(text + len, f, fl);
      len += fl;
    }
    text[len] = 0;
    int32_t *ids = NULL, tok[CD_CONTEXT];
    int n = 0;
    cd_error e;
    if (cd_tokenizer_encode(t, text, &ids, &n, &e) != 0) {
      errors++;
      CHECK(strstr(e.msg, "UTF-8") != NULL, "unexpected error '%s'", e.msg);
      continue;
    }
    for (int i = 0; i < n; i++) bad_ids += ids[i] < 0 || ids[i] >= cd_tokenizer_vocab_size(t);
    free(ids);
    CHECK(cd_tokenize(t, text, CD_CONTEXT, 1, tok, &e) == 0, "tokenize failed: %s", e.msg);
  }
  CHECK(bad_ids == 0, "%d ids out of range", bad_ids);
  printf("  3000 random texts: %d rejected as invalid UTF-8, %d ids out of range\n", errors, bad_ids);
}

static void expect_load_error(const char *what, cd_tokenizer *t, const cd_error *e, const char *needle) {
  CHECK(t == NULL, "%s: loaded", what);
  CHECK(t != NULL || strstr(e->msg, needle) != NULL, "%s: message '%s' lacks '%s'", what, e->msg, needle);
  if (!t) printf("  %-22s -> %s\n", what, e->msg);
  cd_tokenizer_free(t);
}

static void test_load_errors(void) {
  cd_error e;
  const char *tmp_gz = "/tmp/cd_test_tokenizer_bad.txt.gz";
  const char *tmp_m = "/tmp/cd_test_tokenizer_bad_merges.txt";
  expect_load_error("missing gz", cd_tokenizer_load_bpe_gz("/nonexistent/bpe.txt.gz", &e), &e,
                    "/nonexistent/bpe.txt.gz");
  cd_write_file_atomic(tmp_gz, "not gzip at all", 15, &e);
  expect_load_error("corrupt gz", cd_tokenizer_load_bpe_gz(tmp_gz, &e), &e, tmp_gz);
  expect_load_error("missing vocab.json", cd_tokenizer_load_hf("/nonexistent/vocab.json", FIX "tiny_merges.txt", &e),
                    &e, "/nonexistent/vocab.json");
  expect_load_error("missing merges.txt", cd_tokenizer_load_hf(FIX "tiny_vocab.json", "/nonexistent/merges.txt", &e),
                    &e, "/nonexistent/merges.txt");
  cd_write_file_atomic(tmp_m, "#version: 0.2\nt h\nthree symbols here\n", 37, &e);
  expect_load_error("bad merges line", cd_tokenizer_load_hf(FIX "tiny_vocab.json", tmp_m, &e), &e, "line 3");
  cd_write_file_atomic(tmp_m, "[1, 2]", 6, &e);
  expect_load_error("vocab not an object", cd_tokenizer_load_hf(tmp_m, FIX "tiny_merges.txt", &e), &e, tmp_m);
  cd_write_file_atomic(tmp_m, "{\"a\": 0, \"b\": 2}", 16, &e);
  expect_load_error("vocab with a gap", cd_tokenizer_load_hf(tmp_m, FIX "tiny_merges.txt", &e), &e, "missing");
  remove(tmp_gz);
  remove(tmp_m);
}

int main(void) {
  cd_error e;
  /* Always: the small committed vocabulary. */
  cd_tokenizer *tiny = cd_tokenizer_load_hf(FIX "tiny_vocab.json", FIX "tiny_merges.txt", &e);
  CHECK(tiny != NULL, "%s", e.msg);
  if (!tiny) return cd_test_finish("test_tokenizer");
  int total = 0, ok = run_cases("tiny", tiny, FIX "tiny_cases.json", &total);
  printf("  tiny vocabulary (%d ids): %d/%d cases identical to Python\n", cd_tokenizer_vocab_size(tiny), ok,
         total);
  CHECK(total >= 80, "tiny fixture has only %d cases", total);
  test_truncation(tiny);
  test_random_texts(tiny);
  cd_tokenizer_free(tiny);
  test_load_errors();

  const char *gz = "../shared/clip/bpe_simple_vocab_16e6.txt.gz";
  if (!cd_file_exists(gz)) {
    printf("  (%s absent: real-vocabulary ids not compared)\n", gz);
    return cd_test_finish("test_tokenizer");
  }
  cd_tokenizer *t = cd_tokenizer_load_bpe_gz(gz, &e);
  CHECK(t != NULL, "%s", e.msg);
  if (t) {
    ok = run_cases("clip", t, FIX "cases.json", &total);
    /* A 256 KiB single word must finish quickly (BPE is not quadratic); > 1 MiB is refused. */
    size_t big = 256 << 10;
    char *s = malloc((2u << 20) + 2);
    uint32_t x = 1;
    for (size_t i = 0; i < big; i++) x = x * 1103515245u + 12345u, s[i] = (char)('a' + (x >> 16) % 26);
    s[big] = 0;
    int32_t *ids;
    int n;
    clock_t c0 = clock();
    int rc = cd_tokenizer_encode(t, s, &ids, &n, &e);
    double sec = (double)(clock() - c0) / CLOCKS_PER_SEC;
    CHECK(rc == 0 && n > 1000, "256 KiB word: %s", rc ? e.msg : "too few ids");
    if (rc == 0) free(ids);
    printf("  256 KiB single word: %d ids in %.2f s CPU\n", n, sec);
    memset(s, 'a', (2u << 20) + 1);
    s[(2u << 20) + 1] = 0;
    rc = cd_tokenizer_encode(t, s, &ids, &n, &e);
    CHECK(rc != 0 && strstr(e.msg, "too long"), "2 MiB text must be refused");
    free(s);
    printf("  CLIP vocabulary (%d ids): %d/%d cases identical to Python\n", cd_tokenizer_vocab_size(t), ok, total);
    CHECK(total >= 60, "fixture has only %d cases", total);
    cd_tokenizer_free(t);
  }
  return cd_test_finish("test_tokenizer");
}
