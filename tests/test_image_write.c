/* Encoders: DEFLATE/zlib round trips through the decoder at every level (with the block type
 * each kind of input should get, and the sizes real compression must reach), PNG round trips
 * for every channel count, and JPEG files byte-identical to what Pillow (libjpeg-turbo) writes
 * for the same pixels, quality and subsampling (tests/fixtures/encode, written by
 * tools/gen/gen_encoder_fixtures.py). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/deflate.h"
#include "core/file.h"
#include "core/inflate.h"
#include "data/image/image.h"
#include "data/image/image_write.h"
#include "tests/testutil.h"

#define ENC_DIR "tests/fixtures/encode/"

static uint64_t rng_state = 12345;
static uint32_t next_u32(void) {
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(rng_state >> 33);
}

/* Compresses src at `level`, checks the zlib stream inflates back to src; returns the
 * compressed size (0 on failure) and the first block's BTYPE in *btype. */
static size_t roundtrip(const char *name, const uint8_t *src, size_t n, int level, int *btype) {
  uint8_t *z = NULL, *back = NULL;
  size_t zn = 0, bn = 0;
  cd_error e;
  if (cd_zlib_compress(src, n, level, &z, &zn, name, &e)) {
    CHECK(0, "%s level %d: %s", name, level, e.msg);
    return 0;
  }
  CHECK((z[0] * 256 + z[1]) % 31 == 0 && (z[0] & 15) == 8, "%s: bad zlib header %02x %02x", name, z[0], z[1]);
  if (btype) *btype = (z[2] >> 1) & 3;
  int rc = cd_zlib_decompress(z, zn, n + 16, &back, &bn, name, &e);
  CHECK(rc == 0, "%s level %d: inflate failed: %s", name, level, rc ? e.msg : "");
  CHECK(rc != 0 || (bn == n && (n == 0 || memcmp(back, src, n) == 0)), "%s level %d: round trip differs (%zu vs %zu bytes)",
        name, level, bn, n);
  free(z);
  free(back);
  return rc == 0 ? zn : 0;
}

static void make_text(uint8_t *buf, size_t n) {
  static const char *WORDS[] = {"the ", "bird ", "stands ", "on ", "water ", "land ", "a ", "photo ",
                                "of ", "small ", "gull ", "sparrow ", "with ", "long ", "beak. "};
  size_t at = 0;
  while (at < n) {
    const char *w = WORDS[next_u32() % 15];
    for (size_t k = 0; w[k] && at < n; k++) buf[at++] = (uint8_t)w[k];
  }
}

static void test_deflate(void) {
  size_t N = 300000;
  uint8_t *buf = malloc(N);
  int btype;
  /* Empty and tiny inputs. */
  for (int level = 0; level <= 9; level++) {
    roundtrip("empty", buf, 0, level, NULL);
    uint8_t one = 0xAB;
    roundtrip("one byte", &one, 1, level, NULL);
  }
  /* Zeros: one long run of distance-1 matches of 258. */
  memset(buf, 0, N);
  size_t z = roundtrip("zeros", buf, N, 6, &btype);
  CHECK(z > 0 && z < 700, "300000 zeros compress to %zu bytes (want < 700)", z);
  /* Random bytes cannot compress: stored blocks, overhead 5 bytes per 65535 + header. */
  for (size_t i = 0; i < N; i++) buf[i] = (uint8_t)next_u32();
  z = roundtrip("random", buf, N, 6, &btype);
  CHECK(btype == 0, "random data: first block type %d, want stored (0)", btype);
  CHECK(z <= N + 5 * (N / 32768 + 1) + 6, "random: %zu bytes from %zu (stored overhead exceeded)", z, N);
  /* Text: short -> fixed codes, long -> dynamic codes, and real compression. */
  make_text(buf, 60);
  roundtrip("short text", buf, 60, 6, &btype);
  CHECK(btype == 1, "60 bytes of text: first block type %d, want fixed (1)", btype);
  make_text(buf, N);
  for (int level = 0; level <= 9; level++) {
    z = roundtrip("text", buf, N, level, &btype);
    if (level == 0) CHECK(btype == 0 && z > N, "level 0 must store (type %d, %zu bytes)", btype, z);
    if (level == 6) {
      CHECK(btype == 2, "long text: first block type %d, want dynamic (2)", btype);
      CHECK(z < N * 30 / 100, "text compresses to %.1f%% at level 6 (want < 30%%)", 100.0 * z / N);
      printf("text: %zu -> %zu bytes (%.1f%%) at level 6\n", N, z, 100.0 * z / N);
    }
  }
  /* Matches at the far edge of the window: a random 32768-byte period repeated. */
  for (size_t i = 0; i < 32768; i++) buf[i] = (uint8_t)next_u32();
  for (size_t i = 32768; i < 100000; i++) buf[i] = buf[i - 32768];
  z = roundtrip("period 32768", buf, 100000, 9, NULL);
  CHECK(z > 0 && z < 32768 + 3000, "period-32768 data: %zu bytes (distance 32768 matches not found)", z);
  /* One byte more than the window: nothing to match, still round trips. */
  for (size_t i = 32769; i < 100000; i++) buf[i] = buf[i - 32769];
  roundtrip("period 32769", buf, 100000, 9, NULL);
  /* Few distinct symbols (a lone distance code, skewed literals) at every level. */
  for (size_t i = 0; i < N; i++) buf[i] = (uint8_t)(next_u32() % 7 == 0 ? 'b' : 'a');
  for (int level = 1; level <= 9; level++) roundtrip("two symbols", buf, N, level, NULL);
  free(buf);
  cd_error e;
  uint8_t *out;
  size_t on;
  CHECK(cd_deflate_raw((const uint8_t *)"x", 1, 10, &out, &on, "lvl", &e) != 0 && strstr(e.msg, "level 10"),
        "level 10 must be refused");
}

static void fill_image(uint8_t *px, int w, int h, int ch, int noise) {
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < ch; c++) {
        int v = (x * 255 / (w > 1 ? w - 1 : 1) + y * (c + 1) * 3 + c * 40) & 255;
        if (noise) v = (v + (int)(next_u32() % 9) - 4) & 255;
        px[((size_t)y * w + x) * ch + c] = (uint8_t)v;
      }
}

static void test_png(void) {
  static const cd_image_mode MODE[5] = {0, CD_MODE_L, CD_MODE_LA, CD_MODE_RGB, CD_MODE_RGBA};
  int sizes[][2] = {{1, 1}, {3, 7}, {64, 48}, {257, 5}};
  for (int ch = 1; ch <= 4; ch++)
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
      int w = sizes[s][0], h = sizes[s][1];
      uint8_t *px = malloc((size_t)w * h * ch), *png = NULL;
      fill_image(px, w, h, ch, s == 2);
      size_t n = 0;
      cd_error e;
      cd_image img;
      int rc = cd_png_encode(px, w, h, ch, 6, &png, &n, &e);
      CHECK(rc == 0, "png %dx%dx%d: %s", w, h, ch, rc ? e.msg : "");
      if (rc == 0) {
        rc = cd_png_decode(png, n, "written.png", &img, &e);
        CHECK(rc == 0, "png %dx%dx%d: decode: %s", w, h, ch, rc ? e.msg : "");
        if (rc == 0) {
          CHECK(img.width == w && img.height == h && img.mode == MODE[ch], "png %dx%dx%d: header", w, h, ch);
          CHECK(memcmp(img.pixels, px, (size_t)w * h * ch) == 0, "png %dx%dx%d: pixels differ", w, h, ch);
          cd_image_free(&img);
        }
      }
      free(png);
      free(px);
    }
  /* A smooth 256x256 RGB gradient must shrink a lot (filters + LZ77 + Huffman). */
  int w = 256, h = 256;
  uint8_t *px = malloc((size_t)w * h * 3), *png = NULL;
  fill_image(px, w, h, 3, 0);
  size_t n = 0;
  cd_error e;
  if (cd_png_encode(px, w, h, 3, 6, &png, &n, &e) == 0) {
    printf("png: 256x256 gradient %d -> %zu bytes\n", w * h * 3, n);
    CHECK(n < (size_t)w * h * 3 / 20, "gradient PNG is %zu bytes (want < 5%% of raw)", n);
  }
  free(png);
  free(px);
  CHECK(cd_png_encode(NULL, 0, 5, 3, 6, &png, &n, &e) != 0 && strstr(e.msg, "0x5"), "0-wide PNG must be refused");
}

static double psnr(const uint8_t *a, const uint8_t *b, size_t n) {
  double se = 0;
  for (size_t i = 0; i < n; i++) se += (double)(a[i] - b[i]) * (a[i] - b[i]);
  return se == 0 ? 99 : 10 * log10(255.0 * 255.0 * (double)n / se);
}

static cd_jpeg_subsampling parse_sub(const char *s) {
  return !strcmp(s, "444") ? CD_JPEG_444 : !strcmp(s, "422") ? CD_JPEG_422 : CD_JPEG_420;
}

static void test_jpeg_vs_pillow(void) {
  FILE *f = fopen(ENC_DIR "cases.txt", "r");
  CHECK(f != NULL, "cannot open " ENC_DIR "cases.txt");
  if (!f) return;
  char line[256];
  int ncase = 0, nsame = 0;
  while (fgets(line, sizeof line, f)) {
    char src[64], sub[8], jpg[96];
    int q;
    if (line[0] == '#' || sscanf(line, "%63s %d %7s %95s", src, &q, sub, jpg) != 4) continue;
    cd_image img;
    cd_error e;
    uint8_t *want = NULL, *got = NULL;
    size_t want_n = 0, got_n = 0;
    if (cd_image_load(cd_test_path(ENC_DIR, src), &img, &e)) {
      CHECK(0, "%s", e.msg);
      continue;
    }
    ncase++;
    cd_jpeg_options opt = {q, parse_sub(sub)};
    int rc = cd_jpeg_encode(img.pixels, img.width, img.height, img.channels, &opt, &got, &got_n, &e);
    CHECK(rc == 0, "%s: %s", jpg, rc ? e.msg : "");
    if (rc == 0 && cd_file_read(cd_test_path(ENC_DIR, jpg), 1 << 20, &want, &want_n, &e) == 0) {
      size_t k = 0;
      while (k < got_n && k < want_n && got[k] == want[k]) k++;
      int same = got_n == want_n && k == got_n;
      nsame += same;
      CHECK(same, "%s: %zu bytes vs Pillow's %zu, first difference at byte %zu", jpg, got_n, want_n, k);
      /* And our decoder reads it back close to the source. */
      cd_image back;
      if (cd_jpeg_decode(got, got_n, jpg, &back, &e) == 0) {
        double p = psnr(back.pixels, img.pixels, (size_t)img.width * img.height * img.channels);
        /* Quality 100 with full-resolution chroma (or gray) leaves only rounding error. */
        if (q == 100 && (img.channels == 1 || opt.subsampling == CD_JPEG_444))
          CHECK(p > 45, "%s: PSNR %.1f dB after decoding (want > 45)", jpg, p);
        CHECK(p > 15, "%s: PSNR %.1f dB after decoding (want > 15)", jpg, p);
        cd_image_free(&back);
      } else {
        CHECK(0, "%s: %s", jpg, e.msg);
      }
    }
    free(want);
    free(got);
    cd_image_free(&img);
  }
  fclose(f);
  printf("jpeg: %d/%d files byte-identical to Pillow's\n", nsame, ncase);
  CHECK(ncase >= 60, "only %d JPEG cases read", ncase);
  uint8_t px[12] = {0}, *out;
  size_t n;
  cd_error e;
  cd_jpeg_options bad = {0, CD_JPEG_420};
  CHECK(cd_jpeg_encode(px, 2, 2, 3, &bad, &out, &n, &e) != 0 && strstr(e.msg, "quality 0"), "quality 0 must be refused");
  CHECK(cd_jpeg_encode(px, 2, 2, 4, NULL, &out, &n, &e) != 0 && strstr(e.msg, "4 channels"), "RGBA JPEG must be refused");
}

static void test_save(void) {
  char dir[256];
  if (cd_test_make_tmpdir(dir, sizeof dir, "image_write")) return;
  uint8_t px[6 * 4 * 3];
  fill_image(px, 6, 4, 3, 0);
  cd_error e;
  cd_image img;
  const char *names[2] = {"a.png", "b.JPG"};
  for (int i = 0; i < 2; i++) {
    const char *p = cd_test_path(dir, names[i]);
    CHECK(cd_image_save(p, px, 6, 4, 3, NULL, &e) == 0, "%s", e.msg);
    if (cd_image_load(p, &img, &e) == 0) {
      CHECK(img.width == 6 && img.height == 4 && img.mode == CD_MODE_RGB, "%s: read back wrong", names[i]);
      if (i == 0) CHECK(memcmp(img.pixels, px, sizeof px) == 0, "PNG save is not lossless");
      cd_image_free(&img);
    } else {
      CHECK(0, "%s", e.msg);
    }
  }
  const char *bad = cd_test_path(dir, "c.gif");
  CHECK(cd_image_save(bad, px, 6, 4, 3, NULL, &e) != 0 && strstr(e.msg, "c.gif") && strstr(e.msg, "extension"),
        "unknown extension: %s", e.msg);
  CHECK(!cd_file_exists(bad), "nothing may be written for a refused save");
  cd_test_remove_tmpdir(dir);
}

int main(void) {
  test_deflate();
  test_png();
  test_jpeg_vs_pillow();
  test_save();
  return cd_test_finish("test_image_write");
}
