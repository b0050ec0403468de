/* PNG and PGM/PPM decoding against what Pillow decodes from the same files
 * (tests/fixtures/png, written by tools/gen/gen_image_fixtures.py): every colour type, bit
 * depth, Adam7, all five filters, tRNS; hostile files must fail with a message naming the
 * problem; format sniffing recognises HTML, text, empty and unknown files. */
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/npy.h"
#include "core/progress.h"
#include "data/image/image.h"
#include "tests/testutil.h"

#define DIR "tests/fixtures/png/"

static const char *mode_name(cd_image_mode m) {
  switch (m) {
    case CD_MODE_L: return "L";
    case CD_MODE_LA: return "LA";
    case CD_MODE_RGB: return "RGB";
    case CD_MODE_RGBA: return "RGBA";
    case CD_MODE_CMYK: return "CMYK";
    case CD_MODE_P: return "P";
    case CD_MODE_I16: return "I";
    case CD_MODE_1: return "1";
    default: return "?";
  }
}

/* Number of samples that differ between the decoded image and Pillow's array. */
static size_t count_diff(const cd_image *img, const cd_array *a) {
  size_t n = (size_t)img->width * img->height * img->channels, bad = 0;
  if (a->numel != n) return n ? n : 1;
  for (size_t i = 0; i < n; i++) {
    long want = a->dtype == CD_I32 ? ((int32_t *)a->data)[i] : ((uint8_t *)a->data)[i];
    long got = img->mode == CD_MODE_I16 ? img->pixels16[i] : img->pixels[i];
    bad += want != got;
  }
  return bad;
}

static void check_good_cases(void) {
  FILE *f = fopen(DIR "cases.txt", "r");
  CHECK(f != NULL, "cannot open " DIR "cases.txt");
  if (!f) return;
  char line[512];
  int ncase = 0, nbad = 0;
  while (fgets(line, sizeof line, f)) {
    char file[128], mode[16], npy[128], pal[128] = "";
    if (line[0] == '#' || sscanf(line, "%127s %15s %127s %127s", file, mode, npy, pal) < 3) continue;
    char path[512], epath[512];
    snprintf(path, sizeof path, DIR "%s", file);
    snprintf(epath, sizeof epath, DIR "%s", npy);
    cd_image img;
    cd_error e;
    cd_array a = {0};
    ncase++;
    if (cd_image_load(path, &img, &e) != 0) {
      CHECK(0, "%s: decode failed: %s", file, e.msg);
      nbad++;
      continue;
    }
    if (cd_npy_load(epath, &a, &e) != 0) {
      CHECK(0, "%s", e.msg);
      cd_image_free(&img);
      continue;
    }
    size_t diff = count_diff(&img, &a);
    int ok_mode = strcmp(mode_name(img.mode), mode) == 0;
    CHECK(ok_mode, "%s: mode %s, Pillow says %s", file, mode_name(img.mode), mode);
    CHECK(a.shape[0] == img.height && a.shape[1] == img.width, "%s: size %dx%d, Pillow %lldx%lld",
          file, img.width, img.height, (long long)a.shape[1], (long long)a.shape[0]);
    CHECK(diff == 0, "%s: %zu samples differ from Pillow", file, diff);
    if (pal[0]) {
      cd_array p = {0};
      snprintf(epath, sizeof epath, DIR "%s", pal);
      if (cd_npy_load(epath, &p, &e) == 0) {
        size_t pd = 0, n = (size_t)p.shape[0];
        CHECK((int)n == img.palette_size, "%s: palette has %d entries, Pillow %zu", file,
              img.palette_size, n);
        for (size_t i = 0; i < n && (int)i < img.palette_size; i++)
          for (int c = 0; c < 3; c++) pd += img.palette[i * 4 + c] != ((uint8_t *)p.data)[i * 3 + c];
        CHECK(pd == 0, "%s: %zu palette bytes differ", file, pd);
        cd_array_free(&p);
      }
    }
    nbad += diff != 0 || !ok_mode;
    cd_array_free(&a);
    cd_image_free(&img);
  }
  fclose(f);
  printf("decode vs Pillow: %d files, %d mismatching (tol 0 samples)\n", ncase, nbad);
  CHECK(ncase >= 60, "only %d decode cases", ncase);
}

static void check_bad_cases(void) {
  FILE *f = fopen(DIR "bad_cases.txt", "r");
  CHECK(f != NULL, "cannot open " DIR "bad_cases.txt");
  if (!f) return;
  char line[512];
  int n = 0;
  while (fgets(line, sizeof line, f)) {
    char file[128], verdict[32];
    int off = 0;
    if (line[0] == '#' || sscanf(line, "%127s %31s %n", file, verdict, &off) < 2) continue;
    char *phrase = line + off;
    phrase[strcspn(phrase, "\r\n")] = 0;
    char path[512];
    snprintf(path, sizeof path, DIR "%s", file);
    cd_image img;
    cd_error e = {{0}};
    double t0 = cd_time_now();
    int rc = cd_image_load(path, &img, &e);
    double dt = cd_time_now() - t0;
    CHECK(rc != 0, "%s: hostile file was accepted", file);
    CHECK(strstr(e.msg, phrase) != NULL, "%s: message \"%s\" lacks \"%s\"", file, e.msg, phrase);
    CHECK(strstr(e.msg, file) != NULL, "%s: message \"%s\" does not name the file", file, e.msg);
    CHECK(dt < 3.0, "%s: took %.3f s to reject (a hang guard, not a speed test)", file, dt);
    printf("  %-28s rejected in %.4f s: %s\n", file, dt, e.msg);
    if (rc == 0) cd_image_free(&img);
    n++;
  }
  fclose(f);
  CHECK(n >= 10, "only %d hostile cases", n);
}

static void expect_fail(const char *data, size_t n, const char *phrase) {
  cd_image img;
  cd_error e = {{0}};
  int rc = cd_image_decode((const uint8_t *)data, n, "x.jpg", &img, &e);
  CHECK(rc != 0 && strstr(e.msg, phrase), "sniff: wanted failure with \"%s\", got rc %d \"%s\"",
        phrase, rc, e.msg);
  if (rc == 0) cd_image_free(&img);
}

static void check_sniffing(void) {
  const char *html = "\xEF\xBB\xBF\n  <!DOCTYPE html><html><body>404 Not Found</body></html>";
  expect_fail(html, strlen(html), "x.jpg: this is an HTML page, not an image (a failed download saved as .jpg?)");
  expect_fail("<?xml version=\"1.0\"?><Error>AccessDenied</Error>", 48, "HTML page");
  expect_fail("", 0, "empty file");
  expect_fail("hello, this is just text\n", 25, "text file");
  expect_fail("\x01\x02\x03\x04\x05", 5, "unknown image format");
  expect_fail("GIF89a\x01\x00\x01\x00", 10, "GIF");
  expect_fail("P3\n1 1\n255\n0 0 0\n", 17, "P3");
  /* PPM edge cases. */
  expect_fail("P5\n2 2\n255\n\x01\x02\x03", 14, "truncated");
  expect_fail("P5\n2 2\n0\n\x01\x02\x03\x04", 13, "maxval");
  expect_fail("P6\n40000 2\n255\n", 15, "out of range");
  expect_fail("P5 2", 4, "header ends");
  /* A PNG signature with nothing after it, and a JPEG marker with nothing after it, must not
   * be read past the end. */
  expect_fail("\x89PNG\r\n\x1a\n", 8, "no IHDR");
}

int main(void) {
  check_good_cases();
  check_bad_cases();
  check_sniffing();
  return cd_test_finish("test_png");
}
