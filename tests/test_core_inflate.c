/* Inflate against streams made by Python's zlib/gzip (tests/fixtures/inflate, written by
 * tools/gen/gen_inflate_fixtures.py): every valid stream must decode to the regenerated
 * original byte for byte, every corrupted one must fail with the expected reason, and
 * truncated or bit-flipped inputs must fail cleanly (run under the sanitizers too). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/inflate.h"
#include "tests/testutil.h"

#define DIR "tests/fixtures/inflate/"

/* ---- the generator's data, reimplemented ---- */
typedef struct {
  uint64_t s;
} rng;
static void rng_init(rng *r, uint64_t seed) { r->s = seed * 0x9E3779B97F4A7C15ull + 1; }
static uint64_t rng_next(rng *r) {
  r->s ^= r->s << 13;
  r->s ^= r->s >> 7;
  r->s ^= r->s << 17;
  return r->s;
}

static const char *words[] = {"the",   "photo",  "of",    "a",     "bird",  "landbird",
                              "waterbird", "over", "water", "forest", "bamboo", "ocean",
                              "beach", "clip",   "model", "zlib",  "deflate", "\n"};

typedef struct {
  uint8_t *p;
  size_t n;
} blob;

static void put(blob *b, const void *src, size_t k) {
  memcpy(b->p + b->n, src, k);
  b->n += k;
}

static int hexval(char c) { return c <= '9' ? c - '0' : (c | 32) - 'a' + 10; }

/* Returns 0 and the expected bytes of a data kind (see gen_inflate_fixtures.py data()). */
static int make_data(const char *kind, blob *b) {
  b->p = malloc(200000);
  b->n = 0;
  rng r;
  if (!strcmp(kind, "empty")) return 0;
  if (!strcmp(kind, "one")) return put(b, "A", 1), 0;
  if (!strcmp(kind, "random")) {
    rng_init(&r, 1);
    for (int i = 0; i < 8000; i++) b->p[b->n++] = (uint8_t)(rng_next(&r) >> 56);
    return 0;
  }
  if (!strcmp(kind, "zeros")) {
    memset(b->p, 0, 66000);
    b->n = 66000;
    return 0;
  }
  if (!strcmp(kind, "text")) {
    rng_init(&r, 2);
    while (b->n < 30000) {
      const char *w = words[(rng_next(&r) >> 40) % (sizeof words / sizeof *words)];
      put(b, w, strlen(w));
      put(b, " ", 1);
    }
    b->n = 30000;
    return 0;
  }
  if (!strcmp(kind, "repeat")) {
    for (int i = 0; i < 8000; i++) put(b, "abc", 3);
    for (int i = 0; i < 3000; i++) put(b, "x", 1);
    for (int k = 0; k < 4; k++)
      for (int i = 0; i < 256; i++) b->p[b->n++] = (uint8_t)i;
    return 0;
  }
  if (!strncmp(kind, "hex:", 4)) {
    for (const char *h = kind + 4; h[0] && h[1]; h += 2)
      b->p[b->n++] = (uint8_t)(hexval(h[0]) * 16 + hexval(h[1]));
    return 0;
  }
  return -1;
}

static int decode(const char *fmt, const uint8_t *src, size_t n, size_t max_out, uint8_t **out,
                  size_t *out_n, cd_error *e) {
  if (!strcmp(fmt, "raw")) return cd_inflate_raw(src, n, max_out, out, out_n, NULL, "stream", e);
  if (!strcmp(fmt, "zlib")) return cd_zlib_decompress(src, n, max_out, out, out_n, "stream", e);
  return cd_gunzip(src, n, max_out, out, out_n, "stream", e);
}

/* Every strict prefix must fail (no crash, no read past the end: the copy is exact-size). */
static void check_truncations(const char *name, const char *fmt, const uint8_t *src, size_t n) {
  size_t step = n > 120 ? n / 60 : 1, bad = 0, tried = 0;
  for (size_t k = 0; k < n; k += step) {
    uint8_t *cut = malloc(k ? k : 1), *out = NULL;
    memcpy(cut, src, k);
    size_t on;
    cd_error e;
    if (decode(fmt, cut, k, 1 << 24, &out, &on, &e) == 0) bad++;
    free(out);
    free(cut);
    tried++;
  }
  CHECK(bad == 0, "%s: %zu of %zu truncated prefixes decoded without error", name, bad, tried);
}

/* Flipped bits either fail or (header fields without checksum) give the original back. */
static void check_bitflips(const char *name, const char *fmt, const uint8_t *src, size_t n,
                           const blob *want) {
  uint8_t *cp = malloc(n);
  size_t wrong = 0, failed = 0, total = 0;
  size_t step = n > 120 ? n / 40 : 1;
  for (size_t i = 0; i < n; i += step) {
    for (int bit = 0; bit < 8; bit++) {
      memcpy(cp, src, n);
      cp[i] ^= (uint8_t)(1 << bit);
      uint8_t *out = NULL;
      size_t on;
      cd_error e;
      total++;
      if (decode(fmt, cp, n, 1 << 22, &out, &on, &e) != 0)
        failed++;
      else if (on != want->n || memcmp(out, want->p, on) != 0)
        wrong++;
      free(out);
    }
  }
  free(cp);
  /* Raw DEFLATE has no checksum and Adler-32 is weak on repetitive data (Python's zlib accepts
   * the same 91 flips of repeat_l1.zlib), so only gzip's CRC-32 must catch every flip. */
  if (strcmp(fmt, "gzip") == 0)
    CHECK(wrong == 0, "%s: %zu bit flips decoded to wrong data without error", name, wrong);
  printf("  %-28s bit flips: %zu/%zu rejected, %zu decoded to other data%s\n", name, failed, total,
         wrong, strcmp(fmt, "gzip") == 0 ? " (must be 0)" : "");
}

static void run_manifest(void) {
  FILE *fp = fopen(DIR "manifest.txt", "r");
  CHECK(fp != NULL, "cannot open " DIR "manifest.txt");
  if (!fp) return;
  char line[512];
  int n_ok = 0, n_err = 0;
  while (fgets(line, sizeof line, fp)) {
    char name[128], fmt[16], kind[256], expect[16];
    int used = 0;
    if (sscanf(line, "%127s %15s %255s %15s %n", name, fmt, kind, expect, &used) != 4) continue;
    char *msg = line + used;
    msg[strcspn(msg, "\n")] = 0;
    char path[256];
    snprintf(path, sizeof path, DIR "%s", name);
    cd_file f;
    cd_error e;
    if (cd_file_map(&f, path, &e)) {
      CHECK(0, "%s", e.msg);
      continue;
    }
    uint8_t *out = NULL;
    size_t on = 0;
    int rc = decode(fmt, f.data, f.size, 1 << 24, &out, &on, &e);
    if (!strcmp(expect, "ok")) {
      blob want;
      CHECK(make_data(kind, &want) == 0, "%s: unknown data kind %s", name, kind);
      CHECK(rc == 0, "%s: %s", name, rc ? e.msg : "");
      if (rc == 0)
        CHECK(on == want.n && memcmp(out, want.p, on) == 0, "%s: decoded %zu bytes, want %zu (content differs)",
              name, on, want.n);
      if (rc == 0 && strstr(name, "multimember") == NULL) check_truncations(name, fmt, f.data, f.size);
      if (rc == 0 && (f.size < 2000 || !strcmp(name, "text_l9.gz") || !strcmp(name, "text_l1.zlib")))
        check_bitflips(name, fmt, f.data, f.size, &want);
      free(want.p);
      n_ok++;
    } else {
      CHECK(rc != 0, "%s: decoded %zu bytes, expected an error containing '%s'", name, on, msg);
      if (rc != 0) {
        CHECK(strstr(e.msg, msg) != NULL, "%s: error '%s' lacks '%s'", name, e.msg, msg);
        CHECK(strncmp(e.msg, "stream: ", 8) == 0, "%s: error '%s' does not name the input", name, e.msg);
      }
      n_err++;
    }
    free(out);
    cd_file_close(&f);
  }
  fclose(fp);
  printf("  manifest: %d valid streams identical to the originals, %d corrupt streams rejected\n", n_ok,
         n_err);
  CHECK(n_ok >= 40 && n_err >= 25, "manifest too small (%d ok, %d error)", n_ok, n_err);
}

/* ---- hand-made streams ---- */
typedef struct {
  uint8_t b[4096];
  size_t n;
  uint32_t acc;
  int k;
} bitw;
static void bits(bitw *w, uint32_t v, int k) {
  for (int i = 0; i < k; i++) {
    w->acc |= ((v >> i) & 1u) << w->k;
    if (++w->k == 8) {
      w->b[w->n++] = (uint8_t)w->acc;
      w->acc = 0;
      w->k = 0;
    }
  }
}
static void code(bitw *w, uint32_t c, int k) { /* Huffman codes go MSB first */
  for (int i = k - 1; i >= 0; i--) bits(w, (c >> i) & 1, 1);
}
static void flush(bitw *w) {
  if (w->k) w->b[w->n++] = (uint8_t)w->acc;
  w->k = 0;
  w->acc = 0;
}

static void test_bomb(void) {
  /* A fixed block: literal 0 then 600 matches of 258 bytes at distance 1 = 154801 bytes. */
  bitw w = {0};
  bits(&w, 1, 1);
  bits(&w, 1, 2);
  code(&w, 0x30, 8);
  for (int i = 0; i < 600; i++) {
    code(&w, 0xC0 + 285 - 280, 8);
    code(&w, 0, 5);
  }
  code(&w, 0, 7);
  flush(&w);
  uint8_t *out = NULL;
  size_t on = 0;
  cd_error e;
  int rc = cd_inflate_raw(w.b, w.n, 100000, &out, &on, NULL, "bomb.bin", &e);
  CHECK(rc != 0, "bomb decoded %zu bytes past max_out", on);
  const char *want = "bomb.bin: decompressed data exceeds 100000 bytes (possible decompression bomb)";
  CHECK(rc != 0 && strcmp(e.msg, want) == 0, "bomb message '%s'", e.msg);
  free(out);
  size_t exact = 1 + 600 * 258;
  rc = cd_inflate_raw(w.b, w.n, exact, &out, &on, NULL, "bomb.bin", &e);
  CHECK(rc == 0 && on == exact, "max_out == size must pass (%s)", rc ? e.msg : "");
  int zeros_ok = rc == 0;
  for (size_t i = 0; zeros_ok && i < on; i++) zeros_ok = out[i] == 0;
  CHECK(zeros_ok, "bomb output is not all zeros");
  free(out);
  rc = cd_inflate_raw(w.b, w.n, exact - 1, &out, &on, NULL, "bomb.bin", &e);
  CHECK(rc != 0, "max_out == size-1 must fail");
  free(out);
  printf("  bomb: %zu-byte stream -> %zu bytes; max_out %zu rejected: \"%s\"\n", w.n, exact, exact - 1,
         e.msg);

  /* Stored block limits too: 5 bytes with max_out 4. */
  const uint8_t st[] = {1, 5, 0, 0xFA, 0xFF, 'h', 'e', 'l', 'l', 'o'};
  rc = cd_inflate_raw(st, sizeof st, 4, &out, &on, NULL, "s", &e);
  CHECK(rc != 0 && strstr(e.msg, "exceeds 4 bytes"), "stored bomb: %s", rc ? e.msg : "decoded");
  free(out);
  rc = cd_inflate_raw(st, sizeof st, 5, &out, &on, NULL, "s", &e);
  CHECK(rc == 0 && on == 5 && !memcmp(out, "hello", 5), "stored block");
  free(out);
}

static void test_consumed(void) {
  /* Stored "hi" then trailing bytes: consumed must stop at the end of the deflate data. */
  const uint8_t st[] = {1, 2, 0, 0xFD, 0xFF, 'h', 'i', 0xAA, 0xBB, 0xCC};
  uint8_t *out = NULL;
  size_t on = 0, used = 0;
  cd_error e;
  int rc = cd_inflate_raw(st, sizeof st, 100, &out, &on, &used, "s", &e);
  CHECK(rc == 0 && used == 7, "consumed %zu, want 7", used);
  free(out);
  /* Fixed block "a" + EOB = 1+2+8+7 = 18 bits -> 3 bytes, then junk. */
  bitw w = {0};
  bits(&w, 1, 1);
  bits(&w, 1, 2);
  code(&w, 0x30 + 'a', 8);
  code(&w, 0, 7);
  flush(&w);
  size_t body = w.n;
  for (int i = 0; i < 20; i++) w.b[w.n++] = 0xEE;
  rc = cd_inflate_raw(w.b, w.n, 100, &out, &on, &used, "s", &e);
  CHECK(rc == 0 && on == 1 && out[0] == 'a' && used == body, "consumed %zu, want %zu", used, body);
  free(out);
}

static void test_checksums(void) {
  const uint8_t *s = (const uint8_t *)"123456789";
  uint32_t c = cd_crc32(0, s, 9);
  CHECK(c == 0xCBF43926u, "crc32('123456789') = %08x, want cbf43926", c);
  uint32_t split = cd_crc32(cd_crc32(0, s, 4), s + 4, 5);
  CHECK(split == c, "crc32 is not incremental");
  uint32_t a = cd_adler32(1, (const uint8_t *)"Wikipedia", 9);
  CHECK(a == 0x11E60398u, "adler32('Wikipedia') = %08x, want 11e60398", a);
  /* Long input crosses the 5552-byte modulo blocks: compare with the definition. */
  uint8_t *big = malloc(100000);
  uint32_t A = 1, B = 0;
  for (int i = 0; i < 100000; i++) {
    big[i] = (uint8_t)(i * 7 + 13);
    A = (A + big[i]) % 65521;
    B = (B + A) % 65521;
  }
  a = cd_adler32(1, big, 100000);
  CHECK(a == ((B << 16) | A), "adler32 of 100000 bytes = %08x, want %08x", a, (B << 16) | A);
  free(big);
}

/* The real BPE merges file, when present: size and CRC (its decoding speed is measured by
 * bench/, not here). */
static void test_bpe_file(void) {
  const char *path = "../shared/clip/bpe_simple_vocab_16e6.txt.gz";
  if (!cd_file_exists(path)) {
    printf("  (skipping: %s absent)\n", path);
    return;
  }
  cd_file f;
  cd_error e;
  if (cd_file_map(&f, path, &e)) {
    CHECK(0, "%s", e.msg);
    return;
  }
  uint8_t *out = NULL;
  size_t on = 0;
  int rc = cd_gunzip(f.data, f.size, 1 << 26, &out, &on, path, &e);
  CHECK(rc == 0, "%s", e.msg);
  /* Size and CRC as Python's gzip.decompress reports them. */
  CHECK(on == 3194984, "decoded %zu bytes, want 3194984", on);
  uint32_t c = rc == 0 ? cd_crc32(0, out, on) : 0;
  CHECK(c == 0xe7f18a90u, "crc %08x, want e7f18a90", c);
  CHECK(rc == 0 && on > 40 && !memcmp(out, "\"bpe_simple_vocab_16e6.txt#version: 0.2\n", 40),
        "unexpected header line");
  free(out);
  cd_file_close(&f);
}

int main(void) {
  test_checksums();
  run_manifest();
  test_bomb();
  test_consumed();
  test_bpe_file();
  return cd_test_finish("test_core_inflate");
}
