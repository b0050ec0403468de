/* JPEG decoder against Pillow: every fixture in tests/fixtures/jpeg/manifest.txt (made by
 * tools/gen/gen_jpeg_fixtures.py) is decoded and compared with the pixels Pillow returned;
 * then hostile input (truncations, bit flips, crafted headers, fuzz crashers) must fail
 * cleanly with a useful message, and a 500x375 4:2:0 decode is timed. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/npy.h"
#include "core/progress.h"
#include "data/image/image.h"
#include "tests/testutil.h"

#define DIR_ "tests/fixtures/jpeg"

static uint64_t fnv1a64(const uint8_t *p, size_t n) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001B3ull;
  return h;
}

static const char *mode_name(cd_image_mode m) {
  switch (m) {
    case CD_MODE_L: return "L";
    case CD_MODE_RGB: return "RGB";
    case CD_MODE_CMYK: return "CMYK";
    default: return "?";
  }
}

static int load(const char *name, uint8_t **data, size_t *size) {
  char path[512];
  cd_error e;
  snprintf(path, sizeof path, "%s/%s", DIR_, name);
  if (cd_file_read(path, 64u << 20, data, size, &e)) {
    CHECK(0, "%s", e.msg);
    return -1;
  }
  return 0;
}

static int worst_diff = 0;

static void check_ok(const char *name, const char *mode) {
  uint8_t *data;
  size_t size;
  if (load(name, &data, &size)) return;
  cd_image img;
  cd_error e;
  int rc = cd_jpeg_decode(data, size, name, &img, &e);
  free(data);
  CHECK(rc == 0, "%s: decode failed: %s", name, rc ? e.msg : "");
  if (rc) return;
  char npy[512];
  snprintf(npy, sizeof npy, "%s/%.*s.npy", DIR_, (int)(strlen(name) - 4), name);
  cd_array a;
  if (cd_npy_load(npy, &a, &e)) {
    CHECK(0, "%s", e.msg);
    cd_image_free(&img);
    return;
  }
  int ch = a.ndim == 3 ? (int)a.shape[2] : 1;
  int shape_ok = a.dtype == CD_U8 && a.shape[0] == img.height && a.shape[1] == img.width &&
                 ch == img.channels && strcmp(mode, mode_name(img.mode)) == 0;
  CHECK(shape_ok, "%s: got %dx%dx%d %s, Pillow has %lldx%lldx%d %s", name, img.width, img.height,
        img.channels, mode_name(img.mode), (long long)a.shape[1], (long long)a.shape[0], ch, mode);
  if (shape_ok) {
    const uint8_t *ref = a.data;
    size_t n = a.numel, same = 0;
    int maxd = 0;
    for (size_t i = 0; i < n; i++) {
      int d = abs((int)img.pixels[i] - (int)ref[i]);
      if (d > maxd) maxd = d;
      same += d == 0;
    }
    if (maxd > worst_diff) worst_diff = maxd;
    printf("  %-36s %-4s %4dx%-3d max|diff| %d (tol 1)  exact %.2f%%\n", name, mode, img.width,
           img.height, maxd, 100.0 * same / n);
    CHECK(maxd <= 1, "%s: max abs diff %d vs Pillow (tol 1)", name, maxd);
  }
  cd_array_free(&a);
  cd_image_free(&img);
}

static void check_hash(const char *name, const char *mode, int w, int h, unsigned long long want) {
  uint8_t *data;
  size_t size;
  if (load(name, &data, &size)) return;
  cd_image img;
  cd_error e;
  int rc = cd_jpeg_decode(data, size, name, &img, &e);
  CHECK(rc == 0, "%s: %s", name, rc ? e.msg : "");
  if (rc == 0) {
    uint64_t got = fnv1a64(img.pixels, (size_t)img.width * img.height * img.channels);
    int ok = img.width == w && img.height == h && strcmp(mode, mode_name(img.mode)) == 0 && got == want;
    printf("  %-36s %-4s %4dx%-3d pixel hash %s Pillow's\n", name, mode, img.width, img.height,
           ok ? "equals" : "DIFFERS FROM");
    CHECK(ok, "%s: decoded pixels differ from Pillow's (hash %016llx vs %016llx)", name,
          (unsigned long long)got, want);
    cd_image_free(&img);
  }
  free(data);
}

static void check_fail(const char *name, const char *phrase) {
  uint8_t *data;
  size_t size;
  if (load(name, &data, &size)) return;
  cd_image img;
  cd_error e = {{0}};
  int rc = cd_jpeg_decode(data, size, name, &img, &e);
  free(data);
  if (rc == 0) cd_image_free(&img);
  printf("  %-36s rejected: %s\n", name, rc ? e.msg : "(decoded!)");
  CHECK(rc != 0 && strstr(e.msg, phrase) && strstr(e.msg, name),
        "%s: expected failure naming the file and mentioning '%s', got rc %d '%s'", name, phrase,
        rc, e.msg);
}

static void run_manifest(void) {
  FILE *f = fopen(DIR_ "/manifest.txt", "r");
  CHECK(f != NULL, "cannot open %s/manifest.txt", DIR_);
  if (!f) return;
  char line[512];
  int count = 0;
  while (fgets(line, sizeof line, f)) {
    char name[256], kind[32], rest[256] = "";
    if (sscanf(line, "%255s %31s %255[^\n]", name, kind, rest) < 2) continue;
    count++;
    if (strcmp(kind, "ok") == 0) {
      check_ok(name, rest);
    } else if (strcmp(kind, "fail") == 0) {
      check_fail(name, rest);
    } else if (strcmp(kind, "hash") == 0) {
      char mode[16];
      int w, h;
      unsigned long long want;
      if (sscanf(rest, "%15s %d %d %llu", mode, &w, &h, &want) == 4) check_hash(name, mode, w, h, want);
      else CHECK(0, "bad manifest line: %s", line);
    }
  }
  fclose(f);
  printf("  %d fixtures, worst max|diff| vs Pillow %d\n", count, worst_diff);
  CHECK(count >= 50, "only %d fixtures in manifest", count);
}

/* Decodes hostile bytes: must not crash; on failure the message must name the file. */
static int try_decode(const uint8_t *data, size_t size, char *msg, size_t cap) {
  cd_image img;
  cd_error e = {{0}};
  int rc = cd_jpeg_decode(data, size, "hostile.jpg", &img, &e);
  if (rc == 0) {
    cd_image_free(&img);
    if (msg) snprintf(msg, cap, "(decoded)");
    return 0;
  }
  CHECK(strncmp(e.msg, "hostile.jpg: ", 13) == 0, "message does not name the file: '%s'", e.msg);
  if (msg) snprintf(msg, cap, "%s", e.msg);
  return -1;
}

static void expect_fail(const char *what, const uint8_t *data, size_t size, const char *phrase) {
  char msg[1100];
  int rc = try_decode(data, size, msg, sizeof msg);
  printf("  %-36s -> %s\n", what, msg);
  CHECK(rc != 0 && strstr(msg, phrase), "%s: expected failure with '%s', got '%s'", what, phrase, msg);
}

static size_t find_marker(const uint8_t *d, size_t n, int m) {
  for (size_t i = 0; i + 1 < n; i++)
    if (d[i] == 0xFF && d[i + 1] == m) return i;
  return (size_t)-1;
}

static void hostile_truncation(const char *name) {
  uint8_t *data;
  size_t size;
  if (load(name, &data, &size)) return;
  size_t sos = find_marker(data, size, 0xDA);
  int bad = 0, failures = 0;
  for (size_t n = 0; n < size - 2; n++) { /* dropping EOI alone can still decode */
    char msg[1100];
    if (try_decode(data, n, msg, sizeof msg) == 0) continue;
    failures++;
    if (n > sos + 14 && !strstr(msg, "truncated")) {
      if (!bad) printf("  truncated at %zu/%zu: %s\n", n, size, msg);
      bad++;
    }
  }
  printf("  %-36s every prefix: %d rejected, %d without 'truncated' after SOS\n", name, failures, bad);
  CHECK(bad == 0, "%s: %d truncated prefixes not reported as truncated", name, bad);
  free(data);
}

static void hostile_bitflips(const char *name, int rounds) {
  uint8_t *data;
  size_t size;
  if (load(name, &data, &size)) return;
  uint8_t *buf = malloc(size);
  uint64_t s = 0x1234567 + size;
  int decoded = 0;
  for (int r = 0; r < rounds; r++) {
    memcpy(buf, data, size);
    int flips = 1 + r % 8;
    for (int k = 0; k < flips; k++) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      size_t pos = (size_t)(s >> 33) % size;
      buf[pos] = (r & 1) ? (uint8_t)(s >> 20) : (uint8_t)(buf[pos] ^ (1u << ((s >> 40) & 7)));
    }
    decoded += try_decode(buf, size, NULL, 0) == 0;
  }
  printf("  %-36s %d corrupted copies, %d still decode, no crash\n", name, rounds, decoded);
  free(buf);
  free(data);
}

static void hostile_crafted(void) {
  uint8_t *base;
  size_t size;
  if (load("cj_420_37x29.jpg", &base, &size)) return;
  uint8_t *b = malloc(size + 64);
  size_t sof = find_marker(base, size, 0xC0), dht = find_marker(base, size, 0xC4),
         sos = find_marker(base, size, 0xDA), dqt = find_marker(base, size, 0xDB);

  expect_fail("zero-length", base, 0, "empty");
  uint8_t junk[300];
  uint64_t s = 99;
  for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)((s = s * 6364136223846793005ull + 1) >> 56);
  expect_fail("random bytes", junk, sizeof junk, "not a JPEG");
  uint8_t soi_only[] = {0xFF, 0xD8};
  expect_fail("SOI only", soi_only, 2, "truncated");
  uint8_t soi_eoi[] = {0xFF, 0xD8, 0xFF, 0xD9};
  expect_fail("SOI EOI", soi_eoi, 4, "no image data");
  uint8_t soup[64] = {0xFF, 0xD8};
  for (int i = 2; i < 64; i += 2) { soup[i] = 0xFF; soup[i + 1] = (uint8_t)(0xD0 + (i / 2) % 8); }
  expect_fail("marker soup (RSTn only)", soup, sizeof soup, "truncated");

  memcpy(b, base, size); /* 65535x65535 in a 1 KB file: rejected before allocating */
  b[sof + 5] = b[sof + 6] = b[sof + 7] = b[sof + 8] = 0xFF;
  double t0 = cd_time_now();
  expect_fail("65535x65535 claimed", b, size, "larger than");
  memcpy(b, base, size);
  b[sof + 5] = 0x1F; b[sof + 6] = 0x40; b[sof + 7] = 0x4E; b[sof + 8] = 0x20; /* 20000x8000 */
  expect_fail("20000x8000 in 1 KB", b, size, "truncated");
  /* Guards against allocating or decoding what the header claims (that would take seconds
   * and gigabytes), not a speed test. */
  CHECK(cd_time_now() - t0 < 2.0, "oversized claims took %.2f s", cd_time_now() - t0);
  memcpy(b, base, size);
  b[sof + 5] = b[sof + 6] = 0;
  expect_fail("zero height", b, size, "empty image");
  memcpy(b, base, size);
  b[sof + 9] = 2;
  expect_fail("2 components", b, size, "components");
  memcpy(b, base, size);
  b[sof + 9] = 200;
  expect_fail("200 components", b, size, "components");
  memcpy(b, base, size);
  b[sof + 11] = 0x50; /* sampling 5x0 */
  expect_fail("sampling 5x0", b, size, "sampling");
  memcpy(b, base, size);
  b[sof + 12] = 7;
  expect_fail("quant table id 7", b, size, "quantization table");
  memcpy(b, base, size);
  b[dqt + 4] = 0x05;
  expect_fail("DQT id 5", b, size, "DQT");
  memcpy(b, base, size);
  b[dht + 4] = 0x25;
  expect_fail("DHT class 2", b, size, "DHT");
  memcpy(b, base, size);
  memset(b + dht + 5, 0xFF, 16); /* counts sum to 4080 */
  expect_fail("huge DHT counts", b, size, "DHT");
  memcpy(b, base, size);
  b[sos + 6] = 0x77; /* first scan component uses tables 7/7 */
  expect_fail("bad scan table ids", b, size, "Huffman table");
  memcpy(b, base, size);
  b[sos + 5] = 9; /* unknown component id */
  expect_fail("unknown scan component", b, size, "unknown component");
  memcpy(b, base, size);
  b[sof + 1] = 0xC9;
  expect_fail("arithmetic SOF9", b, size, "arithmetic");
  memcpy(b, base, size);
  b[sof + 1] = 0xC3;
  expect_fail("lossless SOF3", b, size, "lossless");
  memcpy(b, base, size);
  b[sof + 4] = 12;
  expect_fail("12-bit", b, size, "12-bit");
  free(base);

  if (load("cj_prog_420_37x29.jpg", &base, &size) == 0) {
    size_t p = find_marker(base, size, 0xDA);
    size_t len = ((size_t)base[p + 2] << 8) | base[p + 3];
    size_t ss = p + 2 + len - 3;
    memcpy(b, base, size);
    b[ss + 1] = 5; /* DC scan with Se = 5 */
    expect_fail("progressive DC Se=5", b, size, "progressive scan");
    memcpy(b, base, size);
    b[ss + 2] = 0x31; /* Ah=3 Al=1 */
    expect_fail("progressive Ah/Al", b, size, "progressive scan");
    memcpy(b, base, size);
    b[ss + 2] = 0x0E; /* Al=14 */
    expect_fail("progressive Al=14", b, size, "progressive scan");
    /* Hundreds of empty refinement scans after the first: bounded work, then refused. */
    size_t end1 = p + 2 + len;
    while (end1 + 1 < size && !(base[end1] == 0xFF && base[end1 + 1] != 0 &&
                               (base[end1 + 1] < 0xD0 || base[end1 + 1] > 0xD7)))
      end1++;
    static const uint8_t refine[] = {0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x00, 0x10};
    size_t nscan = 600, cap = end1 + nscan * sizeof refine + 2;
    uint8_t *many = malloc(cap);
    memcpy(many, base, end1);
    for (size_t k = 0; k < nscan; k++) memcpy(many + end1 + k * sizeof refine, refine, sizeof refine);
    many[cap - 2] = 0xFF;
    many[cap - 1] = 0xD9;
    double t1 = cd_time_now();
    expect_fail("600 empty scans", many, cap, "scans");
    double dt = cd_time_now() - t1;
    printf("  %-36s rejected in %.1f ms\n", "600 empty scans", dt * 1e3);
    CHECK(dt < 2.0, "600 empty scans took %.2f s (the scan cap should stop them early)", dt);
    free(many);
    free(base);
  }
  free(b);
}

static void crashers(void) {
  DIR *dir = opendir(DIR_ "/crashers");
  if (!dir) {
    printf("  no crashers directory\n");
    return;
  }
  struct dirent *de;
  int n = 0;
  while ((de = readdir(dir)) != NULL) {
    if (de->d_name[0] == '.') continue;
    char name[600];
    snprintf(name, sizeof name, "crashers/%s", de->d_name);
    uint8_t *data;
    size_t size;
    if (load(name, &data, &size)) continue;
    try_decode(data, size, NULL, 0);
    free(data);
    n++;
  }
  closedir(dir);
  printf("  %d fuzz crashers decoded or rejected without crashing\n", n);
}

int main(void) {
  printf("JPEG fixtures vs Pillow 9.4 / libjpeg-turbo:\n");
  run_manifest();
  printf("hostile input:\n");
  hostile_crafted();
  hostile_truncation("cj_420_37x29.jpg");
  hostile_truncation("cj_prog_420_37x29.jpg");
  hostile_truncation("cj_restart1_420_37x29.jpg");
  hostile_bitflips("cj_420_64x48.jpg", 1500);
  hostile_bitflips("cj_prog_custom_420_37x29.jpg", 1500);
  hostile_bitflips("cj_restart1b_444_37x29.jpg", 800);
  hostile_bitflips("pil_cmyk_prog_37x29.jpg", 800);
  crashers();
  return cd_test_finish("test_jpeg");
}
